"""Revision 0009 moves directories' kind columns into one settings document: existing
directories of every kind keep working across the upgrade, and the downgrade gives the
columns back, on both backends."""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import command

from credsync.storage.migrate import alembic_config
from credsync.types import CredentialType, Secret, SyncMode
from credsync.vault.directories import DirectoryInput
from credsync.vault.drafts import make_draft
from vault.helpers import VaultWorld

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
APP = "0b6f3b8e-1c4d-4d0e-9a57-3e1f0c2d9b11"


def _bind(world: VaultWorld, title: str) -> str:
    draft = make_draft(
        title=title,
        username="svc-credsync",
        password=Secret("Bind-Passw0rd-1!"),
        type_=CredentialType.DIRECTORY_ADMIN,
        sync_mode=SyncMode.OFF,
    )
    return world.vault.credentials.add(world.admin, world.keys, "Contoso", draft).id


def test_directories_of_every_kind_survive_the_round_trip(world: VaultWorld) -> None:
    vault, admin = world.vault, world.admin
    vault.clients.add(admin, world.keys, "Contoso")
    ad = vault.directories.add(
        admin, "Contoso", "contoso-ad", "active-directory",
        DirectoryInput.of({"url": "ldaps://dc1.contoso.test", "base_dn": "DC=contoso,DC=test",
                           "tls_server_name": "dc1", "bind_credential": _bind(world, "AD")}),
    )  # fmt: skip
    entra = vault.directories.add(
        admin, "Contoso", "contoso-365", "entra",
        DirectoryInput.of({"tenant_id": TENANT, "app_id": APP,
                           "secret_credential": _bind(world, "App")}),
    )  # fmt: skip
    before = {d.name: d.to_json() for d in (ad, entra)}

    with world.db.engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0008")
    with world.db.read() as conn:
        rows = {
            r.name: r for r in conn.execute(sa.text("SELECT * FROM directories")).mappings().all()
        }
    assert (rows["contoso-ad"]["url"], rows["contoso-ad"]["base_dn"]) == (
        "ldaps://dc1.contoso.test:636",
        "DC=contoso,DC=test",
    )
    assert rows["contoso-ad"]["tls_server_name"] == "dc1"
    assert rows["contoso-ad"]["tenant_id"] is None
    assert (rows["contoso-365"]["tenant_id"], rows["contoso-365"]["app_id"]) == (TENANT, APP)
    assert rows["contoso-365"]["base_dn"] == ""  # as revision 0003 left Entra directories
    assert rows["contoso-365"]["bind_kind"] == "secret"

    world.db.upgrade()
    with world.db.read() as conn:
        stored = {
            r.name: json.loads(r.settings)
            for r in conn.execute(sa.text("SELECT name, settings FROM directories"))
        }
    assert stored["contoso-ad"] == {
        "url": "ldaps://dc1.contoso.test:636",
        "base_dn": "DC=contoso,DC=test",
        "tls_server_name": "dc1",
    }
    assert stored["contoso-365"] == {
        "tenant_id": TENANT,
        "app_id": APP,
        "url": "https://graph.microsoft.com",
        "authority": "https://login.microsoftonline.com",
    }
    after = {d.name: d.to_json() for d in vault.directories.list(admin)}
    for name, shown in before.items():
        assert {**after[name], "updated_at": None} == {**shown, "updated_at": None}, name
