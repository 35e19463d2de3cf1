"""Clients (``clients``: each with its data key, wrapped by the master key) and their folders
(``folders``). Names are unique by their case-folded key, which the caller computes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from credsync.storage import credential_counts
from credsync.storage._rows import columns_for, record, records, within
from credsync.storage.credentials import visible
from credsync.storage.tables import clients, credentials, folders

__all__ = [
    "ClientRow",
    "FolderRow",
    "add",
    "add_folder",
    "delete_folder",
    "find",
    "find_folder",
    "find_folder_id",
    "folders_of",
    "id_by_key",
    "list_with_counts",
    "live_counts",
    "matching",
    "page",
    "set_wrapped_key",
    "update",
    "wrapped_key",
    "wrapped_keys",
]


class ClientRow(NamedTuple):
    id: str
    name: str
    directory_sync: bool
    default_sync_mode: str
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime
    archived_at: dt.datetime | None
    rotate_every_days: int | None  # None: no rotation asked


class FolderRow(NamedTuple):
    id: str
    client_id: str
    path: str
    created_at: dt.datetime


_CLIENT = sa.select(*columns_for(ClientRow, clients))
_FOLDER = sa.select(*columns_for(FolderRow, folders))
# What update() may change.
_CHANGEABLE = frozenset(
    {
        "name",
        "name_key",
        "directory_sync",
        "default_sync_mode",
        "archived_at",
        "rotate_every_days",
        "version",
    }
)


def find(conn: Connection, ident: str, key: str, *, lock: bool = False) -> ClientRow | None:
    """The client whose id is ``ident`` or whose name key is ``key``."""
    query = _CLIENT.where(sa.or_(clients.c.id == ident, clients.c.name_key == key))
    if lock:
        query = query.with_for_update()
    row = conn.execute(query).first()
    return None if row is None else record(ClientRow, row)


def id_by_key(conn: Connection, key: str) -> str | None:
    return conn.execute(sa.select(clients.c.id).where(clients.c.name_key == key)).scalar()


def list_with_counts(
    conn: Connection,
    *,
    include_archived: bool,
    include_directory_admin: bool,
    client_ids: Collection[str] | None = None,
) -> list[tuple[ClientRow, int]]:
    """Clients by name (only ``client_ids`` when given), each with how many credentials it
    holds outside the trash (those of type directory_admin only with
    ``include_directory_admin``): their kept counts
    (:mod:`credsync.storage.credential_counts`), not every credential counted."""
    counts = credential_counts.per_client(
        include_directory_admin=include_directory_admin, client_ids=client_ids
    )
    query = (
        sa.select(*_CLIENT.selected_columns, sa.func.coalesce(counts.c.n, 0).label("n"))
        .outerjoin(counts, counts.c.client_id == clients.c.id)
        .where(within(clients.c.id, client_ids))
        .order_by(clients.c.name_key)
    )
    if not include_archived:
        query = query.where(clients.c.archived_at.is_(None))
    return [(ClientRow(*row[:-1]), int(row.n)) for row in conn.execute(query)]


def _shown(
    archived: bool, client_ids: Collection[str] | None, contains: str
) -> sa.ColumnElement[bool]:
    """Clients archived (or not), of ``client_ids`` when given, whose name key holds
    ``contains`` (a name key too; empty: any)."""
    return sa.and_(
        clients.c.archived_at.is_not(None) if archived else clients.c.archived_at.is_(None),
        within(clients.c.id, client_ids),
        clients.c.name_key.contains(contains, autoescape=True) if contains else sa.true(),
    )


def page(
    conn: Connection,
    *,
    archived: bool,
    client_ids: Collection[str] | None,
    contains: str,
    after: str | None,
    limit: int,
) -> list[ClientRow]:
    """Up to ``limit`` clients by name key after ``after`` (a name key; see :func:`_shown`
    for the others)."""
    query = _CLIENT.where(_shown(archived, client_ids, contains))
    if after is not None:
        query = query.where(clients.c.name_key > after)
    return records(ClientRow, conn.execute(query.order_by(clients.c.name_key).limit(limit)))


def matching(
    conn: Connection, *, archived: bool, client_ids: Collection[str] | None, contains: str
) -> int:
    """How many clients :func:`page` goes through."""
    query = sa.select(sa.func.count()).select_from(clients)
    return int(conn.execute(query.where(_shown(archived, client_ids, contains))).scalar_one())


def live_counts(
    conn: Connection, client_ids: Collection[str], *, include_directory_admin: bool
) -> dict[str, int]:
    """How many credentials each of ``client_ids`` holds outside the trash (those of type
    directory_admin only with ``include_directory_admin``); counted from
    ``ix_credentials_client_type_deleted`` alone."""
    if not client_ids:
        return {}
    rows = conn.execute(
        sa.select(credentials.c.client_id, sa.func.count())
        .where(
            credentials.c.client_id.in_(sorted(client_ids)),
            credentials.c.deleted_at.is_(None),
            visible(include_directory_admin),
        )
        .group_by(credentials.c.client_id)
    )
    return {c: int(n) for c, n in rows}


def add(
    conn: Connection,
    *,
    client_id: str,
    name: str,
    key: str,
    directory_sync: bool,
    default_sync_mode: str,
    wrapped_data_key: bytes,
    now: dt.datetime,
    rotate_every_days: int | None = None,
) -> None:
    conn.execute(
        clients.insert().values(
            id=client_id,
            name=name,
            name_key=key,
            directory_sync=directory_sync,
            default_sync_mode=default_sync_mode,
            wrapped_data_key=wrapped_data_key,
            rotate_every_days=rotate_every_days,
            version=1,
            created_at=now,
            updated_at=now,
        )
    )


def update(
    conn: Connection, client_id: str, changes: Mapping[str, object], now: dt.datetime
) -> None:
    """Set ``changes`` (column -> value: name, name_key, directory_sync, default_sync_mode,
    archived_at, rotate_every_days, version) and ``updated_at``."""
    unknown = set(changes) - _CHANGEABLE
    if unknown:
        raise KeyError(f"clients: {', '.join(sorted(unknown))} can't be changed this way")
    conn.execute(
        clients.update().where(clients.c.id == client_id).values(**changes, updated_at=now)
    )


# -- data keys ---------------------------------------------------------------------------------
def wrapped_key(conn: Connection, client_id: str) -> bytes | None:
    query = sa.select(clients.c.wrapped_data_key).where(clients.c.id == client_id)
    return conn.execute(query).scalar()


def wrapped_keys(conn: Connection) -> list[tuple[str, bytes]]:
    """(client id, wrapped data key) of every client."""
    rows = conn.execute(sa.select(clients.c.id, clients.c.wrapped_data_key)).all()
    return [(row.id, row.wrapped_data_key) for row in rows]


def set_wrapped_key(conn: Connection, client_id: str, wrapped: bytes) -> None:
    conn.execute(clients.update().where(clients.c.id == client_id).values(wrapped_data_key=wrapped))


# -- folders -----------------------------------------------------------------------------------
def find_folder(conn: Connection, client_id: str, path_key: str) -> FolderRow | None:
    query = _FOLDER.where(folders.c.client_id == client_id, folders.c.path_key == path_key)
    row = conn.execute(query).first()
    return None if row is None else record(FolderRow, row)


def find_folder_id(conn: Connection, client_id: str, path_key: str) -> str | None:
    query = sa.select(folders.c.id).where(
        folders.c.client_id == client_id, folders.c.path_key == path_key
    )
    return conn.execute(query).scalar()


def folders_of(conn: Connection, client_id: str) -> list[FolderRow]:
    query = _FOLDER.where(folders.c.client_id == client_id).order_by(folders.c.path_key)
    return records(FolderRow, conn.execute(query))


def add_folder(
    conn: Connection,
    *,
    folder_id: str,
    client_id: str,
    path: str,
    path_key: str,
    now: dt.datetime,
) -> None:
    conn.execute(
        folders.insert().values(
            id=folder_id, client_id=client_id, path=path, path_key=path_key, created_at=now
        )
    )


def delete_folder(conn: Connection, folder_id: str) -> None:
    conn.execute(folders.delete().where(folders.c.id == folder_id))
