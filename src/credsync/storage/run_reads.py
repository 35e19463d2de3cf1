"""Reads of runs for the agent's and the dashboard's views of runs under way and the newest
runs (``runs``, ``run_items``; written by :mod:`credsync.storage.runs`, their owner)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from credsync.storage._rows import columns_for, record, records, within
from credsync.storage.runs import _SELECT, RunRow
from credsync.storage.tables import directories, run_items, runs

__all__ = [
    "LastRunRow",
    "Liveness",
    "newest_and_last_done",
    "newest_of_owners",
    "newest_per_directory",
    "progress",
]


class Liveness(NamedTuple):
    state: str
    message: str
    started_at: dt.datetime
    heartbeat_at: dt.datetime | None


def progress(
    conn: Connection, run_id: str, client_ids: Collection[str] | None = None
) -> tuple[Liveness, int] | None:
    """A run's state and last sign of life, and how many items it has stored (None: no
    such run, or none of ``client_ids`` when given)."""
    query = sa.select(*columns_for(Liveness, runs)).where(
        runs.c.id == run_id, within(runs.c.client_id, client_ids)
    )
    row = conn.execute(query).first()
    if row is None:
        return None
    count = conn.execute(
        sa.select(sa.func.count()).select_from(run_items).where(run_items.c.run_id == run_id)
    ).scalar_one()
    return record(Liveness, row), int(count)


class LastRunRow(NamedTuple):
    id: str
    directory_id: str
    state: str
    started_at: dt.datetime
    finished_at: dt.datetime | None
    heartbeat_at: dt.datetime | None


def _newest_run_id() -> Any:
    """The id of the newest run of the directory of the enclosing query's ``directories``
    row, read backwards along ``ix_runs_directory_started``."""
    newer = runs.alias("newer")
    return (
        sa.select(newer.c.id)
        .where(newer.c.directory_id == directories.c.id)
        .order_by(newer.c.started_at.desc())
        .limit(1)
        .scalar_subquery()
    )


def newest_per_directory(
    conn: Connection, directory_ids: Collection[str] | None = None
) -> list[LastRunRow]:
    """Each directory's newest run (of ``directory_ids`` when given; one statement: a
    directory's newest run is read backwards along ``ix_runs_directory_started``, not found
    among all the runs grouped)."""
    newest_id = _newest_run_id()
    query = sa.select(*columns_for(LastRunRow, runs)).where(
        runs.c.id.in_(
            sa.select(newest_id)
            .select_from(directories)
            .where(within(directories.c.id, directory_ids))
        )
    )
    return records(LastRunRow, conn.execute(query))


def newest_and_last_done(
    conn: Connection, directory_ids: Collection[str] | None = None
) -> dict[str, tuple[LastRunRow | None, Any]]:
    """directory id -> (its newest run or None, when its newest completed run - state done,
    not a dry run - finished or None), of ``directory_ids`` when given (None: every
    directory). One statement: per directory, its newest run's id and its last completed
    run's end read backwards along ``ix_runs_directory_started`` (each once), the newest run
    joined by id. (The two read apart, :func:`newest_per_directory` and the overview's
    last completed runs, cost two statements and looked the newest run up twice.)"""
    done = runs.alias("done")
    newest_id = _newest_run_id()
    done_at = (
        sa.select(done.c.finished_at)
        .where(
            done.c.directory_id == directories.c.id,
            done.c.state == "done",
            done.c.dry_run.is_(False),
        )
        .order_by(done.c.started_at.desc())
        .limit(1)
        .scalar_subquery()
    )
    per = (
        sa.select(directories.c.id.label("of"), newest_id.label("newest"), done_at.label("done_at"))
        .where(within(directories.c.id, directory_ids))
        .subquery()
    )
    query = sa.select(per.c.of, per.c.done_at, *columns_for(LastRunRow, runs)).select_from(
        per.outerjoin(runs, runs.c.id == per.c.newest)
    )
    return {r[0]: (None if r[2] is None else LastRunRow(*r[2:]), r[1]) for r in conn.execute(query)}


def newest_of_owners(conn: Connection, directory_id: str, owners: Collection[str]) -> list[RunRow]:
    """The newest run of each of ``owners`` (such as ``relay:NAME``) on one directory (one
    statement)."""
    if not owners:
        return []
    newest_start = (
        sa.select(runs.c.owner, sa.func.max(runs.c.started_at).label("at"))
        .where(runs.c.directory_id == directory_id, runs.c.owner.in_(sorted(owners)))
        .group_by(runs.c.owner)
        .subquery()
    )
    query = _SELECT.join(
        newest_start,
        sa.and_(
            newest_start.c.owner == runs.c.owner,
            newest_start.c.at == runs.c.started_at,
            runs.c.directory_id == directory_id,
        ),
    )
    return records(RunRow, conn.execute(query))
