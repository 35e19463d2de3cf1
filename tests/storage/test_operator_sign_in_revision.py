"""Revision 0032 (operators who sign in with Microsoft) goes down and up again on both
backends: its tables go and come back, and a vault upgraded to it connects a tenant."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command

from credsync.storage.database import SCHEMA_REVISION
from credsync.storage.migrate import alembic_config
from credsync.types import Secret
from vault.helpers import VaultWorld

TABLES = {"sign_in_providers", "operator_identities", "operator_group_maps"}


def test_0032_downgrades_and_upgrades_again(world: VaultWorld) -> None:
    with world.db.engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0026")
        assert not TABLES & set(sa.inspect(conn).get_table_names())
    assert world.db.schema_revision() == "0026"
    world.db.upgrade()
    assert world.db.schema_revision() == SCHEMA_REVISION
    with world.db.engine.connect() as conn:
        assert set(sa.inspect(conn).get_table_names()) >= TABLES
    world.vault.operator_sign_in.setup(
        world.admin,
        world.keys,
        tenant_id="11111111-2222-3333-4444-555555555555",
        client_id="aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
        client_secret=Secret("a-secret-value"),
        redirect_uri="https://vault.example.test/sign-in/microsoft/callback",
    )
    assert world.vault.operator_sign_in.configured()
