"""The identity provider's signing key never lies in clear: after a key is made, rotated and
used to sign, neither the SQLite database (with its WAL) nor the log holds the private key's
bytes (DER, base64 or hex, or a PEM body), and the signer's repr shows only its key id and
thumbprint."""

from __future__ import annotations

import base64
import logging
import pickle
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from credsync.vault.federated_domains import FederatedIdentity
from vault.flag_seed import add_ad_directory
from vault.helpers import make_world


def test_the_signing_key_is_never_stored_or_logged_in_clear(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    world = make_world(f"sqlite:///{tmp_path / 'vault.db'}")
    try:
        vault, admin, keys = world.vault, world.admin, world.keys
        client = vault.clients.add(admin, keys, "Keyed")
        vault.idp_keys.attach(keys)
        vault.idp_keys.begin_rotation(admin, client.name)
        vault.idp_keys.finish_rotation(admin, client.name)
        directory_id, _ = add_ad_directory(world, client.name, "o365")
        vault.federated_domains.record(
            admin, client.name, "keyed.example", directory_id=directory_id,
            base_url="https://vault.example.test",
            login_url="https://login.microsoftonline.com/login.srf", protocol="saml",
            mfa_behavior="enforceMfaByFederatedIdp",
        )  # fmt: skip
        person = vault.people.add(admin, client.name, {"username": "kim"}).id
        vault.federated_domains.set_identities(
            admin,
            client.name,
            "keyed.example",
            [FederatedIdentity(person, "a2lt", "k@keyed.example")],
        )
        signer = vault.idp_keys.signer(client.id)
        assert (
            repr(signer) == f"XmlSigner(key_id={signer.key_id!r}, thumbprint={signer.thumbprint!r})"
        )
        der = signer._key.private_bytes(  # the test's own look at the key, to search for it
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        needles = [der[-64:], der[-64:].hex().encode(), base64.b64encode(der)[-64:]]
        with pytest.raises(TypeError):
            pickle.dumps(signer)
    finally:
        world.db.dispose()
    stored = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("vault.db"))
    logged = caplog.text.encode()
    for needle in needles:
        assert needle not in stored
        assert needle not in logged
