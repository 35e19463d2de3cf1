"""A run's lease on its directory: one run at a time per directory, across every process on
the database (the agent, the CLI, API and dashboard runs, several servers).

- **Taking it.** A run that acts (not a dry run) holds the lease while its row is
  ``running`` and its heartbeat is fresh. :func:`take` looks for such a holder and the run
  recorder inserts the new run in the same write transaction, with the directory's row locked
  (``SELECT ... FOR NO KEY UPDATE`` on PostgreSQL; on SQLite every write transaction begins with
  ``BEGIN IMMEDIATE``, one writer at a time): of two processes starting at the same moment,
  one wins and the other is refused with :class:`~credsync.errors.RunInProgress`.
- **Keeping it.** The run recorder writes the run's ``heartbeat_at`` when the run starts, with
  every chunk it stores, and every :data:`HEARTBEAT_SECONDS` in between (:class:`Heartbeat`, a task
  beside the run that also covers long directory reads). A run that finds its row no longer
  ``running`` (it was swept while the process stalled) has lost the lease: it stops at the
  next chunk, as ``aborted``.
- **Abandoned runs.** A ``running`` run with no sign of life for :data:`STALE_AFTER` was left
  by a process that stopped (killed, a crash, power lost). :func:`sweep` marks it ``aborted``
  ("abandoned: ...") and audits that (run id, kind, counts: nothing secret); the next run
  start on its directory does, and so do the agent and the server when they start and every
  :data:`SWEEP_SECONDS`. Until then whatever reads it shows it as aborted
  (:func:`abandoned`), so nothing waits on it.
- **Dry runs** (plans) write nothing to links, flags or the cursor: they neither take the
  lease nor wait for it, so a plan can be looked at while a run is under way. They beat like
  any run, so a plan whose process stopped is swept too.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import os
import socket
from collections.abc import Callable
from typing import Any

from sqlalchemy.engine import Connection

from credsync.errors import CredsyncError, RunInProgress
from credsync.storage import directories as directory_rows
from credsync.storage import runs as run_rows
from credsync.storage.database import Database
from credsync.vault._time import as_utc
from credsync.vault.audit import AuditLog
from credsync.vault.auth import SYSTEM, Actor

__all__ = [
    "HEARTBEAT_SECONDS",
    "STALE_AFTER",
    "SWEEP_SECONDS",
    "Heartbeat",
    "LeaseLost",
    "abandoned",
    "abandoned_message",
    "audit_run",
    "beat",
    "last_sign_of_life",
    "lock_directory",
    "owner",
    "sweep",
    "sweep_abandoned",
    "take",
]

log = logging.getLogger("credsync.sync")

# A run under way writes its heartbeat at least every HEARTBEAT_SECONDS; one silent for
# STALE_AFTER (six missed beats) was abandoned, and the agent (or a server without one) sweeps
# such runs every SWEEP_SECONDS. Together they bound how long a killed process's directory
# stays held: STALE_AFTER + SWEEP_SECONDS (docs/scale-out.md).
HEARTBEAT_SECONDS = 10.0
STALE_AFTER = dt.timedelta(seconds=60)
SWEEP_SECONDS = 10.0


def owner() -> str:
    """This process, as a run's ``owner`` shows it: host:pid."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _when(value: dt.datetime) -> str:
    return as_utc(value).strftime("%Y-%m-%d %H:%M:%S UTC")


def last_sign_of_life(row: Any) -> dt.datetime:
    """When the run (a ``runs`` row) last showed it was working."""
    return as_utc(row.heartbeat_at or row.started_at)


def abandoned(row: Any, now: dt.datetime) -> bool:
    """A ``running`` run whose process stopped: no sign of life for :data:`STALE_AFTER`, or
    one dated more than that ahead of ``now`` (left by a process whose clock ran ahead, it
    would otherwise hold the lease for as long as its clock was ahead; servers sharing a
    database keep their clocks in step, NTP)."""
    if row.state != "running":
        return False
    silent = now - last_sign_of_life(row)
    return bool(silent > STALE_AFTER or -silent > STALE_AFTER)


def abandoned_message(row: Any) -> str:
    return (
        f"abandoned: no sign of life since {_when(last_sign_of_life(row))} "
        "(the process running it stopped)"
    )


def lock_directory(conn: Connection, directory_id: str) -> None:
    """The directory's row, locked for the transaction (PostgreSQL; SQLite's write
    transactions are one at a time already). Taken first by a run's start and by its end,
    so that the two never wait on each other's locks in opposite orders."""
    directory_rows.lock(conn, directory_id)


def take(
    conn: Connection, audit: AuditLog, directory: Any, now: dt.datetime, *, dry_run: bool
) -> None:
    """Before a run of ``directory`` is inserted, in the caller's write transaction: sweep its
    abandoned runs, and (unless ``dry_run``) refuse if another run holds the lease."""
    lock_directory(conn, directory.id)
    under_way = run_rows.running(conn, directory.id)
    sweep(conn, audit, [r for r in under_way if abandoned(r, now)])
    holders = [r for r in under_way if not abandoned(r, now) and not r.dry_run]
    if dry_run or not holders:
        return
    held = holders[0]
    raise RunInProgress(
        f"directory {directory.name!r} has a run under way: run {held.id[:8]} ({held.kind}, "
        f"trigger {held.trigger}, started by {held.actor} at {_when(held.started_at)} on "
        f"{held.owner or 'an older credsync'}); try again when it has ended"
    )


def sweep(conn: Connection, audit: AuditLog, rows: list[run_rows.RunRow]) -> int:
    """Mark these abandoned runs ``aborted`` (each still ``running`` and silent, checked
    again in the update: two sweepers at once mark and audit a run once); how many."""
    swept = 0
    for row in rows:
        message = abandoned_message(row)
        summary = run_rows.item_counts(conn, row.id)  # what it stored before it stopped
        if not run_rows.mark_abandoned(
            conn,
            row,
            message=message,
            summary=json.dumps(summary, sort_keys=True),
            finished_at=last_sign_of_life(row),
        ):
            continue  # it showed a sign of life meanwhile, or another sweeper got it
        swept += 1
        log.info("run %s on directory %s: %s", row.id, row.directory_id, message)
        if not row.dry_run:  # as the recorder audits a run's end (dry runs are not audited)
            details: dict[str, Any] = {"run_id": row.id, "kind": row.kind, "state": "aborted"}
            details |= {"message": message, "summary": summary}
            audit_run(conn, audit, SYSTEM, (row.directory_id, row.client_id), details)
    return swept


def audit_run(
    conn: Connection,
    audit: AuditLog,
    actor: Actor,
    where: tuple[str, str],
    details: dict[str, Any],
) -> None:
    """A run's end in the audit log (``sync.run``, on its directory), as the recorder writes
    it and the sweep does for an abandoned run: ``where`` is the (directory id, client id);
    ``details`` the run's id, kind, state and counts (and why, when it was swept)."""
    directory_id, client_id = where
    audit.append(
        conn,
        actor,
        "sync.run",
        target_type="directory",
        target_id=directory_id,
        client_id=client_id,
        details=details,
    )


def sweep_abandoned(db: Database, audit: AuditLog, now: dt.datetime) -> int:
    """Sweep every directory's abandoned runs: one read, and a write only when there are
    some (the agent and the server call this when they start and every SWEEP_SECONDS)."""
    with db.read() as conn:
        found = [r for r in run_rows.running(conn) if abandoned(r, now)]
    if not found:
        return 0
    with db.write() as conn:
        return sweep(conn, audit, found)


class LeaseLost(Exception):
    """The run's row was swept as abandoned while it worked (its process stalled for longer
    than STALE_AFTER): the run stops at the next chunk (the engine ends it as aborted)."""

    def __init__(self) -> None:
        super().__init__(
            "stopped: the run lost its lease on the directory (it showed no sign of life for "
            "too long and was taken for abandoned)"
        )


def beat(conn: Connection, run_id: str, now: dt.datetime) -> bool:
    """The run's sign of life; False when its row is no longer ``running`` (swept: the lease
    is lost)."""
    return run_rows.beat(conn, run_id, now)


class Heartbeat:
    """Keeps a run's lease fresh while it works: every ``every`` seconds in a task of the
    run's event loop, and with each chunk the recorder stores (:meth:`touch`, in that
    transaction). ``lost`` turns true when the row was found swept; :meth:`check` then
    stops a run that holds the lease (a dry run goes on: it holds none)."""

    def __init__(
        self,
        db: Database,
        run_id: str,
        clock: Callable[[], dt.datetime],
        every: float,
        *,
        holds_lease: bool,
    ) -> None:
        self.run_id = run_id
        self.lost = False
        self._holds_lease = holds_lease
        self._db = db
        self._clock = clock
        self._every = every
        self._task: asyncio.Task[None] | None = None

    def touch(self, conn: Connection) -> None:
        if not beat(conn, self.run_id, self._clock()):
            self.lost = True

    def check(self) -> None:
        if self.lost and self._holds_lease:
            raise LeaseLost

    def renew(self) -> None:
        """A heartbeat now, and :meth:`check` (before a run starts to act)."""
        if self._holds_lease:
            self._beat()
            self.check()

    def _beat(self) -> None:
        with self._db.write() as conn:
            self.touch(conn)

    async def _loop(self) -> None:
        while not self.lost:
            await asyncio.sleep(self._every)
            try:
                await asyncio.to_thread(self._beat)
            except CredsyncError as exc:  # the database away for a moment: try again later
                log.warning("run %s: its heartbeat was not stored: %s", self.run_id, exc)

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name=f"credsync-heartbeat-{self.run_id}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.wait([self._task])
