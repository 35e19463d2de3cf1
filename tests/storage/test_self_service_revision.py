"""Revision 0036 (mail and self-service) goes down and up again on both backends: its tables
go and come back, and a vault upgraded to it keeps mail settings."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command

from credsync.storage.database import SCHEMA_REVISION
from credsync.storage.migrate import alembic_config
from vault.helpers import VaultWorld

TABLES = {"mail_settings", "person_links", "self_service_settings"}


def test_0036_downgrades_and_upgrades_again(world: VaultWorld) -> None:
    with world.db.engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0033")
        assert not TABLES & set(sa.inspect(conn).get_table_names())
    world.db.upgrade()
    assert world.db.schema_revision() == SCHEMA_REVISION
    with world.db.engine.connect() as conn:
        assert set(sa.inspect(conn).get_table_names()) >= TABLES
    world.vault.mail.set(
        world.admin,
        world.keys,
        {"host": "127.0.0.1", "security": "none", "from_address": "vault@msp.test",
         "public_url": "https://vault.msp.test"},
    )  # fmt: skip
    assert world.vault.mail.show(world.admin)["port"] == 25
