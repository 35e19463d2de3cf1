"""Directories in the vault: validation, permissions, and what happens to sync state when
credentials and directories go away."""

from __future__ import annotations

from functools import partial

import pytest
import sqlalchemy as sa

from credsync.errors import AlreadyExists, InvalidInput, NotFound, PermissionDenied
from credsync.storage.tables import flags, links, sync_queue
from credsync.types import SyncMode

from .helpers import SyncWorld, add_directory, update_directory


def test_options_are_checked_and_shown_with_their_defaults(sw: SyncWorld) -> None:
    directories = sw.vault.directories
    update = partial(update_directory, sw.vault, sw.admin)
    shown = directories.get(sw.admin, sw.directory).to_json()
    assert shown["options"]["push_cap"] == 500
    assert shown["options"]["interval"] == 60
    with pytest.raises(InvalidInput, match="unknown directory option 'nope'"):
        update(sw.directory, options={"nope": 1})
    with pytest.raises(InvalidInput, match="push_cap must be between"):
        update(sw.directory, options={"push_cap": 0})
    updated = update(sw.directory, options={"interval": 30})
    assert updated.option("interval") == 30
    assert updated.option("push_cap") == 500


def test_names_urls_and_cas_are_validated(sw: SyncWorld) -> None:
    add = partial(add_directory, sw.vault)
    base = {"kind": "active-directory", "base_dn": "DC=x", "bind_credential": sw.bind_credential_id}
    with pytest.raises(AlreadyExists):
        add(sw.admin, sw.client, sw.directory.upper(), url="ldaps://dc", **base)
    with pytest.raises(InvalidInput, match="only scheme, host and port"):
        add(sw.admin, sw.client, "x1", url="ldaps://dc/path?x", **base)
    with pytest.raises(InvalidInput, match="ldaps://HOST"):
        add(sw.admin, sw.client, "x0", url="https://dc", **base)
    with pytest.raises(InvalidInput, match="not supported"):
        add(sw.admin, sw.client, "x2", url="ldaps://dc", **{**base, "kind": "novell"})
    with pytest.raises(InvalidInput, match="no PEM certificate"):
        add(sw.admin, sw.client, "x3", url="ldaps://dc", ca_pem="hello", **base)
    bad = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
    with pytest.raises(InvalidInput, match="could not be read"):
        add(sw.admin, sw.client, "x4", url="ldaps://dc", ca_pem=bad, **base)
    with pytest.raises(NotFound):
        add(sw.admin, "no such client", "x5", url="ldaps://dc", **base)
    made = add(sw.admin, sw.client, "x6", url="LDAP://DC.example.test", **base)
    assert made.url == "ldap://dc.example.test:389"
    samba_made = add(
        sw.admin, sw.client, "x7", url="ldaps://dc", ca_pem=_negative_serial_ca(), **base
    )
    assert samba_made.ca_pem is not None
    removed = update_directory(sw.vault, sw.admin, "x7", ca_pem="")  # "": the system's CAs
    assert (removed.ca_pem, removed.version) == (None, 2)
    [entry] = sw.vault.audit.list(sw.admin, action="directory.update")
    assert entry.details["ca"] is False


def _negative_serial_ca() -> str:
    """A self-signed CA whose serial number has its high bit set, as Samba's provisioning
    (GnuTLS) makes about half the time: DER reads it as negative."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "DC1.example.test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(0x6BDB0E6B)
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    der = cert.public_bytes(serialization.Encoding.DER)
    positive = bytes.fromhex("02046BDB0E6B")
    assert der.count(positive) == 1
    der = der.replace(positive, bytes.fromhex("0204EBDB0E6B"))  # the high bit set
    import base64
    import textwrap

    body = "\n".join(textwrap.wrap(base64.b64encode(der).decode(), 64))
    return f"-----BEGIN CERTIFICATE-----\n{body}\n-----END CERTIFICATE-----\n"


def test_directory_setup_needs_its_permissions(sw: SyncWorld) -> None:
    tech = sw.vault_world.operator("tech", "technician")
    with pytest.raises(PermissionDenied, match=r"directory\.setup"):
        update_directory(sw.vault, tech, sw.directory, options={"interval": 30})
    with pytest.raises(PermissionDenied, match=r"directory_admin\.use"):
        sw.engine(tech).config(sw.directory)


def test_the_bind_credential_cannot_be_trashed(sw: SyncWorld) -> None:
    with pytest.raises(InvalidInput, match="bind credential of directory"):
        sw.vault.credentials.delete(sw.admin, sw.bind_credential_id)


def test_purging_a_synced_credential_forgets_its_links_flags_and_queue(sw: SyncWorld) -> None:
    user = sw.ad.create_user()
    cred = sw.add(user, "Wrong-Passw0rd-1!", mode=SyncMode.ENFORCE)
    sw.run(dry_run=False)
    sw.set_password(cred, "Queued-Passw0rd-1!")
    sw.vault.credentials.delete(sw.admin, cred.id)
    sw.vault.credentials.purge(sw.admin, cred.id)
    with sw.vault.db.read() as conn:
        for table in (links, flags, sync_queue):
            count = conn.execute(
                sa.select(sa.func.count())
                .select_from(table)
                .where(table.c.credential_id == cred.id)
            ).scalar()
            assert count == 0, table.name


def test_removing_a_directory_forgets_its_sync_state(sw: SyncWorld) -> None:
    user = sw.ad.create_user()
    sw.add(user, "Wrong-Passw0rd-2!")
    sw.run()
    assert sw.flags()
    removed = sw.vault.directories.remove(sw.admin, sw.directory)
    assert removed.name == sw.directory
    assert sw.flags() == {}
    assert sw.vault.directories.list(sw.admin, sw.client) == []
    entries = sw.vault.audit.list(sw.admin, action="directory.remove")
    assert entries[0].target_id == removed.id


TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
APP = "0b6f3b8e-1c4d-4d0e-9a57-3e1f0c2d9b11"


def test_entra_directories_are_validated_and_shown(sw: SyncWorld) -> None:
    add = partial(add_directory, sw.vault)
    entra = {
        "kind": "entra",
        "url": None,
        "base_dn": None,
        "bind_credential": sw.bind_credential_id,
        "tenant_id": TENANT,
        "app_id": APP,
        "bind_kind": "certificate",
    }
    refusals = [
        ("e1", {"tenant_id": None}, "needs its tenant id", "tenant_id"),
        ("e2", {"app_id": "my-app"}, "must be the application \\(client\\) id", "app_id"),
        ("e3", {"tenant_id": "not a tenant"}, "GUID\\) or one of its domain names", "tenant_id"),
        ("e4", {"bind_kind": None}, "certificate_credential \\(the app's certificate, preferred",
         "bind_credential"),
        ("e5", {"authority": "http://login.example"}, "plain http is refused", "authority"),
        ("e6", {"base_dn": "DC=x"}, "base_dn is not a setting of Entra ID", "base_dn"),
    ]  # fmt: skip
    for name, changes, words, field in refusals:
        with pytest.raises(InvalidInput, match=words) as refused:
            add(sw.admin, sw.client, name, **{**entra, **changes})
        assert refused.value.field == field, name
    with pytest.raises(InvalidInput, match="tenant_id is not a setting of Active Directory"):
        add(sw.admin, sw.client, "e7", kind="ad", url="ldaps://dc", base_dn="DC=x",
            bind_credential=sw.bind_credential_id, tenant_id=TENANT)  # fmt: skip
    with pytest.raises(InvalidInput, match="never_expires is not one of Active Directory's"):
        update_directory(sw.vault, sw.admin, sw.directory, options={"never_expires": 1})
    made = add(
        sw.admin, sw.client, "Contoso 365", **{**entra, "tenant_id": "Contoso.OnMicrosoft.com"}
    )
    shown = made.to_json()
    assert shown["kind"] == "entra"
    assert shown["url"] == "https://graph.microsoft.com"
    assert shown["authority"] == "https://login.microsoftonline.com"
    assert (shown["tenant_id"], shown["app_id"]) == ("contoso.onmicrosoft.com", APP)
    assert shown["bind_kind"] == "certificate"
    assert shown["options"]["force_change"] == 0
    assert shown["options"]["never_expires"] == 0
    custom = add(sw.admin, sw.client, "sim", **{**entra, "url": "https://127.0.0.1:8443/v1.0/",
                 "authority": "https://127.0.0.1:8443/", "bind_kind": "secret"})  # fmt: skip
    assert custom.url == "https://127.0.0.1:8443"
    assert custom.setting("authority") == "https://127.0.0.1:8443"
    changed = update_directory(
        sw.vault, sw.admin, "sim", tenant_id=TENANT, options={"never_expires": 1, "force_change": 1}
    )
    assert changed.setting("tenant_id") == TENANT
    assert changed.option("never_expires") == 1
    config = sw.engine().config("sim")
    assert config.bind_username == APP
    assert config.options == {
        "tenant_id": TENANT,
        "authority": "https://127.0.0.1:8443",
        "credential": "secret",
    }
