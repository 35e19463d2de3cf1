"""What the retention of runs may delete (reads of ``runs`` and ``run_items``, written by
:mod:`credsync.storage.runs`, their owner; see :mod:`credsync.sync.retention`)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from credsync.storage.tables import directories, flags, quarantine_items, run_items, runs

__all__ = ["kept_runs", "old_items", "old_runs", "prunable"]


def kept_runs() -> sa.CompoundSelect[Any]:
    """The ids of the runs the retention never deletes (nor their items): each directory's
    newest run and its newest whole run (the start an incremental run counts from), each read
    backwards along ``ix_runs_directory_started`` (not found among all the runs grouped), and
    the runs an open flag or an action held in quarantine names."""
    newer = runs.alias("newer")
    whole = sa.and_(
        newer.c.state == "done",
        newer.c.dry_run.is_(False),
        newer.c.kind.in_(("full", "incremental")),
    )
    newest = [
        sa.select(
            sa.select(newer.c.id)
            .where(newer.c.directory_id == directories.c.id, *where)
            .order_by(newer.c.started_at.desc())
            .limit(1)
            .scalar_subquery()
        ).select_from(directories)
        for where in ((), (whole,))
    ]
    return sa.union(
        *newest,
        sa.select(flags.c.run_id).where(flags.c.resolved_at.is_(None), flags.c.run_id.is_not(None)),
        sa.select(quarantine_items.c.run_id).where(quarantine_items.c.state == "held"),
    )


def old_items(conn: Connection, before: dt.datetime, limit: int) -> dict[str, list[int]]:
    """Up to ``limit`` items stored before ``before``, the oldest first, of runs the
    retention may prune (not :func:`kept_runs`): run id -> their numbers."""
    query = (
        sa.select(run_items.c.run_id, run_items.c.seq)
        .where(run_items.c.at < before, run_items.c.run_id.not_in(kept_runs()))
        .order_by(run_items.c.at)
        .limit(limit)
    )
    found: dict[str, list[int]] = {}
    for run_id, seq in conn.execute(query):
        found.setdefault(run_id, []).append(int(seq))
    return found


def old_runs(conn: Connection, before: dt.datetime, limit: int) -> list[str]:
    """Up to ``limit`` runs started before ``before``, the oldest first, ended (not
    ``running``), that the retention may delete (not :func:`kept_runs`)."""
    query = (
        sa.select(runs.c.id)
        .where(
            runs.c.started_at < before,
            runs.c.state != "running",
            runs.c.id.not_in(kept_runs()),
        )
        .order_by(runs.c.started_at)
        .limit(limit)
    )
    return [str(r) for r in conn.execute(query).scalars()]


def prunable(
    conn: Connection, items_before: dt.datetime, runs_before: dt.datetime
) -> tuple[int, int]:
    """What a prune would delete (a dry run): items (those stored before ``items_before``, and
    those of the runs that go) and runs (:func:`old_runs`, all of them)."""
    kept = kept_runs()
    old = sa.select(runs.c.id).where(
        runs.c.started_at < runs_before, runs.c.state != "running", runs.c.id.not_in(kept)
    )
    items = (
        sa.select(sa.func.count())
        .select_from(run_items)
        .where(
            run_items.c.run_id.not_in(kept),
            sa.or_(run_items.c.at < items_before, run_items.c.run_id.in_(old)),
        )
    )
    gone = sa.select(sa.func.count()).select_from(old.subquery())
    return int(conn.execute(items).scalar_one()), int(conn.execute(gone).scalar_one())
