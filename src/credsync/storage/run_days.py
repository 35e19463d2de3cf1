"""Runs a day (``run_days``): their owner. Per UTC day of a run's start, directory and state,
how many runs (dry runs left out) are in that state: what the overview's chart of runs a day
shows, read as about a row a directory, day and state instead of every run (a directory run
every minute makes 1,440 runs a day; 500 of them, 21 million a month).

:mod:`credsync.storage.runs` keeps the counts in step in the transaction that writes a run:
a new run counts as ``running``, its end moves it to the state it ended in, and a directory's
runs are forgotten with it. :func:`recount` makes them again from the runs themselves (what
revision 0046 did once; for runs written around :mod:`~credsync.storage.runs`, such as a bulk
load).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from credsync.storage._rows import within
from credsync.storage.tables import run_days, runs

__all__ = ["DayState", "counts_since", "day_of", "forget_directory", "moved", "recount"]


class DayState(NamedTuple):
    day: dt.date
    state: str
    n: int


def day_of(at: dt.datetime) -> str:
    """The UTC day of ``at`` as the table keeps it (naive times are UTC)."""
    if at.tzinfo is not None:
        at = at.astimezone(dt.UTC)
    return at.date().isoformat()


def moved(
    conn: Connection,
    *,
    day: str,
    directory_id: str,
    client_id: str,
    before: str | None,
    after: str | None,
) -> None:
    """A run of ``day`` went from state ``before`` (None: it is new) to ``after`` (None: it
    is gone)."""
    for state, by in ((before, -1), (after, 1)):
        if state is None:
            continue
        insert: Any = (postgresql if conn.dialect.name == "postgresql" else sqlite).insert
        statement = insert(run_days).values(
            day=day, directory_id=directory_id, state=state, client_id=client_id, n=by
        )
        conn.execute(
            statement.on_conflict_do_update(
                index_elements=[run_days.c.day, run_days.c.directory_id, run_days.c.state],
                set_={"n": run_days.c.n + by},
            )
        )


def forget_directory(conn: Connection, directory_id: str) -> None:
    conn.execute(run_days.delete().where(run_days.c.directory_id == directory_id))


def _day(conn: Connection, column: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    if conn.dialect.name == "postgresql":
        return sa.func.to_char(sa.func.timezone("UTC", column), "YYYY-MM-DD")
    # SQLite keeps UTC timestamps as text that starts with the day (YYYY-MM-DD ...)
    return sa.func.substr(column, 1, 10)


def recount(conn: Connection) -> None:
    """Count every directory's runs a day again from ``runs``."""
    day = _day(conn, runs.c.started_at)
    conn.execute(run_days.delete())
    conn.execute(
        run_days.insert().from_select(
            ["day", "directory_id", "state", "client_id", "n"],
            sa.select(
                day,
                runs.c.directory_id,
                runs.c.state,
                sa.func.min(runs.c.client_id),
                sa.func.count(),
            )
            .where(runs.c.dry_run.is_(False))
            .group_by(day, runs.c.directory_id, runs.c.state),
        )
    )


def counts_since(
    conn: Connection, since: dt.datetime, client_ids: Collection[str] | None = None
) -> list[DayState]:
    """Runs started since ``since``'s day (of ``client_ids`` when given), by UTC day and
    state (the states none is in left out)."""
    total = sa.func.sum(run_days.c.n)
    rows = conn.execute(
        sa.select(run_days.c.day, run_days.c.state, total)
        .where(run_days.c.day >= day_of(since), within(run_days.c.client_id, client_ids))
        .group_by(run_days.c.day, run_days.c.state)
        .having(total > 0)
    )
    return [DayState(dt.date.fromisoformat(d), s, int(n)) for d, s, n in rows]
