"""The audit log's entries (``audit_log``): appended, listed newest first, read in order; and
the names of what a page of entries is about (:func:`names`).

The database refuses UPDATE and DELETE on the table (triggers); the chain's head lives in
``vault_meta`` (:mod:`credsync.storage.meta`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterator, Mapping, Sequence
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from credsync.storage._rows import columns_for, record, records
from credsync.storage.bulk import insert_records
from credsync.storage.credentials import visible
from credsync.storage.tables import (
    api_tokens,
    audit_log,
    clients,
    credentials,
    directories,
    folders,
    groups,
    operators,
    people,
)

__all__ = ["AuditRow", "append", "append_many", "entries", "names", "page"]


class AuditRow(NamedTuple):
    seq: int
    at: dt.datetime
    actor: str
    action: str
    target_type: str
    target_id: str
    client_id: str | None
    details: str  # canonical JSON
    prev_hash: str
    hash: str


_ENTRY = sa.select(*columns_for(AuditRow, audit_log))


_APPEND = audit_log.insert()  # built once: every audited action runs it


def append(conn: Connection, entry: AuditRow) -> None:
    conn.execute(_APPEND, entry._asdict())


def append_many(conn: Connection, entries: Sequence[AuditRow]) -> None:
    """Entries in one executemany (in sequence order, as given)."""
    insert_records(conn, audit_log, entries)


def page(
    conn: Connection,
    *,
    action: str | None = None,
    target_id: str | None = None,
    client_id: str | None = None,
    actor: str | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    before_seq: int | None = None,
    limit: int = 100,
    within_clients: tuple[Collection[str], str] | None = None,
) -> list[AuditRow]:
    """Newest first. ``action`` ending in ``*`` matches every action starting with the rest;
    ``since`` is the first moment included, ``until`` the first left out.
    ``within_clients`` (client ids, an actor's name): only the entries of those clients and
    the entries of no client that actor made (per-client access)."""
    query = _ENTRY.order_by(audit_log.c.seq.desc()).limit(limit)
    if within_clients is not None:
        client_ids, own = within_clients
        query = query.where(
            sa.or_(
                audit_log.c.client_id.in_(sorted(client_ids)),
                sa.and_(audit_log.c.client_id.is_(None), audit_log.c.actor == own),
            )
        )
    if action:
        query = query.where(
            audit_log.c.action.startswith(action.rstrip("*"), autoescape=True)
            if action.endswith("*")
            else audit_log.c.action == action
        )
    if target_id:
        query = query.where(audit_log.c.target_id == target_id)
    if client_id:
        query = query.where(audit_log.c.client_id == client_id)
    if actor:
        query = query.where(audit_log.c.actor == actor)
    if since:
        query = query.where(audit_log.c.at >= since)
    if until:
        query = query.where(audit_log.c.at < until)
    if before_seq:
        query = query.where(audit_log.c.seq < before_seq)
    return records(AuditRow, conn.execute(query))


def entries(conn: Connection, batch: int = 5000) -> Iterator[AuditRow]:
    """Every entry, oldest first, read ``batch`` at a time."""
    last = 0
    while True:
        rows = conn.execute(
            _ENTRY.where(audit_log.c.seq > last).order_by(audit_log.c.seq).limit(batch)
        ).all()
        if not rows:
            return
        for row in rows:
            yield record(AuditRow, row)
        last = rows[-1].seq


# What an entry's target or client id names, by target type: (id column, name column).
_NAMED = {
    "client": (clients.c.id, clients.c.name),
    "credential": (credentials.c.id, credentials.c.title),
    "directory": (directories.c.id, directories.c.name),
    "folder": (folders.c.id, folders.c.path),
    "group": (groups.c.id, groups.c.name),
    "person": (people.c.id, people.c.username),
    "operator": (operators.c.id, operators.c.name),
    "token": (api_tokens.c.id, api_tokens.c.name),
}
_IN_LIST = 500


def names(
    conn: Connection, wanted: Mapping[str, Collection[str]], *, directory_admin: bool
) -> dict[tuple[str, str], str]:
    """(target type, id) -> the name of each record asked for (target type -> ids: a client,
    credential, directory, folder, group, operator, person or token) that still exists: one
    query per type and 500 ids. A ``directory_admin`` credential's title only with
    ``directory_admin``."""
    found: dict[tuple[str, str], str] = {}
    for target_type, ids in wanted.items():
        id_column, name_column = _NAMED[target_type]
        listed = sorted(ids)
        for start in range(0, len(listed), _IN_LIST):
            query = sa.select(id_column, name_column).where(
                id_column.in_(listed[start : start + _IN_LIST])
            )
            if target_type == "credential":
                query = query.where(visible(directory_admin))
            found.update({(target_type, row[0]): row[1] for row in conn.execute(query)})
    return found
