"""The push queue (``sync_queue``): pushes of a changed secret waiting for the agent, kept in
the database so that a restart loses nothing. The only code that touches the table.

A row is one credential's secret version for one directory, delivered at least once:

- :func:`enqueue`: in the transaction that changed the secret. A push of the same credential
  to the same directory that was given up is replaced: the newer change is tried afresh. The
  agents are told once the transaction commits (:mod:`credsync.storage.queue_signal`: in this
  process, and on PostgreSQL through ``NOTIFY`` in every process), so they push at once
  rather than at their next poll.
- :func:`claim`: due rows, not given up, not held by a live claim, are claimed for ``lease``
  (``SELECT ... FOR UPDATE SKIP LOCKED`` on PostgreSQL, so agents sharing a database take
  different rows; on SQLite the write transaction is the lock). Rows of a directory that
  another holder has live claims in are left to it: one run at a time acts on a directory,
  so a second agent's claims there would only wait for the first one's run. A claim whose
  holder stopped expires, and the row is claimed again.
- :func:`renew`: the holder extends its live claims while it works on them (a claim lasts
  a short lease, so that a stopped holder's rows are taken over soon).
- :func:`ack`: done (pushed, or nothing left to push): the row goes.
- :func:`release`: back to the queue unclaimed, due at a given time, nothing counted (the
  directory was busy with a run elsewhere).
- :func:`retry_later`: a failed attempt, counted: due again after a backoff of 2^attempts
  seconds, at most :data:`MAX_DELAY`. The :data:`GIVE_UP_AFTER`-th failure (about a day of
  trying) gives up instead.
- :func:`give_up`: the dead letter. The row stays, never claimed again, with when and why
  (``dead_at``, ``dead_reason``), until a newer change of the secret replaces it, a run finds
  the credential in step with the directory (:func:`settle`), or the credential or the
  directory goes.

What is audited, and which failures are given up at once, is for the callers to decide.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from credsync.storage import queue_signal
from credsync.storage._rows import columns_for, records
from credsync.storage.tables import directories, sync_queue

__all__ = [
    "GIVE_UP_AFTER",
    "MAX_DELAY",
    "Backlog",
    "Claimed",
    "GivenUp",
    "QueuedRow",
    "ack",
    "backlog",
    "claim",
    "delay_after",
    "enqueue",
    "forget_credential",
    "forget_directory",
    "give_up",
    "given_up_credentials",
    "of_credential",
    "release",
    "renew",
    "retry_later",
    "settle",
]

MAX_DELAY = 3600.0  # seconds: the longest wait between two attempts
GIVE_UP_AFTER = 36  # failed attempts (12 backing off to an hour, then hourly: about a day)
_IN_LIST = 500
_TEXT = 2000  # characters kept of an error

_T = sync_queue


def enqueue(
    conn: Connection,
    credential_id: str,
    directory_ids: Sequence[str],
    secret_version: int,
    now: dt.datetime,
) -> None:
    """Queue a push of ``secret_version`` to each directory, due now; a given-up push of the
    credential to one of them is replaced."""
    if not directory_ids:
        return
    conn.execute(
        _T.delete().where(
            _T.c.credential_id == credential_id,
            _T.c.directory_id.in_(list(directory_ids)),
            _T.c.dead_at.is_not(None),
        )
    )
    for directory_id in directory_ids:
        conn.execute(
            _T.insert().values(
                credential_id=credential_id,
                directory_id=directory_id,
                secret_version=secret_version,
                enqueued_at=now,
                not_before=now,
                attempts=0,
            )
        )
    queue_signal.queued(conn)  # agents told once this commits


class Claimed(NamedTuple):
    id: int
    directory_id: str
    credential_id: str


def claim(
    conn: Connection,
    *,
    owner: str,
    now: dt.datetime,
    lease: dt.timedelta,
    limit: int,
    directories: int | None = None,
    skip_directories: Collection[str] = (),
    only_directories: Collection[str] | None = None,
) -> list[Claimed]:
    """Due rows claimed for ``owner`` until ``now + lease``, the oldest first: up to ``limit``
    rows; with ``directories``, up to ``limit`` rows of each of that many directories (those
    with the oldest due rows), so that one holder works on several directories at once. None
    of ``skip_directories``, none of a directory another holder has live claims in; with
    ``only_directories``, none of another."""
    held = _T.alias("held")
    held_elsewhere = sa.select(held.c.directory_id).where(
        held.c.claimed_until >= now, held.c.claimed_by != owner
    )
    due = [
        _T.c.dead_at.is_(None),
        _T.c.not_before <= now,
        sa.or_(_T.c.claimed_until.is_(None), _T.c.claimed_until < now),
        _T.c.directory_id.not_in(list(skip_directories)),
        _T.c.directory_id.not_in(held_elsewhere),
    ]
    if only_directories is not None:
        due.append(_T.c.directory_id.in_(list(only_directories)))
    if directories is None:
        claimed = _lock_due(conn, due, limit)
    else:
        oldest = (
            sa.select(_T.c.directory_id)
            .where(*due)
            .group_by(_T.c.directory_id)
            .order_by(sa.func.min(_T.c.id))
            .limit(directories)
        )
        claimed = []
        for directory_id in conn.execute(oldest).scalars().all():
            claimed += _lock_due(conn, [*due, _T.c.directory_id == directory_id], limit)
    if claimed:
        conn.execute(
            _T.update()
            .where(_T.c.id.in_([c.id for c in claimed]))
            .values(claimed_by=owner, claimed_until=now + lease)
        )
    return claimed


def _lock_due(conn: Connection, due: list[Any], limit: int) -> list[Claimed]:
    """Up to ``limit`` rows meeting ``due``, the oldest first, locked (``FOR UPDATE SKIP
    LOCKED`` on PostgreSQL: rows another transaction is claiming are passed over)."""
    query = sa.select(*columns_for(Claimed, _T)).where(*due).order_by(_T.c.id).limit(limit)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return records(Claimed, conn.execute(query))


def renew(conn: Connection, owner: str, ids: Sequence[int], until: dt.datetime) -> int:
    """``owner``'s live claims among ``ids`` extended to ``until``; how many (a row acked,
    released or claimed by another since is left as it is)."""
    renewed = 0
    for start in range(0, len(ids), _IN_LIST):
        renewed += conn.execute(
            _T.update()
            .where(_T.c.id.in_(list(ids[start : start + _IN_LIST])), _T.c.claimed_by == owner)
            .values(claimed_until=until)
        ).rowcount
    return renewed


def ack(conn: Connection, ids: Sequence[int]) -> None:
    """Done with these rows: they go."""
    conn.execute(_T.delete().where(_T.c.id.in_(list(ids))))


def release(conn: Connection, ids: Sequence[int], not_before: dt.datetime) -> None:
    """Back to the queue, unclaimed, due at ``not_before``; the attempt is not counted."""
    conn.execute(
        _T.update()
        .where(_T.c.id.in_(list(ids)))
        .values(not_before=not_before, claimed_by=None, claimed_until=None)
    )


class GivenUp(NamedTuple):
    """A push given up, with what the audit and the log say of it."""

    id: int
    credential_id: str
    directory_id: str
    directory_name: str
    client_id: str
    secret_version: int
    attempts: int
    dead_reason: str


_GIVEN_UP = sa.select(
    *columns_for(GivenUp, _T, directories, directory_name=directories.c.name)
).join(directories, directories.c.id == _T.c.directory_id)


def delay_after(attempts: int) -> float:
    """Seconds to wait after the ``attempts``-th failure (counted from 0 for the first)."""
    return min(MAX_DELAY, 2.0 ** min(attempts, 12))


def retry_later(
    conn: Connection,
    ids: Sequence[int],
    error: str,
    now: dt.datetime,
    *,
    wait: float | None = None,
) -> list[GivenUp]:
    """A failed attempt of each row (``error``: why): due again after the backoff, and not
    before ``wait`` seconds, up to MAX_DELAY (a 429's Retry-After), or given up at
    its :data:`GIVE_UP_AFTER`-th failure. Returns the rows given up."""
    failing: list[int] = []
    rows = conn.execute(sa.select(_T.c.id, _T.c.attempts).where(_T.c.id.in_(list(ids)))).all()
    for row in rows:
        values = {
            "attempts": row.attempts + 1,
            "last_error": error[:_TEXT],
            "claimed_by": None,
            "claimed_until": None,
        }
        if row.attempts + 1 >= GIVE_UP_AFTER:
            failing.append(row.id)
        else:
            delay = max(delay_after(row.attempts), min(wait or 0.0, MAX_DELAY))
            values["not_before"] = now + dt.timedelta(seconds=delay)
        conn.execute(_T.update().where(_T.c.id == row.id).values(**values))
    if not failing:
        return []
    return give_up(conn, failing, f"given up after {GIVE_UP_AFTER} failed attempts: {error}", now)


def give_up(conn: Connection, ids: Sequence[int], reason: str, now: dt.datetime) -> list[GivenUp]:
    """The dead letter: these rows (those not given up already) are kept but never claimed
    again, with ``now`` and ``reason``. Returns them."""
    ids = list(ids)
    newly = _T.c.id.in_(ids) & _T.c.dead_at.is_(None)
    found = records(GivenUp, conn.execute(_GIVEN_UP.where(newly)))
    if found:
        conn.execute(
            _T.update()
            .where(_T.c.id.in_([g.id for g in found]))
            .values(
                dead_at=now,
                dead_reason=reason[:_TEXT],
                last_error=sa.func.coalesce(_T.c.last_error, reason[:_TEXT]),
                claimed_by=None,
                claimed_until=None,
            )
        )
    return [g._replace(dead_reason=reason[:_TEXT]) for g in found]


def given_up_credentials(conn: Connection, directory_id: str) -> set[str]:
    """The credentials with a given-up push to the directory."""
    query = sa.select(_T.c.credential_id).where(
        _T.c.directory_id == directory_id, _T.c.dead_at.is_not(None)
    )
    return set(conn.execute(query).scalars())


def settle(conn: Connection, directory_id: str, credential_ids: Sequence[str]) -> None:
    """Given-up pushes of these credentials to the directory are moot (a run found them in
    step): they go."""
    for start in range(0, len(credential_ids), _IN_LIST):
        conn.execute(
            _T.delete().where(
                _T.c.directory_id == directory_id,
                _T.c.dead_at.is_not(None),
                _T.c.credential_id.in_(list(credential_ids[start : start + _IN_LIST])),
            )
        )


class QueuedRow(NamedTuple):
    directory_name: str
    attempts: int
    last_error: str | None
    dead_at: dt.datetime | None
    dead_reason: str | None


def of_credential(conn: Connection, credential_id: str) -> list[QueuedRow]:
    """The credential's pushes still queued or given up, the oldest first."""
    query = (
        sa.select(*columns_for(QueuedRow, _T, directory_name=directories.c.name))
        .join(directories, directories.c.id == _T.c.directory_id)
        .where(_T.c.credential_id == credential_id)
        .order_by(_T.c.id)
    )
    return records(QueuedRow, conn.execute(query))


def forget_credential(conn: Connection, credential_id: str) -> None:
    conn.execute(_T.delete().where(_T.c.credential_id == credential_id))


def forget_directory(conn: Connection, directory_id: str) -> None:
    conn.execute(_T.delete().where(_T.c.directory_id == directory_id))


class Backlog(NamedTuple):
    """The queue at a glance: the ids of rows waiting (not given up), how many were given
    up, and the ids of rows under a live claim by each holder (host:pid)."""

    waiting: frozenset[int]
    given_up: int
    claimed: dict[str, list[int]]


def backlog(conn: Connection, now: dt.datetime) -> Backlog:
    rows = conn.execute(sa.select(_T.c.id, _T.c.dead_at, _T.c.claimed_by, _T.c.claimed_until))
    waiting: set[int] = set()
    given_up = 0
    claimed: dict[str, list[int]] = {}
    for row in rows:
        if row.dead_at is not None:
            given_up += 1
            continue
        waiting.add(row.id)
        until = row.claimed_until
        if until is not None and until.tzinfo is None:
            until = until.replace(tzinfo=dt.UTC)
        if row.claimed_by and until is not None and until >= now:
            claimed.setdefault(row.claimed_by, []).append(row.id)
    return Backlog(frozenset(waiting), given_up, claimed)
