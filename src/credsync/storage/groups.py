"""The group tables (``groups``, ``group_members``, ``group_objects``): their owner.

A group is a client's security or Microsoft 365 group (:mod:`credsync.vault.groups` says what
each field means); its members are people and groups of the same client. Changes go through
:func:`bump` (optimistic concurrency), the trash is ``deleted_at``, as for credentials.
:func:`ancestors` walks membership upwards (the cycle check). A group's objects are one per
directory of the client, each known by its stable id there.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping, Sequence
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from credsync.storage import _identity_rows as shared
from credsync.storage._rows import columns_for, one_of, record, records, within
from credsync.storage.bulk import insert_records, refresh_statistics
from credsync.storage.tables import group_members, group_objects, groups

__all__ = [
    "GroupRow",
    "MemberRow",
    "ObjectRow",
    "add_member",
    "add_members",
    "ancestors",
    "bump",
    "by_name",
    "by_object",
    "by_objects",
    "find_by_ref",
    "forget_directory",
    "forget_member",
    "get",
    "groups_of",
    "in_name_order",
    "insert",
    "insert_many",
    "keep_statistics",
    "link_new_objects",
    "link_object",
    "linked_to",
    "live",
    "live_ids_by_objects",
    "lock",
    "member_counts",
    "member_ids",
    "members_of",
    "objects_in",
    "objects_of",
    "page",
    "purge",
    "remove_member",
]


class GroupRow(NamedTuple):
    id: str
    client_id: str
    name: str
    name_key: str
    type: str
    email: str
    description: str
    source_directory_id: str | None
    sourced: str
    version: int
    created_at: dt.datetime
    created_by: str
    updated_at: dt.datetime
    updated_by: str
    deleted_at: dt.datetime | None
    deleted_by: str | None


class MemberRow(NamedTuple):
    group_id: str
    member_id: str
    member_type: str
    added_at: dt.datetime
    added_by: str


class ObjectRow(NamedTuple):
    group_id: str
    directory_id: str
    object_id: str
    linked_at: dt.datetime
    linked_by: str


_BASE = sa.select(*columns_for(GroupRow, groups))
_CHANGEABLE = shared.changeable(GroupRow)


def insert(conn: Connection, row: GroupRow) -> None:
    conn.execute(groups.insert().values(**row._asdict()))


def get(conn: Connection, group_id: str) -> GroupRow | None:
    row = conn.execute(_BASE.where(groups.c.id == group_id)).first()
    return None if row is None else record(GroupRow, row)


def lock(conn: Connection, group_id: str) -> GroupRow | None:
    conn.execute(shared.lock(groups, group_id))
    return get(conn, group_id)


def find_by_ref(
    conn: Connection, ref: str, *, min_chars: int, client_ids: Collection[str] | None
) -> GroupRow:
    """The group whose id is ``ref`` or starts with it (NotFound, or InvalidInput when
    ambiguous), in the trash or not, among ``client_ids`` (None: every client)."""
    found = shared.by_ref(
        conn, _BASE, groups, ref, "group", min_chars=min_chars, client_ids=client_ids
    )
    return record(GroupRow, found)


def by_name(
    conn: Connection, name_key: str, client_ids: Collection[str] | None, *, client_id: str | None
) -> list[GroupRow]:
    """Groups with this case-folded name (a few at most), in one client or in reach."""
    query = _BASE.where(groups.c.name_key == name_key, within(groups.c.client_id, client_ids))
    if client_id is not None:
        query = query.where(groups.c.client_id == client_id)
    return records(GroupRow, conn.execute(query.limit(50)))


def page(
    conn: Connection,
    client_id: str,
    *,
    trash: bool,
    fetch: int,
    after: tuple[str, str] | None = None,
) -> list[GroupRow]:
    """Up to ``fetch`` of the client's groups (in the trash, or not) by name, from just after
    ``after`` (name key, id) on."""
    query = shared.page(
        _BASE, groups, groups.c.name_key, client_id, trash=trash, fetch=fetch, after=after
    )
    return records(GroupRow, conn.execute(query))


def in_name_order(conn: Connection, ids: Sequence[str]) -> list[GroupRow]:
    if not ids:
        return []
    return records(GroupRow, conn.execute(shared.in_order(_BASE, groups, groups.c.name_key, ids)))


def live(client_id: str | None, client_ids: Collection[str] | None) -> list[sa.ColumnElement[bool]]:
    """The conditions on ``groups`` of a search: outside the trash, in reach, and (without a
    client) of a client that is not archived."""
    return shared.live(groups, client_id, client_ids)


def bump(
    conn: Connection,
    group_id: str,
    version: int,
    *,
    by: str,
    now: dt.datetime,
    changes: Mapping[str, Any],
) -> bool:
    """Apply ``changes`` and make it version ``version + 1``, if it is still at ``version``;
    False when somebody else changed it first."""
    update = shared.bump(groups, _CHANGEABLE, group_id, version, by=by, now=now, changes=changes)
    return bool(conn.execute(update).rowcount == 1)


def purge(conn: Connection, group_id: str) -> None:
    """Delete the group, its members, its memberships and its objects (its search terms must
    be gone first: :mod:`credsync.storage.identity_search`)."""
    forget_member(conn, group_id)
    conn.execute(group_members.delete().where(group_members.c.group_id == group_id))
    conn.execute(group_objects.delete().where(group_objects.c.group_id == group_id))
    conn.execute(groups.delete().where(groups.c.id == group_id))


# -- members -----------------------------------------------------------------------------------
_MEMBER = sa.select(*columns_for(MemberRow, group_members))


def members_of(conn: Connection, group_id: str) -> list[MemberRow]:
    query = _MEMBER.where(group_members.c.group_id == group_id).order_by(group_members.c.added_at)
    return records(MemberRow, conn.execute(query))


def member_counts(conn: Connection, group_ids: Sequence[str]) -> dict[str, int]:
    counts = dict.fromkeys(group_ids, 0)
    if not group_ids:
        return counts
    query = (
        sa.select(group_members.c.group_id, sa.func.count())
        .where(group_members.c.group_id.in_(list(group_ids)))
        .group_by(group_members.c.group_id)
    )
    counts.update({g: int(n) for g, n in conn.execute(query)})
    return counts


def groups_of(conn: Connection, member_id: str) -> list[str]:
    """The ids of the groups ``member_id`` (a person or a group) is a direct member of."""
    query = sa.select(group_members.c.group_id).where(group_members.c.member_id == member_id)
    return list(conn.execute(query).scalars())


def ancestors(conn: Connection, group_id: str) -> set[str]:
    """Every group that holds ``group_id``, directly or through other groups (not itself,
    unless membership already loops)."""
    found: set[str] = set()
    frontier = [group_id]
    while frontier:
        query = sa.select(group_members.c.group_id).where(group_members.c.member_id.in_(frontier))
        parents = set(conn.execute(query).scalars()) - found
        found |= parents
        frontier = sorted(parents)
    return found


def add_member(conn: Connection, row: MemberRow) -> bool:
    """Add a member; False when it is one already."""
    exists = conn.execute(
        sa.select(group_members.c.group_id).where(
            group_members.c.group_id == row.group_id, group_members.c.member_id == row.member_id
        )
    ).first()
    if exists is not None:
        return False
    conn.execute(group_members.insert().values(**row._asdict()))
    return True


def remove_member(conn: Connection, group_id: str, member_id: str) -> bool:
    result = conn.execute(
        group_members.delete().where(
            group_members.c.group_id == group_id, group_members.c.member_id == member_id
        )
    )
    return bool(result.rowcount)


def forget_member(conn: Connection, member_id: str) -> None:
    """Remove a purged person or group from every group it is in."""
    conn.execute(group_members.delete().where(group_members.c.member_id == member_id))


# -- directory objects -------------------------------------------------------------------------
_OBJECT = sa.select(*columns_for(ObjectRow, group_objects))


def objects_of(conn: Connection, group_id: str) -> list[ObjectRow]:
    query = _OBJECT.where(group_objects.c.group_id == group_id)
    return records(ObjectRow, conn.execute(query.order_by(group_objects.c.linked_at)))


def objects_in(conn: Connection, directory_id: str) -> dict[str, str]:
    """Object id -> the group (in the trash or not) that is that object of the directory:
    every object of it that credsync owns."""
    query = sa.select(group_objects.c.object_id, group_objects.c.group_id).where(
        group_objects.c.directory_id == directory_id
    )
    return {str(o): str(g) for o, g in conn.execute(query).all()}


def by_object(conn: Connection, directory_id: str, object_id: str) -> GroupRow | None:
    query = _BASE.join_from(groups, group_objects, group_objects.c.group_id == groups.c.id).where(
        group_objects.c.directory_id == directory_id, group_objects.c.object_id == object_id
    )
    row = conn.execute(query).first()
    return None if row is None else record(GroupRow, row)


def linked_to(conn: Connection, directory_id: str) -> list[tuple[GroupRow, str]]:
    """The directory's objects linked to groups not in the trash: (group, object id), in
    name order."""
    return shared.linked_to(
        conn, GroupRow, groups, group_objects.c.group_id, groups.c.name_key, directory_id
    )


def link_object(conn: Connection, row: ObjectRow) -> None:
    conn.execute(
        group_objects.delete().where(
            group_objects.c.group_id == row.group_id,
            group_objects.c.directory_id == row.directory_id,
        )
    )
    conn.execute(group_objects.insert().values(**row._asdict()))


def forget_directory(conn: Connection, directory_id: str) -> None:
    """A removed directory: its objects are unlinked and the attributes it was the source of
    truth of become the vault's own."""
    unlink, own = shared.forget_directory(groups, group_objects, directory_id)
    conn.execute(unlink)
    conn.execute(own)


# -- many at a time (the directory import) -----------------------------------------------------
def by_objects(
    conn: Connection, directory_id: str, object_ids: Sequence[str]
) -> dict[str, GroupRow]:
    """Object id -> the group linked to that object of that directory (those linked)."""
    return shared.by_objects(
        conn, GroupRow, groups, group_objects.c.group_id, directory_id, object_ids
    )


def live_ids_by_objects(
    conn: Connection, directory_id: str, object_ids: Sequence[str]
) -> dict[str, str]:
    """Object id -> the id of the group outside the trash linked to that object."""
    return shared.live_ids_by_objects(
        conn, groups, group_objects.c.group_id, directory_id, object_ids
    )


def insert_many(conn: Connection, rows: Sequence[GroupRow]) -> None:
    insert_records(conn, groups, rows)


def link_new_objects(conn: Connection, rows: Sequence[ObjectRow]) -> None:
    """Link objects to groups that have none in that directory yet (new groups)."""
    insert_records(conn, group_objects, rows)


def member_ids(conn: Connection, group_ids: Sequence[str]) -> dict[str, dict[str, str]]:
    """Group id -> its direct members (member id -> ``person`` | ``group``)."""
    found: dict[str, dict[str, str]] = {g: {} for g in group_ids}
    columns = (group_members.c.group_id, group_members.c.member_id, group_members.c.member_type)
    for chunk in shared.chunks(group_ids):
        query = sa.select(*columns).where(one_of(conn, group_members.c.group_id, chunk))
        for group_id, member_id, member_type in conn.execute(query):
            found[group_id][member_id] = member_type
    return found


def add_members(conn: Connection, rows: Sequence[MemberRow]) -> None:
    """Add members none of whom is a member already (see :func:`member_ids`)."""
    insert_records(conn, group_members, rows)


def keep_statistics(conn: Connection) -> None:
    """Fresh planner statistics of the tables of groups, their directory links and members, once an
    import has grown them (PostgreSQL: :func:`credsync.storage.bulk.refresh_statistics`).
    Called before a batch's reads."""
    refresh_statistics(conn, (groups, group_objects, group_members))
