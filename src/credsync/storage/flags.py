"""Flags (``flags``): open problems found by checks, one per credential and directory while
it lasts, closed by a good check or an operator. Their owner.

Runs open, update and close them (:func:`record`); operators' resolutions close them
(:func:`close`, :func:`mark_pushed`). A flag is read with its client's and directory's
names, its credential's title and username and its account's name as last read
(:class:`FlagRow`); lists come a page at a time, the most recently opened first
(:func:`page`, filtered by :class:`FlagWhere`). What a status means (a problem or not) is the
sync engine's to say: nothing here knows one status from another.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from credsync.storage._rows import columns_for, record, records, within
from credsync.storage.credentials import visible
from credsync.storage.ids import one_by_id_prefix
from credsync.storage.tables import (
    SET_APART,
    clients,
    credentials,
    directories,
    directory_accounts,
    flags,
)
from credsync.types import new_id

__all__ = [
    "FlagCheck",
    "FlagRow",
    "FlagWhere",
    "close",
    "close_of",
    "count",
    "exists",
    "find",
    "forget_credential",
    "forget_directory",
    "mark_pushed",
    "of_ids",
    "open_checks",
    "open_counts",
    "open_total",
    "page",
    "raise_flag",
    "record_checks",
    "touched_since",
]

_IN_LIST = 500  # ids per IN (...) list


class FlagRow(NamedTuple):
    id: str
    client_id: str
    client_name: str
    credential_id: str
    title: str
    username: str
    directory_id: str
    directory_name: str
    directory_kind: str
    account_id: str | None
    account_name: str | None  # the account's name as the directory last said it
    status: str
    detail: str
    run_id: str | None
    opened_at: dt.datetime
    updated_at: dt.datetime
    resolved_at: dt.datetime | None
    resolved_by: str | None
    resolution: str | None


_SELECT = (
    sa.select(
        *columns_for(
            FlagRow,
            flags,
            credentials,
            client_name=clients.c.name,
            directory_name=directories.c.name,
            directory_kind=directories.c.kind,
            account_name=directory_accounts.c.username,
        )
    )
    .join(clients, clients.c.id == flags.c.client_id)
    .join(credentials, credentials.c.id == flags.c.credential_id)
    .join(directories, directories.c.id == flags.c.directory_id)
    .outerjoin(
        directory_accounts,
        sa.and_(
            directory_accounts.c.directory_id == flags.c.directory_id,
            directory_accounts.c.account_id == flags.c.account_id,
        ),
    )
)


def find(
    conn: Connection,
    ref: str,
    *,
    include_directory_admin: bool,
    client_ids: Collection[str] | None = None,
) -> FlagRow:
    """A flag by id or 8+ characters of it (NotFound, or InvalidInput when ambiguous); only
    one of ``client_ids`` when given."""
    query = _SELECT.where(visible(include_directory_admin), within(flags.c.client_id, client_ids))
    row = one_by_id_prefix(conn, query, flags.c.id, ref, "flag", min_chars=8)
    return record(FlagRow, row)


class FlagWhere(NamedTuple):
    """Which flags a list holds: of credentials outside the trash (directory_admin ones only
    with ``include_directory_admin``), open ones (resolved ones too with
    ``include_resolved``), and, when given, of one client, directory and status, opened
    before ``opened_before`` and at or after ``opened_since``."""

    include_directory_admin: bool
    client_id: str | None = None
    directory_id: str | None = None
    status: str | None = None
    opened_before: dt.datetime | None = None
    opened_since: dt.datetime | None = None
    include_resolved: bool = False
    client_ids: frozenset[str] | None = None  # per-client access: None, every client

    def apply(self, query: sa.Select[Any]) -> sa.Select[Any]:
        query = query.where(
            visible(self.include_directory_admin),
            credentials.c.deleted_at.is_(None),
            within(flags.c.client_id, self.client_ids),
        )
        if not self.include_resolved:
            query = query.where(flags.c.resolved_at.is_(None))
        if self.client_id is not None:
            query = query.where(flags.c.client_id == self.client_id)
        if self.directory_id is not None:
            query = query.where(flags.c.directory_id == self.directory_id)
        if self.status is not None:
            query = query.where(flags.c.status == self.status)
        if self.opened_before is not None:
            query = query.where(flags.c.opened_at < self.opened_before)
        if self.opened_since is not None:
            query = query.where(flags.c.opened_at >= self.opened_since)
        return query


def page(conn: Connection, where: FlagWhere, *, after: str | None, fetch: int) -> list[FlagRow]:
    """Up to ``fetch`` flags of ``where``, the most recently opened first (then by id), from
    just after the flag ``after`` (one that exists: see :func:`exists`). A flag keeps its
    place while it is updated or closed, so paging through never skips or repeats one."""
    query = where.apply(_SELECT).order_by(flags.c.opened_at.desc(), flags.c.id)
    if after is not None:
        opened = sa.select(flags.c.opened_at).where(flags.c.id == after).scalar_subquery()
        query = query.where(
            sa.or_(
                flags.c.opened_at < opened,
                sa.and_(flags.c.opened_at == opened, flags.c.id > after),
            )
        )
    return records(FlagRow, conn.execute(query.limit(fetch)))


def count(conn: Connection, where: FlagWhere) -> int:
    """How many flags ``where`` holds."""
    query = where.apply(
        sa.select(sa.func.count(flags.c.id))
        .select_from(flags)
        .join(credentials, credentials.c.id == flags.c.credential_id)
    )
    return int(conn.execute(query).scalar_one())


def exists(
    conn: Connection,
    flag_id: str,
    *,
    include_directory_admin: bool,
    client_ids: Collection[str] | None = None,
) -> bool:
    """Whether the flag is there (and may be known of)."""
    query = (
        sa.select(flags.c.id)
        .join(credentials, credentials.c.id == flags.c.credential_id)
        .where(
            flags.c.id == flag_id,
            visible(include_directory_admin),
            within(flags.c.client_id, client_ids),
        )
    )
    return conn.execute(query).first() is not None


def of_ids(
    conn: Connection,
    flag_ids: Sequence[str],
    *,
    include_directory_admin: bool,
    client_ids: Collection[str] | None = None,
) -> list[FlagRow]:
    """The flags of ``flag_ids`` that are there (and may be known of), in no set order."""
    found: list[FlagRow] = []
    ids = list(dict.fromkeys(flag_ids))
    for start in range(0, len(ids), _IN_LIST):
        query = _SELECT.where(
            flags.c.id.in_(ids[start : start + _IN_LIST]),
            visible(include_directory_admin),
            within(flags.c.client_id, client_ids),
        )
        found += records(FlagRow, conn.execute(query))
    return found


def open_counts(
    conn: Connection, *, include_directory_admin: bool, client_ids: Collection[str] | None = None
) -> dict[str, int]:
    """Open flags of credentials outside the trash, per client name."""
    rows = conn.execute(
        sa.select(clients.c.name, sa.func.count(flags.c.id))
        .join(flags, flags.c.client_id == clients.c.id)
        .join(credentials, credentials.c.id == flags.c.credential_id)
        .where(
            flags.c.resolved_at.is_(None),
            credentials.c.deleted_at.is_(None),
            visible(include_directory_admin),
            within(clients.c.id, client_ids),
        )
        .group_by(clients.c.name)
    )
    return {name: int(count) for name, count in rows}


def open_total(
    conn: Connection, *, include_directory_admin: bool, client_ids: Collection[str] | None = None
) -> int:
    """How many open flags of credentials outside the trash (of ``client_ids`` when given):
    counted from ``ix_flags_open``, less those of the few credentials set apart."""
    set_apart = sa.select(credentials.c.id).where(
        sa.text(SET_APART),
        sa.not_(sa.and_(credentials.c.deleted_at.is_(None), visible(include_directory_admin))),
    )
    query = (
        sa.select(sa.func.count())
        .select_from(flags)
        .where(
            flags.c.resolved_at.is_(None),
            within(flags.c.client_id, client_ids),
            flags.c.credential_id.not_in(set_apart),
        )
    )
    return int(conn.execute(query).scalar_one())


class OpenCheckRow(NamedTuple):
    """An open flag as the check it stands for, with its directory's name and kind."""

    id: str
    credential_id: str
    directory_id: str
    account_id: str | None
    status: str
    detail: str
    updated_at: dt.datetime
    directory_name: str
    directory_kind: str


def open_checks(conn: Connection, credential_ids: Sequence[str]) -> list[OpenCheckRow]:
    """The open flags of these credentials (at most 500), in every directory."""
    query = (
        sa.select(
            *columns_for(
                OpenCheckRow,
                flags,
                directory_name=directories.c.name,
                directory_kind=directories.c.kind,
            )
        )
        .join(directories, directories.c.id == flags.c.directory_id)
        .where(flags.c.credential_id.in_(list(credential_ids)), flags.c.resolved_at.is_(None))
    )
    return records(OpenCheckRow, conn.execute(query))


# -- what a run found ----------------------------------------------------------------------------
class FlagCheck(NamedTuple):
    """A check of one credential: ``resolution`` None for a problem (the flag is opened, or
    updated when its status or detail changed), else the resolution its open flag is closed
    with (``in_sync``, ``accepted``)."""

    credential_id: str
    account_id: str | None
    status: str
    detail: str
    resolution: str | None


class _Open(NamedTuple):
    id: str
    credential_id: str
    status: str
    detail: str


def touched_since(
    conn: Connection, directory_id: str, since: dt.datetime, open_statuses: Collection[str]
) -> set[str]:
    """Credentials whose flag in the directory was resolved since ``since`` (an operator
    accepting, restoring, pushing...), or is open with one of ``open_statuses``."""
    rows = conn.execute(
        sa.select(flags.c.credential_id).where(
            flags.c.directory_id == directory_id,
            sa.or_(
                flags.c.resolved_at >= since,
                sa.and_(flags.c.resolved_at.is_(None), flags.c.status.in_(list(open_statuses))),
            ),
        )
    )
    return set(rows.scalars())


def _open_of(conn: Connection, directory_id: str, credential_ids: list[str]) -> dict[str, _Open]:
    found: dict[str, _Open] = {}
    for start in range(0, len(credential_ids), _IN_LIST):
        rows = conn.execute(
            sa.select(*columns_for(_Open, flags)).where(
                flags.c.directory_id == directory_id,
                flags.c.resolved_at.is_(None),
                flags.c.credential_id.in_(credential_ids[start : start + _IN_LIST]),
            )
        )
        found.update({r.credential_id: _Open(*r) for r in rows})
    return found


def record_checks(
    conn: Connection,
    *,
    directory_id: str,
    client_id: str,
    run_id: str,
    found: Sequence[FlagCheck],
    by: str,
    now: dt.datetime,
) -> set[str]:
    """Flags opened, updated or closed for what a run found: one read of the open flags, then
    a statement per flag that changes. Returns the credentials whose open flag already said
    what the run found (the same status and detail), left as it was."""
    open_flags = _open_of(conn, directory_id, [f.credential_id for f in found])
    as_flagged: set[str] = set()
    for check in found:
        current = open_flags.get(check.credential_id)
        if check.resolution is not None:
            if current is not None:
                conn.execute(
                    flags.update()
                    .where(flags.c.id == current.id)
                    .values(
                        resolved_at=now,
                        resolved_by=by,
                        resolution=check.resolution,
                        updated_at=now,
                        run_id=run_id,
                    )
                )
        elif current is None:
            conn.execute(
                flags.insert().values(
                    id=new_id(),
                    client_id=client_id,
                    credential_id=check.credential_id,
                    directory_id=directory_id,
                    account_id=check.account_id,
                    status=check.status,
                    detail=check.detail,
                    run_id=run_id,
                    opened_at=now,
                    updated_at=now,
                )
            )
        elif (current.status, current.detail) != (check.status, check.detail):
            conn.execute(
                flags.update()
                .where(flags.c.id == current.id)
                .values(
                    status=check.status,
                    detail=check.detail,
                    account_id=check.account_id,
                    run_id=run_id,
                    updated_at=now,
                )
            )
        else:
            as_flagged.add(check.credential_id)
    return as_flagged


def raise_flag(
    conn: Connection,
    *,
    client_id: str,
    credential_id: str,
    directory_id: str,
    account_id: str | None,
    status: str,
    detail: str,
    now: dt.datetime,
) -> str:
    """Open a flag outside a run (a capture), or update the credential's open one in that
    directory to ``status`` and ``detail``; returns its id."""
    current = _open_of(conn, directory_id, [credential_id]).get(credential_id)
    if current is not None:
        conn.execute(
            flags.update()
            .where(flags.c.id == current.id)
            .values(status=status, detail=detail, account_id=account_id, updated_at=now)
        )
        return current.id
    flag_id = new_id()
    conn.execute(
        flags.insert().values(
            id=flag_id,
            client_id=client_id,
            credential_id=credential_id,
            directory_id=directory_id,
            account_id=account_id,
            status=status,
            detail=detail,
            opened_at=now,
            updated_at=now,
        )
    )
    return flag_id


# -- operators' resolutions -----------------------------------------------------------------------
def close(conn: Connection, flag_id: str, *, by: str, resolution: str, now: dt.datetime) -> None:
    """Close the flag (if still open) with ``resolution``."""
    conn.execute(
        flags.update()
        .where(flags.c.id == flag_id, flags.c.resolved_at.is_(None))
        .values(resolved_at=now, resolved_by=by, resolution=resolution, updated_at=now)
    )


def close_of(
    conn: Connection,
    credential_id: str | Sequence[str],
    directory_id: str,
    *,
    status: str | Sequence[str],
    by: str,
    resolution: str,
    now: dt.datetime,
) -> None:
    """Close the credential's (or several's) open flag in the directory if it has ``status``
    (or one of several: one statement per 500 credentials)."""
    statuses = [status] if isinstance(status, str) else list(status)
    ids = [credential_id] if isinstance(credential_id, str) else list(credential_id)
    for start in range(0, len(ids), _IN_LIST):
        conn.execute(
            flags.update()
            .where(
                flags.c.credential_id.in_(ids[start : start + _IN_LIST]),
                flags.c.directory_id == directory_id,
                flags.c.status.in_(statuses),
                flags.c.resolved_at.is_(None),
            )
            .values(resolved_at=now, resolved_by=by, resolution=resolution, updated_at=now)
        )


def mark_pushed(conn: Connection, flag_id: str, *, by: str) -> None:
    """A flag the run of an operator's push closed as ``in_sync``: resolved by that push."""
    conn.execute(
        flags.update()
        .where(flags.c.id == flag_id, flags.c.resolution == "in_sync")
        .values(resolution="pushed", resolved_by=by)
    )


def forget_credential(conn: Connection, credential_id: str) -> None:
    conn.execute(flags.delete().where(flags.c.credential_id == credential_id))


def forget_directory(conn: Connection, directory_id: str) -> None:
    conn.execute(flags.delete().where(flags.c.directory_id == directory_id))
