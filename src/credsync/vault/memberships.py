"""The groups a person or a group is a direct member of (a person's page and a group's show
them; :mod:`credsync.vault.groups` changes memberships). Read-only; the member's own lookup
(``vault.people.get``, ``vault.groups.get``) checked that the actor may see it."""

from __future__ import annotations

from credsync.errors import NotFound
from credsync.storage import Database
from credsync.storage import groups as group_rows
from credsync.vault.auth import Actor, Permission
from credsync.vault.group_records import Group, group_models

__all__ = ["groups_of"]


def groups_of(db: Database, actor: Actor, member_id: str, client_id: str) -> list[Group]:
    """The groups of ``client_id`` that ``member_id`` (a person's or a group's id) is a direct
    member of, by name, those in the trash too (vault.read)."""
    actor.require(Permission.VAULT_READ)
    if not actor.sees(client_id):
        raise NotFound(f"no client {client_id!r}")
    with db.read() as conn:
        found = group_rows.in_name_order(conn, group_rows.groups_of(conn, member_id))
        return group_models(conn, [g for g in found if g.client_id == client_id])
