"""The figures ``/metrics`` reads from the database at each scrape: a handful of aggregate
queries, each answered from an index or from a small table. Reads only (the tables' owners
are :mod:`~credsync.storage.runs`, :mod:`~credsync.storage.links`,
:mod:`~credsync.storage.flags`, :mod:`~credsync.storage.push_queue` and
:mod:`~credsync.storage.capture`).

- runs by state: ``runs`` grouped by ``state`` (index ix_runs_state_directory);
- checks by status: ``links`` grouped by ``status``, each link's last check
  (ix_links_directory_status);
- open flags by status: ``flags`` with ``resolved_at`` NULL (ix_flags_open);
- the push queue: waiting and given-up rows of ``sync_queue`` (ix_sync_queue_due), the
  oldest waiting one's ``enqueued_at`` (the first by id);
- captures waiting: the rows of ``capture_pending`` (waiting for an operator; a small table).

No figure is per client, credential or directory: the labels are the closed sets of states
and statuses.
"""

from __future__ import annotations

import datetime as dt
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from credsync.storage.tables import capture_pending, flags, links, runs, sync_queue

__all__ = ["Gauges", "read"]


class Gauges(NamedTuple):
    runs_by_state: dict[str, int]
    checks_by_status: dict[str, int]
    open_flags_by_status: dict[str, int]
    queue_waiting: int
    queue_given_up: int
    queue_oldest: dt.datetime | None  # when the oldest waiting push was queued
    captures_waiting: int


def _grouped(
    conn: Connection, column: sa.ColumnElement[str], *where: sa.ColumnElement[bool]
) -> dict[str, int]:
    query = sa.select(column, sa.func.count()).group_by(column)
    if where:
        query = query.where(*where)
    return {str(value): int(n) for value, n in conn.execute(query) if value is not None}


def _checks(conn: Connection) -> dict[str, int]:
    """Links by status, grouped by directory first: the order of ix_links_directory_status,
    so the count walks the index alone (no sort), then summed here (a few rows a
    directory)."""
    column = links.c.status
    query = sa.select(column, sa.func.count()).group_by(links.c.directory_id, column)
    counts: dict[str, int] = {}
    for status, n in conn.execute(query):
        if status is not None:
            counts[str(status)] = counts.get(str(status), 0) + int(n)
    return counts


def read(conn: Connection) -> Gauges:
    """Every figure at once (one read transaction: they agree with each other)."""
    waiting = sync_queue.c.dead_at.is_(None)
    count = conn.execute(sa.select(sa.func.count()).select_from(sync_queue).where(waiting))
    # The oldest waiting row is the first by id (ids grow with time): walked in id order, it
    # stops at the first row not given up. (The test wrapped in a function, so that the
    # planner does not pick ix_sync_queue_due and sort every waiting row instead.)
    unindexed = sa.func.coalesce(sync_queue.c.dead_at, sa.null()).is_(None)
    oldest = conn.execute(
        sa.select(sync_queue.c.enqueued_at).where(unindexed).order_by(sync_queue.c.id).limit(1)
    ).scalar()
    given_up = conn.execute(
        sa.select(sa.func.count()).select_from(sync_queue).where(sync_queue.c.dead_at.is_not(None))
    ).scalar_one()
    return Gauges(
        runs_by_state=_grouped(conn, runs.c.state),
        checks_by_status=_checks(conn),
        open_flags_by_status=_grouped(conn, flags.c.status, flags.c.resolved_at.is_(None)),
        queue_waiting=int(count.scalar_one()),
        queue_given_up=int(given_up),
        queue_oldest=oldest,
        captures_waiting=int(
            conn.execute(sa.select(sa.func.count()).select_from(capture_pending)).scalar_one()
        ),
    )
