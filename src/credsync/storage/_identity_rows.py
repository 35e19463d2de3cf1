"""Statements the identity tables' owners share (``people``, ``groups``: a client's rows
with a version, a trash and a directory as source of truth, listed in one key's order).

Each builds a statement for the table it is given and runs nothing that writes: the table's
own module (:mod:`credsync.storage.people`, :mod:`credsync.storage.groups`) executes it, so
each table keeps one owner."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping, Sequence
from typing import Any, NamedTuple, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from credsync.storage._rows import AnyRow, columns_for, one_of, within
from credsync.storage.ids import one_by_id_prefix
from credsync.storage.tables import clients

__all__ = [
    "bump",
    "by_objects",
    "by_ref",
    "changeable",
    "chunks",
    "forget_directory",
    "in_order",
    "linked_to",
    "live",
    "live_ids_by_objects",
    "lock",
    "page",
]

R = TypeVar("R", bound=NamedTuple)

# What no change may set: who the row is, its client, and the columns bump sets itself.
_FIXED = frozenset(
    {"id", "client_id", "version", "created_at", "created_by", "updated_at", "updated_by"}
)


def changeable(cls: type[NamedTuple]) -> frozenset[str]:
    """The fields of ``cls`` a :func:`bump` may change."""
    return frozenset(cls._fields) - _FIXED


def lock(table: sa.Table, row_id: str) -> sa.Select[Any]:
    """The select that locks the row until the transaction ends."""
    return sa.select(table.c.id).where(table.c.id == row_id).with_for_update()


def by_ref(
    conn: Connection,
    base: sa.Select[Any],
    table: sa.Table,
    ref: str,
    what: str,
    *,
    min_chars: int,
    client_ids: Collection[str] | None,
) -> AnyRow:
    """The row whose id is ``ref`` or starts with it (NotFound, or InvalidInput when
    ambiguous, naming it ``what``), in the trash or not, among ``client_ids`` (None: every
    client)."""
    query = base.where(within(table.c.client_id, client_ids))
    found: AnyRow = one_by_id_prefix(conn, query, table.c.id, ref, what, min_chars=min_chars)
    return found


def page(
    base: sa.Select[Any],
    table: sa.Table,
    key: sa.Column[str],
    client_id: str,
    *,
    trash: bool,
    fetch: int,
    after: tuple[str, str] | None,
) -> sa.Select[Any]:
    """Up to ``fetch`` of the client's rows (in the trash, or not) by ``key`` then id, from
    just after ``after`` (key, id) on."""
    query = (
        base.where(table.c.client_id == client_id)
        .where(table.c.deleted_at.is_not(None) if trash else table.c.deleted_at.is_(None))
        .order_by(key, table.c.id)
        .limit(fetch)
    )
    if after is not None:
        query = query.where(sa.tuple_(key, table.c.id) > after)
    return query


def in_order(
    base: sa.Select[Any], table: sa.Table, key: sa.Column[str], ids: Sequence[str]
) -> sa.Select[Any]:
    """The rows with these ids, by ``key`` then id."""
    return base.where(table.c.id.in_(list(ids))).order_by(key, table.c.id)


def live(
    table: sa.Table, client_id: str | None, client_ids: Collection[str] | None
) -> list[sa.ColumnElement[bool]]:
    """The conditions on ``table`` of a search: outside the trash, in reach, and (without a
    client) of a client that is not archived."""
    conditions = [table.c.deleted_at.is_(None), within(table.c.client_id, client_ids)]
    if client_id is None:
        archived = sa.select(clients.c.id).where(clients.c.archived_at.is_not(None))
        conditions.append(table.c.client_id.not_in(archived))
    return conditions


def bump(
    table: sa.Table,
    allowed: frozenset[str],
    row_id: str,
    version: int,
    *,
    by: str,
    now: dt.datetime,
    changes: Mapping[str, Any],
) -> sa.Update:
    """The update that applies ``changes`` and makes the row version ``version + 1`` if it is
    still at ``version`` (KeyError for a change outside ``allowed``)."""
    unknown = set(changes) - allowed
    if unknown:
        raise KeyError(f"{table.name}: {', '.join(sorted(unknown))} can't be changed this way")
    return (
        table.update()
        .where(table.c.id == row_id, table.c.version == version)
        .values(version=version + 1, updated_at=now, updated_by=by, **changes)
    )


def forget_directory(
    table: sa.Table, links: sa.Table, directory_id: str
) -> tuple[sa.Delete, sa.Update]:
    """A removed directory: the delete of its rows in ``links`` (the table's directory
    objects), and the update by which the attributes it was the source of truth of become
    the vault's own."""
    unlink = links.delete().where(links.c.directory_id == directory_id)
    own = (
        table.update()
        .where(table.c.source_directory_id == directory_id)
        .values(source_directory_id=None, sourced="")
    )
    return unlink, own


def linked_to(
    conn: Connection,
    cls: type[R],
    table: sa.Table,
    links: sa.Column[str],
    key: sa.Column[str],
    directory_id: str,
) -> list[tuple[R, str]]:
    """The directory's objects linked to rows of ``table`` not in the trash: (row as a
    ``cls``, object id), by ``key`` then id; ``links`` is the links table's column of the
    row's id."""
    objects = links.table
    query = (
        sa.select(*columns_for(cls, table), objects.c.object_id)
        .join_from(table, objects, links == table.c.id)
        .where(objects.c.directory_id == directory_id, table.c.deleted_at.is_(None))
        .order_by(key, table.c.id)
    )
    out: list[tuple[R, str]] = []
    for row in conn.execute(query):
        values = tuple(row)
        out.append((cls(*values[:-1]), str(values[-1])))
    return out


# -- many at a time (the directory import) -----------------------------------------------------
# Values of an IN list per statement (PostgreSQL and SQLite both take far more; this keeps a
# statement's text small).
_IN_CHUNK = 500


def chunks(values: Sequence[str]) -> list[list[str]]:
    """``values`` without repeats, in lists of up to ``_IN_CHUNK`` for an IN list each."""
    unique = list(dict.fromkeys(values))
    return [unique[i : i + _IN_CHUNK] for i in range(0, len(unique), _IN_CHUNK)]


def by_objects(
    conn: Connection,
    cls: type[R],
    table: sa.Table,
    links: sa.Column[str],
    directory_id: str,
    object_ids: Sequence[str],
) -> dict[str, R]:
    """Object id -> the row of ``table`` (as a ``cls``) linked to that object of that
    directory (those linked); ``links`` is the links table's column of the row's id."""
    objects = links.table
    found: dict[str, R] = {}
    base = sa.select(objects.c.object_id, *columns_for(cls, table)).join_from(
        table, objects, links == table.c.id
    )
    for chunk in chunks(object_ids):
        query = base.where(
            objects.c.directory_id == directory_id, one_of(conn, objects.c.object_id, chunk)
        )
        for row in conn.execute(query):
            found[row[0]] = cls(*row[1:])
    return found


def live_ids_by_objects(
    conn: Connection,
    table: sa.Table,
    links: sa.Column[str],
    directory_id: str,
    object_ids: Sequence[str],
) -> dict[str, str]:
    """Object id -> the id of the row of ``table`` outside the trash linked to that object;
    ``links`` is the links table's column of the row's id."""
    objects = links.table
    found: dict[str, str] = {}
    base = sa.select(objects.c.object_id, table.c.id).join_from(table, objects, links == table.c.id)
    for chunk in chunks(object_ids):
        query = base.where(
            objects.c.directory_id == directory_id,
            one_of(conn, objects.c.object_id, chunk),
            table.c.deleted_at.is_(None),
        )
        found.update({str(o): str(i) for o, i in conn.execute(query)})
    return found
