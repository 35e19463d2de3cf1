"""The dashboard overview's figures, read in a few grouped statements over the whole vault
(never one per client, directory or row): checks by status per directory, open flags per
directory, runs and flags per day, and password ages per client (index ranges side by
side, one statement for up to 80 clients; each directory's newest and last completed runs
are :func:`credsync.storage.run_reads.newest_and_last_done`). Read-only: the tables
stay their owners' (credentials, links, flags, runs).

Runs a day are read from their daily counts (:mod:`credsync.storage.run_days`), links by
status from theirs (:mod:`credsync.storage.link_counts`). Days are UTC
calendar days, computed by the database (the text's first ten characters on
SQLite, which keeps UTC timestamps as text; PostgreSQL's ``date(... AT TIME ZONE 'UTC')``) so
that a month of runs is counted, not fetched. Credentials in the trash (and directory_admin
ones, for readers who may not see them) are left out by counting every row from an index and
taking off the few set apart (``ix_credentials_set_apart``): a join of every row to its
credential would cost ~20x more at 100,000 credentials.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections import defaultdict
from collections.abc import Collection, Sequence
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection

from credsync.storage import link_counts, run_days
from credsync.storage._rows import within
from credsync.storage._schema import ID, TS
from credsync.storage.credentials import visible
from credsync.storage.tables import SET_APART, credentials, flags, links

__all__ = [
    "AgeRow",
    "DayRow",
    "StatusRow",
    "age_buckets",
    "flags_per_day",
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


# Counts per statement (SQLite allows 500 parts in a compound statement).
_PARTS_PER_STATEMENT = 400


def _set_apart(include_directory_admin: bool) -> sa.Select[Any]:
    """The ids of the credentials the counts leave out (in the trash; directory_admin ones
    without ``include_directory_admin``): few, read through the partial index
    ``ix_credentials_set_apart``, whose condition this repeats."""
    return sa.select(credentials.c.id).where(
        sa.text(SET_APART), sa.not_(_live(include_directory_admin))
    )


def _day(conn: Connection, column: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    if conn.dialect.name == "postgresql":
        return sa.func.date(sa.func.timezone("UTC", column))
    # SQLite keeps UTC timestamps as text that starts with the day (YYYY-MM-DD ...)
    return sa.func.substr(column, 1, 10)


def _as_date(value: Any) -> dt.date:
    # SQLite answers 'YYYY-MM-DD' text, PostgreSQL a date
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


def status_counts(
    conn: Connection,
    *,
    include_directory_admin: bool,
    directory_ids: Collection[str] | None = None,
) -> list[StatusRow]:
    """Links of live credentials by directory and last status (of ``directory_ids`` when
    given, None: every directory): every link, as the links' kept counts say
    (:mod:`credsync.storage.link_counts`: ~a row a directory and status, where counting
    the links themselves read all of them: 60 ms for 126,829 on PostgreSQL under load),
    less those of credentials in the trash (and of directory_admin ones without
    ``include_directory_admin``), found through the partial index
    ``ix_credentials_set_apart``, whose condition the search repeats. (Joining every link
    to its credential costs ~20x more at 100,000 links.)"""
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for (d, s), n in link_counts.sums(conn, directory_ids).items():
        counts[d, s or "pending"] += n
    hidden = conn.execute(
        sa.select(links.c.directory_id, links.c.status, sa.func.count())
        .where(
            links.c.credential_id.in_(_set_apart(include_directory_admin)),
            within(links.c.directory_id, directory_ids),
        )
        .group_by(links.c.directory_id, links.c.status)
    )
    for d, s, n in hidden:
        counts[d, s or "pending"] -= int(n)
    return [StatusRow(d, s, n) for (d, s), n in counts.items() if n > 0]


def open_flags_per_directory(
    conn: Connection,
    *,
    include_directory_admin: bool,
    directory_ids: Collection[str] | None = None,
) -> dict[str, int]:
    """Open flags of live credentials, per directory id (of ``directory_ids`` when given)."""
    rows = conn.execute(
        sa.select(flags.c.directory_id, sa.func.count())
        .where(
            flags.c.resolved_at.is_(None),
            within(flags.c.directory_id, directory_ids),
            flags.c.credential_id.not_in(_set_apart(include_directory_admin)),
        )
        .group_by(flags.c.directory_id)
    )
    return {d: int(n) for d, n in rows}


def runs_per_day(
    conn: Connection, since: dt.datetime, client_ids: Collection[str] | None = None
) -> list[DayRow]:
    """Runs started since ``since``'s day (dry runs left out; of ``client_ids`` when given),
    by UTC day and state: the counts :mod:`credsync.storage.run_days` keeps (a row a
    directory, day and state), not the runs themselves."""
    return [DayRow(r.day, r.state, r.n) for r in run_days.counts_since(conn, since, client_ids)]


def flags_per_day(
    conn: Connection,
    since: dt.datetime,
    *,
    include_directory_admin: bool,
    client_ids: Collection[str] | None = None,
) -> list[DayRow]:
    """Flags of live credentials opened, and resolved, since ``since`` (of ``client_ids``
    when given), by UTC day."""
    out: list[DayRow] = []
    for what, column in (("opened", flags.c.opened_at), ("resolved", flags.c.resolved_at)):
        day = _day(conn, column)
        rows = conn.execute(
            sa.select(day, sa.func.count())
            .where(
                column >= since,
                flags.c.credential_id.not_in(_set_apart(include_directory_admin)),
                within(flags.c.client_id, client_ids),
            )
            .group_by(day)
        )
        out += [DayRow(_as_date(d), what, int(n)) for d, n in rows]
    return out


@functools.lru_cache(maxsize=8)
def _ranges(clients: int, cuts: int) -> sa.CompoundSelect[Any]:
    """For client ``c{k}`` (k below ``clients``) its credentials (-1), and those changed after
    ``t{i}`` (i below ``cuts``): counts over ranges of ``ix_credentials_client_changed``,
    side by side; made once for each size with bound values (SQLAlchemy neither builds nor
    keys the statement again at each call)."""
    changed = credentials.c.password_changed_at
    parts = []
    for k in range(clients):
        mine = credentials.c.client_id == sa.bindparam(f"c{k}", type_=ID)
        for i in range(-1, cuts):  # -1: all of them
            parts.append(
                sa.select(sa.bindparam(f"c{k}", type_=ID), sa.literal(i), sa.func.count()).where(
                    mine if i < 0 else sa.and_(mine, changed > sa.bindparam(f"t{i}", type_=TS))
                )
            )
    return sa.union_all(*parts)


@functools.lru_cache(maxsize=8)
def _ranges_pg(cuts: int) -> sa.Select[Any]:
    """PostgreSQL's: per client of the array ``ids`` (``unnest``), its credentials and those
    changed after ``t{i}``, counted in one pass over its range of
    ``ix_credentials_client_changed`` (a LATERAL subquery, ``count(*) FILTER``). (The UNION
    ALL of :func:`_ranges` costs PostgreSQL more to plan than to run: ~60 ms at 50 clients,
    and it starts parallel workers.)"""
    given = (
        sa.func.unnest(sa.bindparam("ids", type_=postgresql.ARRAY(ID)))
        .table_valued(sa.column("c", ID))
        .render_derived("v", with_types=False)
    )
    changed = credentials.c.password_changed_at
    per = (
        sa.select(
            sa.func.count().label("n"),
            *[
                sa.func.count().filter(changed > sa.bindparam(f"t{i}", type_=TS)).label(f"n{i}")
                for i in range(cuts)
            ],
        )
        .where(credentials.c.client_id == given.c.c)
        .lateral("s")
    )
    return sa.select(given.c.c, *per.c).select_from(given.join(per, sa.true()))


def _newer(
    conn: Connection, cuts: Sequence[dt.datetime], client_ids: Sequence[str]
) -> dict[tuple[str, int], int]:
    """(client id, i) -> its credentials changed after ``cuts[i]``; (client id, -1) -> all
    of them (in the trash and directory_admin ones included)."""
    newer: dict[tuple[str, int], int] = {}
    if conn.dialect.name == "postgresql":
        values: dict[str, Any] = {f"t{i}": cut for i, cut in enumerate(cuts)}
        values["ids"] = list(client_ids)
        for c, n, *after in conn.execute(_ranges_pg(len(cuts)), values):
            newer[c, -1] = int(n)
            for i, m in enumerate(after):
                newer[c, i] = int(m)
        return newer
    per_statement = _PARTS_PER_STATEMENT // (len(cuts) + 1)
    for start in range(0, len(client_ids), per_statement):
        chunk = client_ids[start : start + per_statement]
        values = {f"t{i}": cut for i, cut in enumerate(cuts)}
        values.update({f"c{k}": client_id for k, client_id in enumerate(chunk)})
        for c, i, n in conn.execute(_ranges(len(chunk), len(cuts)), values):
            newer[c, int(i)] = int(n)
    return newer


def age_buckets(
    conn: Connection,
    now: dt.datetime,
    edges_days: Sequence[int],
    client_ids: Sequence[str],
    *,
    include_directory_admin: bool,
) -> list[AgeRow]:
    """Live credentials of ``client_ids`` by client and password age: bucket i holds the
    passwords changed less than ``edges_days[i]`` days ago (and not less than the edge
    before; the edges rise); ``len(edges_days)`` the older ones. Per client, its credentials
    and those changed after each edge are counted over ranges of
    ``ix_credentials_client_changed``, side by side (UNION ALL: reading the index alone, about
    half the time of one pass that works out every row's bucket; on PostgreSQL one pass per
    client, see :func:`_ranges_pg`), less the few set apart (read from their covering
    partial index alone, revision 0049)."""
    cuts = [now - dt.timedelta(days=d) for d in edges_days]
    changed = credentials.c.password_changed_at
    newer = _newer(conn, cuts, client_ids)
    counts: dict[tuple[str, int], int] = defaultdict(int)
    last = len(edges_days)
    for client_id in client_ids:
        before = 0
        for i in range(last):
            counts[client_id, i] = newer.get((client_id, i), 0) - before
            before = newer.get((client_id, i), 0)
        counts[client_id, last] = newer.get((client_id, -1), 0) - before
    bucket = sa.case(
        *[(changed > cut, i) for i, cut in enumerate(cuts)],
        else_=last,
    )
    apart = conn.execute(
        sa.select(credentials.c.client_id, bucket, sa.func.count())
        .where(sa.text(SET_APART), sa.not_(_live(include_directory_admin)))
        .group_by(credentials.c.client_id, bucket)
    )
    for c, b, n in apart:
        if (c, int(b)) in counts:
            counts[c, int(b)] -= int(n)
    return [AgeRow(c, b, n) for (c, b), n in counts.items() if n > 0]
