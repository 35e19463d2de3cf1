"""The retention of runs (issue 20): a run's per-object report (its ``run_items``) is kept
``items_days`` (90 by default), the run itself (its row: the summary with its counts) kept
``runs_days`` (400 by default), then deleted with any items it still has
(:class:`credsync.config.Retention`, from ``CREDSYNC_RUN_ITEMS_DAYS`` and
``CREDSYNC_RUNS_DAYS``).

Never deleted, whatever their age (:func:`credsync.storage.run_retention.kept_runs`): each
directory's newest run and its newest whole run (the start an incremental run counts its
changes from), runs still ``running``, and runs an open flag or an action held in
quarantine names, with their items. The audit log is not pruned: it is the security record.

The prune deletes in batches (:data:`BATCH` items or runs), each in a write transaction of
its own, so that it never holds SQLite's single writer lock long (a run's chunk waits for one
batch at most). It writes one ``runs.pruned`` audit entry with the counts when it deleted
something, or when an operator asked for it; a dry run counts what would go and deletes and
audits nothing. It also folds the links' and credentials' kept counts (the rows their
triggers added since, into a row a directory and status, a row a client and kind:
:func:`credsync.storage.link_counts.fold`, :func:`credsync.storage.credential_counts.fold`).
Who runs it: the agent, at most once an hour (:class:`HourlyPrune`), and ``credsync runs prune`` (an
operator with ``admin`` reaching every client; the API's ``POST /runs/prune`` asks the same).
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from typing_extensions import TypedDict

from credsync.config import Retention
from credsync.errors import CredsyncError
from credsync.storage import Database, credential_counts, link_counts, run_retention
from credsync.storage import runs as run_rows
from credsync.vault._time import utcnow
from credsync.vault.audit import AuditLog
from credsync.vault.auth import Actor, Permission
from credsync.vault.clients import require_all_clients

__all__ = ["BATCH", "EVERY", "HourlyPrune", "PruneJson", "prune", "prune_for"]

BATCH = 2000  # items (or runs) deleted in one write transaction
EVERY = dt.timedelta(hours=1)  # the agent prunes at most this often
log = logging.getLogger(__name__)


class PruneJson(TypedDict):
    """What a prune deleted (a dry run: would delete): ``run_items`` older than
    ``items_before``, ``runs`` started before ``runs_before``."""

    dry_run: bool
    run_items: int
    runs: int
    items_days: int
    runs_days: int
    items_before: str
    runs_before: str


def prune(
    db: Database,
    audit: AuditLog,
    actor: Actor,
    retention: Retention,
    now: dt.datetime,
    *,
    dry_run: bool = False,
    asked: bool = False,
    batch: int = BATCH,
) -> PruneJson:
    """Delete what ``retention`` no longer keeps at ``now`` (see the module's docstring), a
    batch per transaction; ``asked``: an operator asked (the audit entry is written even when
    nothing went)."""
    items_before = now - dt.timedelta(days=retention.items_days)
    runs_before = now - dt.timedelta(days=retention.runs_days)
    if dry_run:
        with db.read() as conn:
            items, gone = run_retention.prunable(conn, items_before, runs_before)
    else:
        items = gone = 0
        while True:
            with db.write() as conn:
                found = run_retention.old_items(conn, items_before, batch)
                items += run_rows.prune_items(conn, found, now)
            if sum(len(s) for s in found.values()) < batch:
                break
        while True:
            with db.write() as conn:
                ids = run_retention.old_runs(conn, runs_before, batch)
                runs_gone, items_gone = run_rows.prune_runs(conn, ids)
            gone, items = gone + runs_gone, items + items_gone
            if len(ids) < batch:
                break
        with db.write() as conn:  # the kept counts, a row a directory and status again
            link_counts.fold(conn)
            credential_counts.fold(conn)  # and a row a client and kind
    done = PruneJson(
        dry_run=dry_run,
        run_items=items,
        runs=gone,
        items_days=retention.items_days,
        runs_days=retention.runs_days,
        items_before=items_before.isoformat(),
        runs_before=runs_before.isoformat(),
    )
    if not dry_run and (asked or items or gone):
        with db.write() as conn:
            audit.append(
                conn, actor, "runs.pruned", target_type="vault", target_id="runs",
                details=dict(done),
            )  # fmt: skip
        log.info("retention: %d run items and %d runs deleted", items, gone)
    return done


def prune_for(
    db: Database,
    audit: AuditLog,
    actor: Actor,
    retention: Retention,
    now: dt.datetime | None = None,
    *,
    dry_run: bool,
) -> PruneJson:
    """:func:`prune` as an operator asks for it (``admin``, reaching every client), at ``now``
    (None: the present)."""
    actor.require(Permission.ADMIN)
    require_all_clients(actor, "pruning runs")
    at = now or utcnow()
    return prune(db, audit, actor, retention, at, dry_run=dry_run, asked=True)


@dataclass
class HourlyPrune:
    """The agent's prune: due at its first round, then :data:`EVERY` by the agent's clock; a
    failure is logged (and tried again an hour later)."""

    retention: Retention
    last: dt.datetime | None = None

    def take(self, now: dt.datetime) -> bool:
        """Whether a prune is due at ``now`` (then it counts as made at ``now``)."""
        if self.last is not None and now - self.last < EVERY:
            return False
        self.last = now
        return True

    def run(
        self, db: Database, audit: AuditLog, actor: Actor, now: dt.datetime
    ) -> PruneJson | None:
        try:
            return prune(db, audit, actor, self.retention, now)
        except CredsyncError as exc:
            log.warning("the retention's prune failed (tried again in an hour): %s", exc)
            return None
