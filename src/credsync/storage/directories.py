"""The ``directories`` table: its owner. Every statement on it is here; callers pass their
connection (the transaction is theirs) and get rows back.

A row carries its client's name (``client_name``) for the services' records; ``settings`` and
``options`` are JSON text (see :mod:`credsync.vault.directories` for what they hold).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from credsync.storage._rows import within
from credsync.storage.tables import clients, directories

__all__ = [
    "binding",
    "due",
    "find",
    "ids_of_client",
    "insert",
    "list_rows",
    "lock",
    "name_taken",
    "names",
    "record_pass",
    "remove",
    "schedule",
    "syncing",
    "update",
    "version_of",
]

_SELECT = sa.select(directories, clients.c.name.label("client_name")).join(
    clients, clients.c.id == directories.c.client_id
)


def find(conn: Connection, ref: str, key: str) -> Row[Any] | None:
    """A directory by id, or by its name's case-folded ``key``."""
    return conn.execute(
        _SELECT.where(sa.or_(directories.c.id == ref, directories.c.name_key == key)).limit(1)
    ).first()


def list_rows(
    conn: Connection, client_id: str | None = None, client_ids: Collection[str] | None = None
) -> Sequence[Row[Any]]:
    """Directories by name (of one client, or all; of ``client_ids`` when given)."""
    query = _SELECT.order_by(directories.c.name_key).where(
        within(directories.c.client_id, client_ids)
    )
    if client_id is not None:
        query = query.where(directories.c.client_id == client_id)
    return conn.execute(query).all()


def names(conn: Connection, client_ids: Collection[str] | None = None) -> Sequence[Row[Any]]:
    """(id, client_id, client_name, name) of every directory by name (of ``client_ids`` when
    given): what a page that lists them needs, without their settings."""
    query: sa.Select[Any] = (
        sa.select(
            directories.c.id,
            directories.c.client_id,
            clients.c.name.label("client_name"),
            directories.c.name,
        )
        .join(clients, clients.c.id == directories.c.client_id)
        .where(within(directories.c.client_id, client_ids))
        .order_by(directories.c.name_key)
    )
    return conn.execute(query).all()


def syncing(conn: Connection) -> Sequence[Row[Any]]:
    """The directories of clients whose directory sync is on (and not archived)."""
    query = _SELECT.where(clients.c.directory_sync.is_(True), clients.c.archived_at.is_(None))
    return conn.execute(query).all()


def due(conn: Connection, now: dt.datetime) -> list[tuple[str, int]]:
    """``(id, version)`` of the directories of :func:`syncing` whose next run is due at
    ``now`` (never scheduled: due), the earliest first: what an agent's round looks at, without
    reading every directory's settings."""
    query = (
        sa.select(directories.c.id, directories.c.version)
        .join(clients, clients.c.id == directories.c.client_id)
        .where(
            clients.c.directory_sync.is_(True),
            clients.c.archived_at.is_(None),
            sa.or_(directories.c.next_run_at.is_(None), directories.c.next_run_at <= now),
        )
        .order_by(directories.c.next_run_at.is_not(None), directories.c.next_run_at)
    )
    return [(str(i), int(v)) for i, v in conn.execute(query).all()]


def ids_of_client(conn: Connection, client_id: str) -> list[str]:
    query = sa.select(directories.c.id).where(directories.c.client_id == client_id)
    return [str(i) for i in conn.execute(query).scalars()]


def version_of(conn: Connection, directory_id: str) -> int | None:
    """The directory's version (None: it is gone)."""
    query = sa.select(directories.c.version).where(directories.c.id == directory_id)
    version = conn.execute(query).scalar()
    return None if version is None else int(version)


def name_taken(conn: Connection, key: str) -> bool:
    return (
        conn.execute(sa.select(directories.c.id).where(directories.c.name_key == key)).first()
        is not None
    )


def binding(conn: Connection, credential_id: str) -> str | None:
    """The name of a directory that binds with the credential, if one does."""
    name = conn.execute(
        sa.select(directories.c.name).where(directories.c.bind_credential_id == credential_id)
    ).scalar()
    return str(name) if name is not None else None


def insert(conn: Connection, values: Mapping[str, Any]) -> None:
    conn.execute(directories.insert().values(**values))


def update(conn: Connection, directory_id: str, values: Mapping[str, Any]) -> None:
    conn.execute(directories.update().where(directories.c.id == directory_id).values(**values))


def lock(conn: Connection, directory_id: str) -> bool:
    """Lock the directory's row until the transaction ends (``FOR NO KEY UPDATE`` on
    PostgreSQL; on SQLite the write transaction holds the database). False when it is gone.

    Not ``FOR UPDATE``: that would also block the foreign-key checks of rows inserted that
    refer to the directory (a queued push, a link), which take ``FOR KEY SHARE``. A password
    change (audit head, then the queue's insert) and a run's start or end (this lock, then
    the audit head) took the two locks in opposite orders and deadlocked."""
    found = conn.execute(
        sa.select(directories.c.id)
        .where(directories.c.id == directory_id)
        .with_for_update(key_share=True)
    ).first()
    return found is not None


def record_pass(
    conn: Connection,
    directory_id: str,
    *,
    failed: bool,
    whole: bool,
    cursor: str | None,
    full_at: dt.datetime | None,
    accounts: int | None,
) -> None:
    """What a finished run leaves on its directory: a failure counted, or (a whole run) the
    failures cleared, the new cursor and, after a full pass, its time and account count."""
    values: dict[str, Any] = {"failures": directories.c.failures + 1} if failed else {}
    if whole:
        values["failures"] = 0
        if cursor is not None:
            values["cursor"] = cursor
        if full_at is not None:
            values["full_pass_at"] = full_at
            values["account_count"] = accounts
    if values:
        update(conn, directory_id, values)


def schedule(conn: Connection, directory_id: str, at: dt.datetime) -> None:
    """When the agent next runs the directory."""
    update(conn, directory_id, {"next_run_at": at})


def remove(conn: Connection, directory_id: str) -> None:
    """The directory's row (its dependents are their owners' to remove first)."""
    conn.execute(directories.delete().where(directories.c.id == directory_id))
