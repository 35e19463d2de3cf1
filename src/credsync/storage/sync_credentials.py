"""Credentials as the sync area reads them: those a run checks, those a directory may bind
with, the titles its reports name, and where a push of theirs goes. Reads only: the
``credentials`` table is :mod:`credsync.storage.credentials`' (kept apart so that neither
module outgrows a file).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from credsync.storage._rows import columns_for, records
from credsync.storage.credentials import DIRECTORY_ADMIN, effective_mode, visible
from credsync.storage.tables import clients, credentials, links

__all__ = [
    "BindCandidate",
    "BindChoice",
    "SyncedCredential",
    "bind_candidates",
    "bind_choices",
    "changed_since",
    "linked_count",
    "push_target",
    "push_targets",
    "synced",
    "titles",
]

_IN_LIST = 500


class SyncedCredential(NamedTuple):
    id: str
    title: str
    username: str
    secret_version: int
    password_changed_at: dt.datetime | None
    mode: str  # the effective sync mode


def synced(
    conn: Connection,
    client_id: str,
    modes: Sequence[str],
    *,
    switch_on_only: bool = True,
    ids: Sequence[str] | None = None,
    unlinked_in: str | None = None,
) -> list[SyncedCredential]:
    """The client's live credentials whose effective mode is one of ``modes``, by title;
    none when ``switch_on_only`` and the client's directory sync is off, or it is archived.
    ``ids``: only these (at most a few hundred); ``unlinked_in``: only those with no link in
    this directory."""
    mode = effective_mode().label("mode")
    query = _synced(
        sa.select(*columns_for(SyncedCredential, credentials, mode=mode)),
        client_id, modes, switch_on_only=switch_on_only,
    )  # fmt: skip
    if ids is not None:
        query = query.where(credentials.c.id.in_(list(ids)))
    if unlinked_in is not None:
        query = query.where(~_linked_in(unlinked_in))
    rows = conn.execute(query.order_by(credentials.c.title_key, credentials.c.id))
    return records(SyncedCredential, rows)


def linked_count(conn: Connection, client_id: str, modes: Sequence[str], directory_id: str) -> int:
    """How many of :func:`synced`'s credentials (switch on) have a link in the directory."""
    query = _synced(sa.select(sa.func.count()), client_id, modes, switch_on_only=True)
    return int(conn.execute(query.where(_linked_in(directory_id))).scalar_one())


def _synced(
    query: sa.Select[Any], client_id: str, modes: Sequence[str], *, switch_on_only: bool
) -> sa.Select[Any]:
    return (
        query.select_from(credentials)
        .join(clients, clients.c.id == credentials.c.client_id)
        .where(
            credentials.c.client_id == client_id,
            credentials.c.deleted_at.is_(None),
            clients.c.directory_sync.is_(True) if switch_on_only else sa.true(),
            clients.c.archived_at.is_(None),
            effective_mode().in_(list(modes)),
        )
    )


def _linked_in(directory_id: str) -> sa.Exists:
    return sa.exists().where(
        links.c.credential_id == credentials.c.id, links.c.directory_id == directory_id
    )


def changed_since(conn: Connection, client_id: str, since: dt.datetime) -> set[str] | None:
    """The client's credentials written since ``since`` (made, edited, their password
    changed, trashed or restored: each of these moves ``updated_at``); None when the
    client's own row changed since (its default sync mode or its directory sync switch:
    any credential's effective mode may have)."""
    changed = conn.execute(
        sa.select(clients.c.id).where(clients.c.id == client_id, clients.c.updated_at >= since)
    ).first()
    if changed is not None:
        return None
    rows = conn.execute(
        sa.select(credentials.c.id).where(
            credentials.c.client_id == client_id,
            sa.or_(credentials.c.updated_at >= since, credentials.c.password_changed_at >= since),
        )
    )
    return set(rows.scalars())


class BindChoice(NamedTuple):
    id: str
    title: str
    username: str


def bind_choices(
    conn: Connection, client_id: str, *, include_directory_admin: bool, limit: int = 500
) -> list[BindChoice]:
    """The client's directory_admin credentials outside the trash, by title."""
    query = (
        sa.select(*columns_for(BindChoice, credentials))
        .where(
            credentials.c.client_id == client_id,
            credentials.c.type == DIRECTORY_ADMIN,
            credentials.c.deleted_at.is_(None),
            visible(include_directory_admin),
        )
        .order_by(credentials.c.title_key, credentials.c.id)
        .limit(limit)
    )
    return records(BindChoice, conn.execute(query))


class BindCandidate(NamedTuple):
    id: str
    client_id: str
    type: str


def bind_candidates(conn: Connection, ref: str) -> list[BindCandidate]:
    """Up to two live credentials whose id starts with ``ref`` (one: found; two: ambiguous)."""
    query = (
        sa.select(*columns_for(BindCandidate, credentials))
        .where(credentials.c.id.startswith(ref, autoescape=True))
        .where(credentials.c.deleted_at.is_(None))
        .limit(2)
    )
    return records(BindCandidate, conn.execute(query))


def titles(
    conn: Connection, ids: Sequence[str], *, include_directory_admin: bool
) -> dict[str, str]:
    """credential id -> title, for those of ``ids`` a reader may know of (500 per query)."""
    out: dict[str, str] = {}
    for start in range(0, len(ids), _IN_LIST):
        rows = conn.execute(
            sa.select(credentials.c.id, credentials.c.title).where(
                credentials.c.id.in_(list(ids[start : start + _IN_LIST])),
                visible(include_directory_admin),
            )
        )
        out.update({r.id: r.title for r in rows})
    return out


def push_target(conn: Connection, credential_id: str) -> tuple[str, str] | None:
    """(client id, effective sync mode) of the credential when its client's directory sync is
    on; None when it is off."""
    return push_targets(conn, [credential_id]).get(credential_id)


def push_targets(conn: Connection, ids: Sequence[str]) -> dict[str, tuple[str, str]]:
    """:func:`push_target` of many credentials (those whose client's directory sync is off
    are left out)."""
    out: dict[str, tuple[str, str]] = {}
    for start in range(0, len(ids), _IN_LIST):
        rows = conn.execute(
            sa.select(credentials.c.id, credentials.c.client_id, effective_mode().label("mode"))
            .join(clients, clients.c.id == credentials.c.client_id)
            .where(credentials.c.id.in_(ids[start : start + _IN_LIST]),
                   clients.c.directory_sync.is_(True))
        )  # fmt: skip
        out.update({row.id: (row.client_id, row.mode) for row in rows})
    return out
