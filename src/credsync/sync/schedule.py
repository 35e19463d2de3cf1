"""When a directory's next periodic run is due: on the directory's own point of its interval.

An agent that starts, or a vault that gains many directories at once, finds them all due
together. Were each next run set to "now + interval" (plus a few seconds of jitter), the
herd would stay together for hours: 500 directories run in the same few seconds of every
minute, and a push to one of them waits behind its directory's run while the others crowd the
database. So each directory runs on a grid of its own instead, as monitoring systems spread
their scrapes: the times ``phase + k * interval``, where ``phase`` is a fixed share of the
interval drawn from the directory's id (uniform across directories, stable across restarts
and agents). After a run the next is the first point of that grid at least half an interval
away, plus the directory's ``jitter`` drawn afresh; so from its second run on a directory runs
every ``interval``, and many directories spread evenly over it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random

from credsync.errors import NotFound
from credsync.storage import directories as directory_rows
from credsync.storage.database import Database
from credsync.vault.auth import SYSTEM
from credsync.vault.directories import directory_model, find_directory_row

__all__ = ["MAX_BACKOFF", "next_run", "phase_of", "schedule_after_run"]

MAX_BACKOFF = 3600.0  # seconds: the longest wait between periodic runs of a failing directory

_EPOCH = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)


def phase_of(directory_id: str) -> float:
    """The directory's fixed share of its interval, in [0, 1)."""
    digest = hashlib.sha256(directory_id.encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64


def next_run(now: dt.datetime, interval: float, directory_id: str, jitter: float) -> dt.datetime:
    """The first point ``phase + k * interval`` at least ``interval / 2`` after ``now``, plus
    ``jitter`` seconds (the caller's draw: 0 to the directory's ``jitter`` option)."""
    if interval <= 0:
        return now + dt.timedelta(seconds=jitter)
    earliest = (now - _EPOCH).total_seconds() + interval / 2
    phase = phase_of(directory_id) * interval
    steps = -(-(earliest - phase) // interval)  # ceil
    at = phase + steps * interval
    return _EPOCH + dt.timedelta(seconds=at + jitter)


def schedule_after_run(
    db: Database,
    directory_id: str,
    now: dt.datetime,
    rng: random.Random,
    *,
    retry_after: float | None = None,
) -> None:
    """Set the directory's next periodic run after one ended at ``now``: on its grid
    (:func:`next_run`), or, while its runs fail, after a backoff doubling from the interval up
    to :data:`MAX_BACKOFF`, and never before the failure's ``retry_after`` seconds (the
    directory's own word: a throttled tenant's Retry-After), up to :data:`MAX_BACKOFF` too."""
    with db.write() as conn:
        try:
            directory = directory_model(find_directory_row(conn, directory_id, SYSTEM))
        except NotFound:  # removed meanwhile
            return
        interval = float(directory.option("interval"))
        if directory.failures:
            backoff = interval * 2.0 ** min(directory.failures - 1, 10)
            delay = min(MAX_BACKOFF, max(backoff, retry_after or 0.0))
            at = now + dt.timedelta(seconds=delay)
        else:
            at = next_run(now, interval, directory_id, rng.uniform(0, directory.option("jitter")))
        directory_rows.schedule(conn, directory_id, at)
