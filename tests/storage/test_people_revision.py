"""Revision 0026 (people and groups) goes down and up again on both backends: the schema the
code declares is there after the round trip (test_schema.py compares it column by column),
and a vault upgraded from 0025 takes people and groups."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command

from credsync.storage.database import SCHEMA_REVISION
from credsync.storage.migrate import alembic_config
from vault.helpers import VaultWorld

TABLES = {
    "people",
    "person_accounts",
    "groups",
    "group_members",
    "group_objects",
    "people_terms",
    "group_terms",
}


def test_0026_downgrades_and_upgrades_again(world: VaultWorld) -> None:
    vault, admin = world.vault, world.admin
    vault.clients.add(admin, world.keys, "Contoso")
    vault.people.add(admin, "Contoso", {"username": "before"})
    with world.db.engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0025")
        assert not TABLES & set(sa.inspect(conn).get_table_names())
    assert world.db.schema_revision() == "0025"
    world.db.upgrade()
    assert world.db.schema_revision() == SCHEMA_REVISION
    with world.db.engine.connect() as conn:
        assert set(sa.inspect(conn).get_table_names()) >= TABLES
    person = vault.people.add(admin, "Contoso", {"username": "after", "surname": "Berg"})
    group = vault.groups.add(admin, "Contoso", {"name": "Sales"})
    vault.groups.add_member(admin, group.id, person.id)
    assert [p.id for p in vault.people.search(admin, "berg")] == [person.id]
