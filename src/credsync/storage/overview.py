"""The dashboard overview's figures, read in a few grouped statements over the whole vault
(never one per client, directory or row): checks by status per directory, open flags per
directory, each directory's last completed run, runs and flags per day, and password ages per
client. Read-only: the tables stay their owners' (credentials, links, flags, runs).

Days are UTC calendar days, computed by the database (SQLite's ``date()``, PostgreSQL's
``date(... AT TIME ZONE 'UTC')``) so that a month of runs is counted, not fetched.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from credsync.storage.credentials import visible
from credsync.storage.tables import credentials, directories, flags, links, runs

__all__ = [
    "AgeRow",
    "DayRow",
    "StatusRow",
    "age_buckets",
    "flags_per_day",
    "last_done_per_directory",
    "open_flags_per_directory",
    "runs_per_day",
    "status_counts",
]


class StatusRow(NamedTuple):
    directory_id: str
    status: str  # "pending" for a link not checked yet
    n: int


class DayRow(NamedTuple):
    day: dt.date
    what: str  # a run's state, or "opened" / "resolved" for flags
    n: int


class AgeRow(NamedTuple):
    client_id: str
    bucket: int  # index into the edges given to age_buckets (len(edges): older than all)
    n: int


def _live(include_directory_admin: bool) -> sa.ColumnElement[bool]:
    return sa.and_(credentials.c.deleted_at.is_(None), visible(include_directory_admin))


def _day(conn: Connection, column: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    if conn.dialect.name == "postgresql":
        return sa.func.date(sa.func.timezone("UTC", column))
    return sa.func.date(column)


def _as_date(value: Any) -> dt.date:
    # SQLite answers 'YYYY-MM-DD' text, PostgreSQL a date
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


def status_counts(conn: Connection, *, include_directory_admin: bool) -> list[StatusRow]:
    """Links of live credentials by directory and last status."""
    status = sa.func.coalesce(links.c.status, "pending")
    rows = conn.execute(
        sa.select(links.c.directory_id, status, sa.func.count())
        .join(credentials, credentials.c.id == links.c.credential_id)
        .where(_live(include_directory_admin))
        .group_by(links.c.directory_id, status)
    )
    return [StatusRow(d, s, int(n)) for d, s, n in rows]


def open_flags_per_directory(conn: Connection, *, include_directory_admin: bool) -> dict[str, int]:
    """Open flags of live credentials, per directory id."""
    rows = conn.execute(
        sa.select(flags.c.directory_id, sa.func.count())
        .join(credentials, credentials.c.id == flags.c.credential_id)
        .where(flags.c.resolved_at.is_(None), _live(include_directory_admin))
        .group_by(flags.c.directory_id)
    )
    return {d: int(n) for d, n in rows}


def last_done_per_directory(conn: Connection, directory_ids: Sequence[str]) -> dict[str, Any]:
    """directory id -> when its newest completed run (state done, not a dry run) finished;
    one statement, each directory's newest runs read backwards along its index."""
    if not directory_ids:
        return {}
    newest_done = (
        sa.select(runs.c.finished_at)
        .where(
            runs.c.directory_id == directories.c.id,
            runs.c.state == "done",
            runs.c.dry_run.is_(False),
        )
        .order_by(runs.c.started_at.desc())
        .limit(1)
        .scalar_subquery()
    )
    rows = conn.execute(
        sa.select(directories.c.id, newest_done).where(directories.c.id.in_(directory_ids))
    )
    return {d: at for d, at in rows if at is not None}


def runs_per_day(conn: Connection, since: dt.datetime) -> list[DayRow]:
    """Runs started since ``since`` (dry runs left out), by UTC day and state."""
    day = _day(conn, runs.c.started_at)
    rows = conn.execute(
        sa.select(day, runs.c.state, sa.func.count())
        .where(runs.c.started_at >= since, runs.c.dry_run.is_(False))
        .group_by(day, runs.c.state)
    )
    return [DayRow(_as_date(d), s, int(n)) for d, s, n in rows]


def flags_per_day(
    conn: Connection, since: dt.datetime, *, include_directory_admin: bool
) -> list[DayRow]:
    """Flags of live credentials opened, and resolved, since ``since``, by UTC day."""
    out: list[DayRow] = []
    for what, column in (("opened", flags.c.opened_at), ("resolved", flags.c.resolved_at)):
        day = _day(conn, column)
        rows = conn.execute(
            sa.select(day, sa.func.count())
            .join(credentials, credentials.c.id == flags.c.credential_id)
            .where(column >= since, _live(include_directory_admin))
            .group_by(day)
        )
        out += [DayRow(_as_date(d), what, int(n)) for d, n in rows]
    return out


def age_buckets(
    conn: Connection,
    now: dt.datetime,
    edges_days: Sequence[int],
    *,
    include_directory_admin: bool,
) -> list[AgeRow]:
    """Live credentials per client and password age: bucket i holds the passwords changed
    less than ``edges_days[i]`` days ago (and not less than the edge before);
    ``len(edges_days)`` the older ones."""
    changed = credentials.c.password_changed_at
    bucket = sa.case(
        *[(changed > now - dt.timedelta(days=d), i) for i, d in enumerate(edges_days)],
        else_=len(edges_days),
    )
    rows = conn.execute(
        sa.select(credentials.c.client_id, bucket, sa.func.count())
        .where(_live(include_directory_admin))
        .group_by(credentials.c.client_id, bucket)
    )
    return [AgeRow(c, int(b), int(n)) for c, b, n in rows]
