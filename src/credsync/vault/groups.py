"""Groups: a client's security and Microsoft 365 groups, with their members (issue 16).

A group belongs to one client and has a name (not unique: Entra's need not be; a name that
several of the operator's groups share is refused as a reference, give the id), a type
(``security`` or ``microsoft365``), an e-mail and a description. Its **members** are people
and groups of the same client; a group can't contain itself, directly or through other
groups: adding a group that holds (transitively) the group it would join is refused. A group
in the trash keeps its members and memberships (a restore brings it back whole); lists of
members say which are in the trash. Attributes from a directory
(:meth:`Groups.upsert_from_directory`) are read-only while it is their source of truth, as
for people (:mod:`credsync.vault.people`).

Permissions as for credentials: vault.read to see, vault.write to change (members too),
admin to purge; a group of a client outside the operator's reach is NotFound. Every change
is audited (``group.*``).
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from typing import Any

from sqlalchemy.engine import Connection

from credsync.errors import InvalidInput, NotFound
from credsync.storage import Database
from credsync.storage import groups as rows
from credsync.storage import people as people_rows
from credsync.storage.words import identity_terms
from credsync.types import new_id
from credsync.vault._time import as_utc, iso, utcnow
from credsync.vault.audit import AuditLog
from credsync.vault.auth import Actor, Permission
from credsync.vault.clients import find_client_row
from credsync.vault.directories import find_directory_row
from credsync.vault.group_records import (
    Group,
    MemberJson,
    find_group_row,
    group_models,
)
from credsync.vault.identities import GROUP_ATTRIBUTES, clean_group_field, join_sourced
from credsync.vault.identity_names import Names
from credsync.vault.identity_service import IdentityService, Kind, check_object_id
from credsync.vault.people_records import find_person_row
from credsync.vault.validate import name_key

__all__ = ["Groups", "group_row", "group_terms"]


def group_terms(values: Mapping[str, Any]) -> set[str]:
    """A group's search terms (of its row's values)."""
    return identity_terms([values["name"], values["email"]])


def group_row(
    actor: Actor, client_id: str, values: Mapping[str, Any], source: str | None = None
) -> rows.GroupRow:
    """A new group's row, of clean ``values`` (``name`` required); ``source``: the directory
    that is the source of truth of the values given."""
    now = utcnow()
    sourced = join_sourced(values, GROUP_ATTRIBUTES) if source else ""
    return rows.GroupRow(
        new_id(), client_id, values["name"], name_key(values["name"]),
        values.get("type", "security"), values.get("email", ""),
        values.get("description", ""), source, sourced, 1, now, actor.name, now,
        actor.name, None, None,
    )  # fmt: skip


_KIND: Kind[rows.GroupRow, Group] = Kind(
    type="group",
    name_field="name",
    pronoun="it",
    attributes=GROUP_ATTRIBUTES,
    store=rows,
    find_row=find_group_row,
    models=group_models,
    in_order=rows.in_name_order,
    order_key="name_key",
    keys={"name": "name_key"},
    terms=group_terms,
    term_fields=frozenset({"name", "email"}),
)


class Groups(IdentityService[rows.GroupRow, Group]):
    def __init__(self, db: Database, audit: AuditLog) -> None:
        super().__init__(db, audit, _KIND)

    # -- reading -----------------------------------------------------------------------------
    def get(self, actor: Actor, ref: str, *, client_ref: str | None = None) -> Group:
        return self._get(actor, ref, client_ref, True)

    def members(
        self, actor: Actor, ref: str, *, client_ref: str | None = None
    ) -> builtins.list[MemberJson]:
        """A group's direct members: its groups first, then its people, each by name."""
        actor.require(Permission.VAULT_READ)
        with self._db.read() as conn:
            group = self._row(conn, actor, ref, client_ref=client_ref, trashed=True)
            found: builtins.list[MemberJson] = []
            for m in rows.members_of(conn, group.id):
                name, username, trashed = m.member_id, None, False
                if m.member_type == "group":
                    g = rows.get(conn, m.member_id)
                    if g is not None:
                        name, trashed = g.name, g.deleted_at is not None
                else:
                    p = people_rows.get(conn, m.member_id)
                    if p is not None:
                        name, username = p.display_name, p.username
                        trashed = p.deleted_at is not None
                found.append(
                    MemberJson(
                        type=m.member_type,
                        id=m.member_id,
                        name=name,
                        username=username,
                        in_trash=trashed,
                        added_at=iso(as_utc(m.added_at)),
                        added_by=m.added_by,
                    )
                )
            found.sort(key=lambda j: (j["type"] != "group", name_key(j["name"]), j["id"]))
            return found

    # -- changing ----------------------------------------------------------------------------
    def _clean(self, fields: Mapping[str, Any]) -> dict[str, Any]:
        return {k: clean_group_field(k, v) for k, v in fields.items()}

    def _clean_update(self, fields: Mapping[str, Any]) -> dict[str, Any]:
        return self._clean(fields)

    def _insert(
        self,
        conn: Connection,
        actor: Actor,
        client_id: str,
        values: Mapping[str, Any],
        source: str | None = None,
    ) -> rows.GroupRow:
        row = group_row(actor, client_id, values, source)
        rows.insert(conn, row)
        self._index(conn, row)
        return row

    def add(self, actor: Actor, client_ref: str, fields: Mapping[str, Any]) -> Group:
        """A new group (vault.write): ``name`` required, ``type`` security by default."""
        actor.require(Permission.VAULT_READ, Permission.VAULT_WRITE)
        if "name" not in fields:
            raise InvalidInput("a group needs a name", field="name")
        values = self._clean(fields)
        with self._db.write() as conn:
            client = find_client_row(conn, client_ref, actor)
            row = self._insert(conn, actor, client.id, values)
            self._record(conn, actor, "add", row, {"name": row.name, "type": row.type})
            return self._model(conn, row)

    # -- members -----------------------------------------------------------------------------
    def _member(
        self, conn: Connection, actor: Actor, kind: str, ref: str, client_id: str, *, live: bool
    ) -> tuple[str, str]:
        """The id and name of a person or group of the group's client (``live``: a member to
        be, refused in the trash)."""
        if kind == "person":
            person = find_person_row(conn, actor, ref, client_id=client_id)
            if live and person.deleted_at is not None:
                raise InvalidInput(f"person {person.username!r} is in the trash", field="member")
            return person.id, person.username
        if kind == "group":
            group = find_group_row(conn, actor, ref, client_id=client_id)
            if live and group.deleted_at is not None:
                raise InvalidInput(f"group {group.name!r} is in the trash", field="member")
            return group.id, group.name
        raise InvalidInput(f"a member is a person or a group, not {kind!r}", field="type")

    def add_member(
        self,
        actor: Actor,
        ref: str,
        member: str,
        *,
        kind: str = "person",
        client_ref: str | None = None,
    ) -> Group:
        """Make a person or a group (of the same client) a member (vault.write). A group that
        holds this one, directly or through others, can't join it (no cycles)."""
        actor.require(Permission.VAULT_READ, Permission.VAULT_WRITE)
        with self._db.write() as conn:
            row = self._row(conn, actor, ref, client_ref=client_ref, lock=True)
            try:
                member_id, name = self._member(conn, actor, kind, member, row.client_id, live=True)
            except NotFound:
                raise NotFound(
                    f"no {kind} {member!r} in client {Names(conn).client(row.client_id)!r}"
                ) from None
            if kind == "group" and (
                member_id == row.id or member_id in rows.ancestors(conn, row.id)
            ):
                raise InvalidInput(
                    f"group {name!r} can't join group {row.name!r}: it holds it (directly or "
                    "through other groups), which would make a cycle",
                    field="member",
                )
            added = rows.add_member(
                conn, rows.MemberRow(row.id, member_id, kind, utcnow(), actor.name)
            )
            if added:
                details = {"group": row.name, "type": kind, "member": name, "id": member_id}
                self._record(conn, actor, "member_add", row, details)
            return self._model(conn, row)

    def remove_member(
        self,
        actor: Actor,
        ref: str,
        member: str,
        *,
        kind: str = "person",
        client_ref: str | None = None,
    ) -> Group:
        """Take a member out of the group (vault.write); NotFound when it is not one."""
        actor.require(Permission.VAULT_READ, Permission.VAULT_WRITE)
        with self._db.write() as conn:
            row = self._row(conn, actor, ref, client_ref=client_ref, lock=True)
            member_id, name = self._member(conn, actor, kind, member, row.client_id, live=False)
            if not rows.remove_member(conn, row.id, member_id):
                raise NotFound(f"{kind} {name!r} is not a member of group {row.name!r}")
            details = {"group": row.name, "type": kind, "member": name, "id": member_id}
            self._record(conn, actor, "member_remove", row, details)
            return self._model(conn, row)

    # -- from a directory --------------------------------------------------------------------
    def upsert_from_directory(
        self, actor: Actor, directory_ref: str, object_id: str, attributes: Mapping[str, Any]
    ) -> tuple[Group, str]:
        """The directory import's entry point for a group (vault.write): the group linked to
        object ``object_id`` of the directory, else a new one, takes ``attributes`` (read-only
        in the vault from then on). Returns the group and ``created``, ``updated`` or
        ``unchanged`` (``linked`` when another directory is its source of truth)."""
        actor.require(Permission.VAULT_READ, Permission.VAULT_WRITE)
        object_id = check_object_id(object_id)
        values = self._clean(attributes)
        with self._db.write() as conn:
            directory = find_directory_row(conn, directory_ref, actor)
            row = rows.by_object(conn, directory.id, object_id)
            if row is None:
                if "name" not in values:
                    raise InvalidInput("a new group needs a name", field="name")
                row = self._insert(conn, actor, directory.client_id, values, directory.id)
                rows.link_object(
                    conn, rows.ObjectRow(row.id, directory.id, object_id, utcnow(), actor.name)
                )
                outcome = "created"
            elif row.source_directory_id not in (None, directory.id):
                outcome = "linked"
            else:
                row, diff = self._refresh(conn, actor, row, values, directory.id)
                outcome = "updated" if diff else "unchanged"
            if outcome != "unchanged":
                details = {"directory": directory.name, "object_id": object_id, "outcome": outcome}
                self._record(conn, actor, "import", row, details)
            return self._model(conn, row), outcome
