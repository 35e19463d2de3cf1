"""The ``deleted_keeps`` table: its owner. One row per directory object an operator chose to
keep (see :mod:`credsync.sync.deleted_check`): the object's state when kept (``stamp``)."""

from __future__ import annotations

import datetime as dt
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from credsync.storage._rows import columns_for, records
from credsync.storage.tables import deleted_keeps

__all__ = ["KeepRow", "forget", "forget_directory", "kept", "put"]


class KeepRow(NamedTuple):
    directory_id: str
    kind: str
    object_id: str
    stamp: str
    kept_at: dt.datetime
    kept_by: str


_BASE = sa.select(*columns_for(KeepRow, deleted_keeps))


def kept(conn: Connection, directory_id: str) -> dict[tuple[str, str], KeepRow]:
    """(kind, object id) -> the keep decision, for the directory's objects."""
    query = _BASE.where(deleted_keeps.c.directory_id == directory_id)
    return {(r.kind, r.object_id): r for r in records(KeepRow, conn.execute(query))}


def _where(directory_id: str, kind: str, object_id: str) -> list[sa.ColumnElement[bool]]:
    return [
        deleted_keeps.c.directory_id == directory_id,
        deleted_keeps.c.kind == kind,
        deleted_keeps.c.object_id == object_id,
    ]


def put(conn: Connection, row: KeepRow) -> None:
    """Keep the object in the state ``row.stamp`` (replacing an earlier decision)."""
    forget(conn, row.directory_id, row.kind, row.object_id)
    conn.execute(deleted_keeps.insert().values(**row._asdict()))


def forget(conn: Connection, directory_id: str, kind: str, object_id: str) -> bool:
    result = conn.execute(deleted_keeps.delete().where(*_where(directory_id, kind, object_id)))
    return bool(result.rowcount)


def forget_directory(conn: Connection, directory_id: str) -> None:
    conn.execute(deleted_keeps.delete().where(deleted_keeps.c.directory_id == directory_id))
