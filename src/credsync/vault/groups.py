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

from credsync.errors import InvalidInput, NotFound, StaleVersion
from credsync.storage import Database, identity_search
from credsync.storage import groups as rows
from credsync.storage import people as people_rows
from credsync.storage.words import terms_of
from credsync.types import new_id
from credsync.vault._time import as_utc, iso, utcnow
from credsync.vault.audit import AuditLog
from credsync.vault.auth import Actor, Permission
from credsync.vault.clients import check_version, find_client_row
from credsync.vault.credentials import check_limit
from credsync.vault.directories import find_directory_row
from credsync.vault.group_records import (
    Group,
    MemberJson,
    find_group_row,
    group_models,
)
from credsync.vault.identities import (
    GROUP_ATTRIBUTES,
    clean_group_field,
    join_sourced,
    reach,
    read_only,
    split_sourced,
)
from credsync.vault.identity_names import Names
from credsync.vault.listing import decode_cursor, encode_cursor
from credsync.vault.people_records import find_person_row
from credsync.vault.search import query_words
from credsync.vault.validate import name_key

__all__ = ["Groups"]


def _terms(row: rows.GroupRow) -> set[str]:
    return terms_of([row.name, row.email], whole=[row.email])


class Groups:
    def __init__(self, db: Database, audit: AuditLog) -> None:
        self._db = db
        self._audit = audit

    def _row(
        self,
        conn: Connection,
        actor: Actor,
        ref: str,
        *,
        client_ref: str | None = None,
        trashed: bool = False,
        lock: bool = False,
    ) -> rows.GroupRow:
        client_id = find_client_row(conn, client_ref, actor).id if client_ref else None
        row = find_group_row(conn, actor, ref, client_id=client_id)
        if row.deleted_at is not None and not trashed:
            raise NotFound(f"group {row.name!r} is in the trash (`credsync group restore`)")
        if lock:
            row = rows.lock(conn, row.id) or row
        return row

    # -- reading -----------------------------------------------------------------------------
    def get(self, actor: Actor, ref: str, *, client_ref: str | None = None) -> Group:
        actor.require(Permission.VAULT_READ)
        with self._db.read() as conn:
            row = self._row(conn, actor, ref, client_ref=client_ref, trashed=True)
            return group_models(conn, [row])[0]

    def list(
        self,
        actor: Actor,
        client_ref: str,
        *,
        trash: bool = False,
        limit: int = 100,
        cursor: str | None = None,
    ) -> tuple[builtins.list[Group], str | None]:
        """A page of a client's groups by name, and the next page's cursor."""
        actor.require(Permission.VAULT_READ)
        limit = check_limit(limit)
        with self._db.read() as conn:
            client = find_client_row(conn, client_ref, actor)
            after = decode_cursor(cursor) if cursor else None
            found = rows.page(conn, client.id, trash=trash, fetch=limit + 1, after=after)
            more = len(found) > limit
            found = found[:limit]
            next_cursor = encode_cursor(found[-1].name_key, found[-1].id) if more else None
            return group_models(conn, found), next_cursor

    def search(
        self, actor: Actor, text: str, *, client_ref: str | None = None, limit: int = 100
    ) -> builtins.list[Group]:
        """Groups outside the trash whose name or e-mail hold words starting with each word
        of ``text``, by name; at most ``limit``."""
        actor.require(Permission.VAULT_READ)
        limit = check_limit(limit)
        words = query_words(text)
        with self._db.read() as conn:
            client_id = find_client_row(conn, client_ref, actor).id if client_ref else None
            seen = reach(actor)
            conditions = rows.live(client_id, seen)
            ids = identity_search.search_ids(
                conn, "group", words, client_id, conditions, limit, reach=seen
            )
            return group_models(conn, rows.in_name_order(conn, ids))

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

    def _insert(
        self,
        conn: Connection,
        actor: Actor,
        client_id: str,
        values: Mapping[str, Any],
        source: str | None = None,
    ) -> rows.GroupRow:
        now = utcnow()
        sourced = join_sourced(values, GROUP_ATTRIBUTES) if source else ""
        row = rows.GroupRow(
            new_id(), client_id, values["name"], name_key(values["name"]),
            values.get("type", "security"), values.get("email", ""),
            values.get("description", ""), source, sourced, 1, now, actor.name, now,
            actor.name, None, None,
        )  # fmt: skip
        rows.insert(conn, row)
        identity_search.reindex(conn, "group", row.id, client_id, _terms(row))
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
            self._audit.append(
                conn,
                actor,
                "group.add",
                target_type="group",
                target_id=row.id,
                client_id=client.id,
                details={"name": row.name, "type": row.type},
            )
            return group_models(conn, [row])[0]

    def _bump(
        self, conn: Connection, actor: Actor, row: rows.GroupRow, **changes: Any
    ) -> rows.GroupRow:
        if "name" in changes:
            changes["name_key"] = name_key(changes["name"])
        if not rows.bump(conn, row.id, row.version, by=actor.name, now=utcnow(), changes=changes):
            raise StaleVersion(f"group {row.name!r} was changed by someone else: retry")
        after = rows.get(conn, row.id)
        assert after is not None  # noqa: S101 - just written in this transaction
        if {"name", "email"} & set(changes):
            identity_search.reindex(conn, "group", row.id, row.client_id, _terms(after))
        return after

    def update(
        self,
        actor: Actor,
        ref: str,
        fields: Mapping[str, Any],
        *,
        client_ref: str | None = None,
        expected_version: int | None = None,
    ) -> Group:
        """Change the fields given (vault.write); one whose source of truth is a directory is
        refused (InvalidInput naming it and the directory)."""
        actor.require(Permission.VAULT_READ, Permission.VAULT_WRITE)
        if not fields:
            raise InvalidInput("nothing to change")
        values = self._clean(fields)
        with self._db.write() as conn:
            row = self._row(conn, actor, ref, client_ref=client_ref, lock=True)
            check_version("group", row.id, row.version, expected_version)
            current = row._asdict()
            source = (
                Names(conn).directory(row.source_directory_id) if row.source_directory_id else None
            )
            read_only(f"group {row.name!r}", values, current, split_sourced(row.sourced), source)
            changed = {k: v for k, v in values.items() if current[k] != v}
            if not changed:
                return group_models(conn, [row])[0]
            after = self._bump(conn, actor, row, **changed)
            self._audit.append(
                conn,
                actor,
                "group.update",
                target_type="group",
                target_id=row.id,
                client_id=row.client_id,
                details={"name": after.name, "changed": changed},
            )
            return group_models(conn, [after])[0]

    def _trash(self, actor: Actor, ref: str, client_ref: str | None, *, delete: bool) -> Group:
        actor.require(Permission.VAULT_READ, Permission.VAULT_WRITE)
        with self._db.write() as conn:
            row = self._row(conn, actor, ref, client_ref=client_ref, trashed=True, lock=True)
            if (row.deleted_at is None) != delete:
                state = "in the trash already" if delete else "not in the trash"
                raise InvalidInput(f"group {row.name!r} is {state}", field="group")
            now = utcnow()
            after = self._bump(
                conn,
                actor,
                row,
                deleted_at=now if delete else None,
                deleted_by=actor.name if delete else None,
            )
            self._audit.append(
                conn,
                actor,
                "group.delete" if delete else "group.restore",
                target_type="group",
                target_id=row.id,
                client_id=row.client_id,
                details={"name": row.name},
            )
            return group_models(conn, [after])[0]

    def delete(self, actor: Actor, ref: str, *, client_ref: str | None = None) -> Group:
        """To the trash (vault.write); members and memberships are kept."""
        return self._trash(actor, ref, client_ref, delete=True)

    def restore(self, actor: Actor, ref: str, *, client_ref: str | None = None) -> Group:
        return self._trash(actor, ref, client_ref, delete=False)

    def purge(self, actor: Actor, ref: str, *, client_ref: str | None = None) -> str:
        """Destroy a group in the trash with its members list and memberships (admin)."""
        actor.require(Permission.ADMIN)
        with self._db.write() as conn:
            row = self._row(conn, actor, ref, client_ref=client_ref, trashed=True, lock=True)
            if row.deleted_at is None:
                raise InvalidInput(
                    f"group {row.name!r} is not in the trash: delete it first", field="group"
                )
            identity_search.forget(conn, "group", row.id)
            rows.purge(conn, row.id)
            self._audit.append(
                conn,
                actor,
                "group.purge",
                target_type="group",
                target_id=row.id,
                client_id=row.client_id,
                details={"name": row.name},
            )
            return row.id

    # -- members -----------------------------------------------------------------------------
    def _member(
        self, conn: Connection, actor: Actor, kind: str, ref: str, client_id: str
    ) -> tuple[str, str]:
        """The id and name of a member to be, of the group's client, outside the trash."""
        if kind == "person":
            person = find_person_row(conn, actor, ref, client_id=client_id)
            if person.deleted_at is not None:
                raise InvalidInput(f"person {person.username!r} is in the trash", field="member")
            return person.id, person.username
        if kind == "group":
            group = find_group_row(conn, actor, ref, client_id=client_id)
            if group.deleted_at is not None:
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
                member_id, name = self._member(conn, actor, kind, member, row.client_id)
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
                self._audit.append(
                    conn,
                    actor,
                    "group.member_add",
                    target_type="group",
                    target_id=row.id,
                    client_id=row.client_id,
                    details={"group": row.name, "type": kind, "member": name, "id": member_id},
                )
            return group_models(conn, [row])[0]

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
            if kind not in ("person", "group"):
                raise InvalidInput(f"a member is a person or a group, not {kind!r}", field="type")
            if kind == "person":
                member_row = find_person_row(conn, actor, member, client_id=row.client_id)
                member_id, name = member_row.id, member_row.username
            else:
                group = find_group_row(conn, actor, member, client_id=row.client_id)
                member_id, name = group.id, group.name
            if not rows.remove_member(conn, row.id, member_id):
                raise NotFound(f"{kind} {name!r} is not a member of group {row.name!r}")
            self._audit.append(
                conn,
                actor,
                "group.member_remove",
                target_type="group",
                target_id=row.id,
                client_id=row.client_id,
                details={"group": row.name, "type": kind, "member": name, "id": member_id},
            )
            return group_models(conn, [row])[0]

    # -- from a directory --------------------------------------------------------------------
    def upsert_from_directory(
        self, actor: Actor, directory_ref: str, object_id: str, attributes: Mapping[str, Any]
    ) -> tuple[Group, str]:
        """The directory import's entry point for a group (vault.write): the group linked to
        object ``object_id`` of the directory, else a new one, takes ``attributes`` (read-only
        in the vault from then on). Returns the group and ``created``, ``updated`` or
        ``unchanged`` (``linked`` when another directory is its source of truth)."""
        actor.require(Permission.VAULT_READ, Permission.VAULT_WRITE)
        object_id = object_id.strip()
        if not object_id or len(object_id) > 64:
            raise InvalidInput("an object id is 1 to 64 characters", field="object_id")
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
                current = row._asdict()
                diff = {k: v for k, v in values.items() if current[k] != v}
                sourced = join_sourced(split_sourced(row.sourced) | set(values), GROUP_ATTRIBUTES)
                marks = {"source_directory_id": directory.id, "sourced": sourced}
                marks = {k: v for k, v in marks.items() if current[k] != v}
                if diff or marks:
                    row = self._bump(conn, actor, row, **diff, **marks)
                outcome = "updated" if diff else "unchanged"
            if outcome != "unchanged":
                self._audit.append(
                    conn,
                    actor,
                    "group.import",
                    target_type="group",
                    target_id=row.id,
                    client_id=row.client_id,
                    details={
                        "directory": directory.name,
                        "object_id": object_id,
                        "outcome": outcome,
                    },
                )
            return group_models(conn, [row])[0], outcome
