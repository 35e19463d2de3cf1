"""What every request shares: the vault, the server's unlocked key ring, the sign-in limiter
and the server's settings."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from credsync.errors import Conflict, StorageError
from credsync.storage import Database
from credsync.storage.tables import sign_in_failures
from credsync.types import new_id
from credsync.vault import KeyRing, Vault
from credsync.vault._time import as_utc

__all__ = ["LoginLimiter", "ServerState"]

log = logging.getLogger("credsync.api")

Clock = Callable[[], float]


class LoginLimiter:
    """Failed sign-ins, counted per client address and per operator name over a sliding
    window: past ``limit`` failures in ``window`` seconds, sign-in is refused (429) until the
    oldest of them leaves the window.

    With ``db`` (:class:`ServerState` gives the vault's database) the failures are rows of
    ``sign_in_failures``, so every server process on the vault counts them together and a
    restart forgets none; without, they are kept in this process.

    ``clock`` gives the time in seconds. For the database it is the wall clock (``time.time``):
    ``time.monotonic`` means nothing to another process or host, while servers sharing a
    database keep their clocks in step (NTP), and a skew of a few seconds only moves the window
    by as much. In memory it is ``time.monotonic`` (immune to clock changes).

    Only failures in the window are kept, at most ``limit`` per key (more tell nothing more),
    so a flood of made-up names or addresses costs what it fails in one window, and at most
    ``max_keys`` keys (in the database: rows, a little more while processes fail at once) are
    kept against a flood (past it, the oldest failures are forgotten first)."""

    def __init__(
        self,
        limit: int = 5,
        window: float = 300.0,
        max_keys: int = 100_000,
        *,
        db: Database | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.limit, self.window, self.max_keys = limit, window, max_keys
        self._store: _Failures
        if db is None:
            self._store = _MemoryFailures(self)
            self._clock = clock or time.monotonic
        else:
            self._store = _DatabaseFailures(self, db)
            self._clock = clock or time.time

    def wait(self, *keys: str) -> int:
        """Seconds until a sign-in for ``keys`` may be tried again (0: now)."""
        now = self._clock()
        waits = [
            times[0] + self.window - now
            for times in self._store.recent(_distinct(keys), now)
            if len(times) >= self.limit
        ]
        return max(1, int(max(waits)) + 1) if waits else 0

    def failed(self, *keys: str) -> None:
        self._store.add(_distinct(keys), self._clock())

    def succeeded(self, *keys: str) -> None:
        self._store.clear(_distinct(keys))

    def __len__(self) -> int:
        """How many keys have a failure in the window now."""
        return self._store.count(self._clock())


def _distinct(keys: Sequence[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(keys))


class _Failures(Protocol):
    """Where a :class:`LoginLimiter` keeps its failures (times in seconds of its clock)."""

    def recent(self, keys: Sequence[str], now: float) -> list[Sequence[float]]:
        """For each key, its newest failures in the window (at most ``limit``), oldest first."""

    def add(self, keys: Sequence[str], now: float) -> None: ...

    def clear(self, keys: Sequence[str]) -> None: ...

    def count(self, now: float) -> int:
        """How many keys have a failure in the window."""


class _MemoryFailures:
    """In this process: a deque of times per key with a failure in the window."""

    def __init__(self, rules: LoginLimiter) -> None:
        self._rules = rules
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float] | None:
        times = self._failures.get(key)
        if times is None:
            return None
        while times and times[0] <= now - self._rules.window:
            times.popleft()
        if not times:
            del self._failures[key]
            return None
        return times

    def recent(self, keys: Sequence[str], now: float) -> list[Sequence[float]]:
        with self._lock:
            return [tuple(self._recent(key, now) or ()) for key in keys]

    def add(self, keys: Sequence[str], now: float) -> None:
        with self._lock:
            for key in keys:
                times = self._recent(key, now) or self._failures.setdefault(key, deque())
                times.append(now)
                if len(times) > self._rules.limit:
                    times.popleft()
            if len(self._failures) > self._rules.max_keys:
                self._forget(now)

    def _forget(self, now: float) -> None:
        """Drop the keys with no failure in the window; then, if still too many, those whose
        last failure is oldest."""
        for key in list(self._failures):
            self._recent(key, now)
        excess = len(self._failures) - self._rules.max_keys
        if excess > 0:
            oldest = sorted(self._failures, key=lambda k: self._failures[k][-1])[:excess]
            for key in oldest:
                del self._failures[key]

    def clear(self, keys: Sequence[str]) -> None:
        with self._lock:
            for key in keys:
                self._failures.pop(key, None)

    def count(self, now: float) -> int:
        with self._lock:
            for key in list(self._failures):
                self._recent(key, now)
            return len(self._failures)


class _DatabaseFailures:
    """In ``sign_in_failures``, shared by every process on the database.

    A failure is counted by inserts alone (one row per key, committed at once): two processes
    failing at the same moment are both counted, on SQLite (one writer at a time) as on
    PostgreSQL, with nothing read and written back. Tidying comes after, in a transaction of
    its own, and is best effort (on PostgreSQL two processes tidying the same rows may
    deadlock; what one leaves, the next does): the failing keys' rows older than the window
    and past their newest ``limit`` are deleted at each failure, and every
    ``_sweep_every`` failures of this process (and at its first, and once a window) all
    expired rows, then the oldest past ``max_keys`` rows.

    Keys are stored as their SHA-256: names typed by whoever tries, and people's addresses,
    stay out of the database; rows live for one window only."""

    def __init__(self, rules: LoginLimiter, db: Database) -> None:
        self._rules, self._db = rules, db
        self._lock = threading.Lock()
        self._added = 0  # failures since this process last swept
        self._swept_at: float | None = None

    @property
    def _sweep_every(self) -> int:
        return max(1, min(100, self._rules.max_keys // 10))

    def recent(self, keys: Sequence[str], now: float) -> list[Sequence[float]]:
        t = sign_in_failures
        since = _stamp(now - self._rules.window)
        with self._db.read() as conn:
            newest = [
                conn.execute(
                    sa.select(t.c.at)
                    .where(t.c.key_hash == _digest(key), t.c.at > since)
                    .order_by(t.c.at.desc())
                    .limit(self._rules.limit)
                )
                .scalars()
                .all()
                for key in keys
            ]
        return [[_seconds(at) for at in reversed(times)] for times in newest]

    def add(self, keys: Sequence[str], now: float) -> None:
        digests = sorted(_digest(key) for key in keys)
        if not digests:
            return
        with self._db.write() as conn:
            conn.execute(
                sign_in_failures.insert(),
                [{"id": new_id(), "key_hash": d, "at": _stamp(now)} for d in digests],
            )
        with self._lock:
            self._added += len(digests)
            sweep = (
                self._swept_at is None
                or self._added >= self._sweep_every
                or now - self._swept_at >= self._rules.window
            )
            if sweep:
                self._added, self._swept_at = 0, now
        self._tidy(lambda conn: self._trim(conn, digests, now, sweep=sweep))

    def _trim(self, conn: Connection, digests: list[str], now: float, *, sweep: bool) -> None:
        t = sign_in_failures
        expired = t.c.at <= _stamp(now - self._rules.window)
        conn.execute(t.delete().where(t.c.key_hash.in_(digests), expired))
        for d in digests:
            newest = (
                sa.select(t.c.id)
                .where(t.c.key_hash == d)
                .order_by(t.c.at.desc(), t.c.id.desc())
                .limit(self._rules.limit)
            )
            conn.execute(t.delete().where(t.c.key_hash == d, t.c.id.not_in(newest)))
        if not sweep:
            return
        conn.execute(t.delete().where(expired))
        # Room for the failures until this process sweeps again.
        keep = max(0, self._rules.max_keys - self._sweep_every)
        newest_dropped = conn.execute(
            sa.select(t.c.at).order_by(t.c.at.desc()).offset(keep).limit(1)
        ).scalar()
        if newest_dropped is not None:
            conn.execute(t.delete().where(t.c.at <= newest_dropped))

    def clear(self, keys: Sequence[str]) -> None:
        t = sign_in_failures
        digests = [_digest(key) for key in keys]
        with self._db.read() as conn:  # most sign-ins have nothing to clear: no write then
            query = sa.select(t.c.id).where(t.c.key_hash.in_(digests)).limit(1)
            counted = conn.execute(query).first() is not None
        if counted:
            self._tidy(lambda w: w.execute(t.delete().where(t.c.key_hash.in_(digests))))

    def _tidy(self, work: Callable[[Connection], object]) -> None:
        try:
            with self._db.write() as conn:
                work(conn)
        except (Conflict, StorageError) as err:  # left for the next one
            log.warning("sign-in limiter: tidying the failures left for later: %s", err)

    def count(self, now: float) -> int:
        t = sign_in_failures
        since = _stamp(now - self._rules.window)
        with self._db.read() as conn:
            query = sa.select(sa.func.count(sa.distinct(t.c.key_hash))).where(t.c.at > since)
            return int(conn.execute(query).scalar_one())


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def _stamp(seconds: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, dt.UTC)


def _seconds(at: dt.datetime) -> float:
    return as_utc(at).timestamp()


@dataclass
class ServerState:
    """``secure_cookies``: mark cookies Secure (the server is reached over HTTPS, directly or
    behind a proxy). ``limiter``: the sign-in limiter on the vault's database, shared by every
    server process on it."""

    vault: Vault
    keys: KeyRing
    secure_cookies: bool = False
    limiter: LoginLimiter = field(init=False)

    def __post_init__(self) -> None:
        self.limiter = LoginLimiter(db=self.vault.db)
