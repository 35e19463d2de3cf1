"""Revision 0034 (the identity provider) goes down and up again on both backends: its tables
go and come back, and a vault upgraded to it makes a client's signing key and records a
federated domain."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command

from credsync.storage.database import SCHEMA_REVISION
from credsync.storage.migrate import alembic_config
from vault.flag_seed import add_ad_directory
from vault.helpers import VaultWorld

TABLES = {"idp_signing_keys", "federated_domains", "federation_identities", "idp_requests"}


def test_0034_downgrades_and_upgrades_again(world: VaultWorld) -> None:
    with world.db.engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0033")
        assert not TABLES & set(sa.inspect(conn).get_table_names())
    assert world.db.schema_revision() == "0033"
    world.db.upgrade()
    assert world.db.schema_revision() == SCHEMA_REVISION
    with world.db.engine.connect() as conn:
        assert set(sa.inspect(conn).get_table_names()) >= TABLES
    client = world.vault.clients.add(world.admin, world.keys, "Fabrikam")
    current, _ = world.vault.idp_keys.certificates(client.id, keys=world.keys)
    directory_id, _ = add_ad_directory(world, client.name, "o365")
    recorded = world.vault.federated_domains.record(
        world.admin,
        client.name,
        "fabrikam.example",
        directory_id=directory_id,
        base_url="https://vault.example.test",
        login_url="https://login.microsoftonline.com/login.srf",
        protocol="wsFed",
        mfa_behavior="enforceMfaByFederatedIdp",
    )
    assert recorded.issuer_uri == "https://vault.example.test/idp/fabrikam.example"
    assert current.state == "current"
