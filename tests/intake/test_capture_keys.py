"""A directory's capture key in the key store: made once, on first ask (audited), the same
after; its secret part sealed by the master key, re-wrapped by key rotation (still opening
what GnuPG encrypted to it), gone with its directory. Forwarders: enrolled, listed, revoked."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from credsync.errors import NotFound, PermissionDenied
from credsync.types import CredentialType, Secret, SyncMode
from credsync.vault import KeyRing
from credsync.vault.capture import Capture
from credsync.vault.drafts import make_draft
from credsync.vault.keyring import derive_and_check
from sync.helpers import add_directory
from vault.helpers import VaultWorld, fast_kdf, make_world

from .helpers import gpg_encrypt

NEW_PASSPHRASE = "a brand new passphrase for rotation"


@pytest.fixture
def kw(tmp_path: Path, schema_templates: Any) -> Any:
    world = make_world(schema_templates.sqlite(tmp_path / "vault.db"))
    vault, admin, keys = world.vault, world.admin, world.keys
    vault.clients.add(admin, keys, "Contoso", directory_sync=True)
    bind = vault.credentials.add(
        admin,
        keys,
        "Contoso",
        make_draft(
            title="bind",
            username="cn=bind,dc=x",
            password=Secret("Bind-Pa55-word!"),
            type_=CredentialType.DIRECTORY_ADMIN,
            sync_mode=SyncMode.OFF,
        ),
    )
    add_directory(
        vault,
        admin,
        "Contoso",
        "contoso-ldap",
        kind="ldap",
        url="ldaps://127.0.0.1:2",
        base_dn="ou=people,dc=x",
        bind_credential=bind.id,
    )
    try:
        yield world
    finally:
        world.db.dispose()


def test_the_key_is_made_once_and_survives_key_rotation(kw: VaultWorld) -> None:
    vault, admin = kw.vault, kw.admin
    first = vault.capture.key(admin, "contoso-ldap", kw.keys)
    assert first.public_key.startswith("-----BEGIN PGP PUBLIC KEY BLOCK-----")
    assert len(first.fingerprint) == 40
    assert vault.capture.key(admin, "CONTOSO-LDAP", kw.keys) == first
    made = vault.audit.list(admin, action="capture.key_created")
    assert [e.details["fingerprint"] for e in made] == [first.fingerprint]

    message = gpg_encrypt(first.public_key, first.fingerprint, "Before-Rotation-1!")
    directory_id = vault.directories.get(admin, "contoso-ldap").id
    vault.rotate_key(admin, kw.keys, Secret(NEW_PASSPHRASE), kdf=fast_kdf())
    rotation = vault.audit.list(admin, action="key.rotate")
    assert rotation[0].details["capture_keys"] == 1
    keys = KeyRing.of(derive_and_check(kw.db, Secret(NEW_PASSPHRASE)))
    with kw.db.read() as conn:
        decryptor = Capture.decryptor(conn, keys, directory_id)
    assert decryptor is not None
    assert decryptor.decrypt(message).decode("utf-16-le") == "Before-Rotation-1!"
    assert vault.capture.key(admin, "contoso-ldap", keys) == first


def test_forwarders_are_enrolled_listed_revoked_and_go_with_their_directory(
    kw: VaultWorld,
) -> None:
    vault, admin = kw.vault, kw.admin
    enrolled = vault.capture.enroll(admin, "contoso-ldap", "dc1")
    assert enrolled.token.reveal().startswith(f"csf1.{enrolled.forwarder_id}.")
    assert enrolled.token.reveal() not in repr(enrolled)
    [audited] = vault.audit.list(admin, action="capture.enrolled")
    assert audited.target_id == enrolled.forwarder_id
    assert audited.details == {
        "directory": "contoso-ldap",
        "directory_id": audited.details["directory_id"],
        "name": "dc1",
    }
    [listed] = vault.capture.list(admin, "contoso-ldap")
    assert (listed.id, listed.name, listed.last_seq, listed.revoked_at) == (
        enrolled.forwarder_id,
        "dc1",
        0,
        None,
    )
    viewer = kw.operator("vic", "viewer")
    for call in (
        lambda: vault.capture.key(viewer, "contoso-ldap", kw.keys),
        lambda: vault.capture.enroll(viewer, "contoso-ldap"),
        lambda: vault.capture.list(viewer),
        lambda: vault.capture.revoke(viewer, enrolled.forwarder_id),
    ):
        with pytest.raises(PermissionDenied):
            call()
    revoked = vault.capture.revoke(admin, enrolled.forwarder_id)
    assert revoked.revoked_at is not None
    assert revoked.revoked_by == admin.name
    again = vault.capture.revoke(admin, enrolled.forwarder_id)
    assert again.revoked_at == revoked.revoked_at
    actions = [e.action for e in vault.audit.list(admin, target_id=enrolled.forwarder_id)]
    assert sorted(actions) == ["capture.enrolled", "capture.revoked"]
    audited = str([e.to_json() for e in vault.audit.list(admin, limit=500)])
    assert enrolled.token.reveal().split(".")[2] not in audited
    with pytest.raises(NotFound):
        vault.capture.revoke(admin, "not-a-forwarder")
    vault.capture.key(admin, "contoso-ldap", kw.keys)
    vault.directories.remove(admin, "contoso-ldap")
    assert vault.capture.list(admin) == []
