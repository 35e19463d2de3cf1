"""An agent's dealings with the push queue's rows (:mod:`credsync.storage.push_queue`): what it
claims, the renewal of its claims while it works on them, and what becomes of each row (done,
back to the queue for a while, retried after a backoff, given up), each in a write transaction
of its own. See :mod:`credsync.agent.loop` for when; docs/scale-out.md for the lease lengths."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

from credsync.storage import push_queue
from credsync.storage.database import Database
from credsync.vault.audit import AuditLog
from credsync.vault.auth import Actor
from credsync.vault.pushes import record_given_up

__all__ = [
    "BUSY_RETRY",
    "CLAIM_BATCH",
    "LEASE",
    "PARALLEL_DIRECTORIES",
    "RENEW_SECONDS",
    "Claimed",
    "QueueRows",
]

# How long a claim on queued pushes holds, renewed every RENEW_SECONDS while its rows are
# worked on: a killed agent's claims are free for others this soon (docs/scale-out.md).
LEASE = dt.timedelta(seconds=30)
RENEW_SECONDS = 10.0
PARALLEL_DIRECTORIES = 4  # directories one agent claims pushes of, and pushes to, at once
CLAIM_BATCH = 200  # queued pushes claimed at once, of each directory
BUSY_RETRY = 2.0  # seconds before queued pushes for a directory busy elsewhere are tried again

Claimed = dict[str, list[tuple[int, str]]]  # directory id -> [(row id, credential id)]


class QueueRows:
    def __init__(
        self, db: Database, audit: AuditLog, actor: Actor, clock: Callable[[], dt.datetime]
    ) -> None:
        self._db = db
        self._audit = audit
        self._actor = actor
        self._clock = clock

    def claim(self, owner: str, skip: Sequence[str], only: Sequence[str] | None) -> Claimed:
        """Due rows claimed for ``owner`` (none of ``skip``; with ``only``, none of another),
        up to CLAIM_BATCH of each of up to PARALLEL_DIRECTORIES directories, for LEASE."""
        with self._db.write() as conn:
            rows = push_queue.claim(
                conn,
                owner=owner,
                now=self._clock(),
                lease=LEASE,
                limit=CLAIM_BATCH,
                directories=PARALLEL_DIRECTORIES,
                skip_directories=skip,
                only_directories=only,
            )
        claimed: Claimed = {}
        for row in rows:
            claimed.setdefault(row.directory_id, []).append((row.id, row.credential_id))
        return claimed

    def renew(self, owner: str, ids: list[int]) -> None:
        with self._db.write() as conn:
            push_queue.renew(conn, owner, ids, self._clock() + LEASE)

    def later(self, ids: list[int]) -> None:
        """Back to the queue, due in BUSY_RETRY seconds, no attempt counted (the directory
        was busy with a run elsewhere)."""
        with self._db.write() as conn:
            push_queue.release(conn, ids, self._clock() + dt.timedelta(seconds=BUSY_RETRY))

    def done(self, ids: list[int]) -> None:
        with self._db.write() as conn:
            push_queue.ack(conn, ids)

    def retry(self, ids: list[int], error: str, wait: float | None = None) -> None:
        """A failed attempt: tried again after a backoff (``wait``: not before these seconds,
        the directory's Retry-After), or given up after too many."""
        with self._db.write() as conn:
            given_up = push_queue.retry_later(conn, ids, error, self._clock(), wait=wait)
            record_given_up(conn, self._audit, self._actor, given_up)

    def give_up(self, ids: list[int], reason: str) -> None:
        with self._db.write() as conn:
            given_up = push_queue.give_up(conn, ids, reason, self._clock())
            record_given_up(conn, self._audit, self._actor, given_up)
