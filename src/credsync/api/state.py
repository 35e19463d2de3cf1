"""What every request shares: the vault, the server's unlocked key ring, the sign-in limiter
and the server's settings."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sqlalchemy.engine import Connection

from credsync.errors import Conflict, StorageError
from credsync.storage import Database
from credsync.storage import sign_in_failures as failures
from credsync.vault import KeyRing, Vault
from credsync.vault._time import as_utc

__all__ = ["LoginLimiter", "ServerState"]

log = logging.getLogger("credsync.api")

Clock = Callable[[], float]


class LoginLimiter:
    """Failed sign-ins, counted per client address and per operator name over a sliding
    window: past ``limit`` failures in ``window`` seconds, sign-in is refused (429) until the
    oldest of them leaves the window.

    The failures are rows of ``sign_in_failures`` in the vault's database, so every server
    process on the vault counts them together and a restart forgets none. ``clock`` gives the
    time in seconds: the wall clock (``time.time``), as ``time.monotonic`` means nothing to
    another process or host; servers sharing a database keep their clocks in step (NTP), and
    a skew of a few seconds only moves the window by as much.

    A failure is counted by inserts alone (one row per key, committed at once): two processes
    failing at the same moment are both counted, on SQLite (one writer at a time) as on
    PostgreSQL, with nothing read and written back. Tidying comes after, in a transaction of
    its own, and is best effort (on PostgreSQL two processes tidying the same rows may
    deadlock; what one leaves, the next does): the failing keys' rows older than the window
    and past their newest ``limit`` (more tell nothing more) are deleted at each failure, and
    every ``_sweep_every`` failures of this process (and at its first, and once a window) all
    expired rows, then the oldest past ``max_keys`` rows (a little more while processes fail
    at once): a flood of made-up names or addresses costs what it fails in one window, and
    past ``max_keys`` the oldest failures are forgotten first.

    Keys are stored as their SHA-256: names typed by whoever tries, and people's addresses,
    stay out of the database; rows live for one window only."""

    def __init__(
        self,
        limit: int = 5,
        window: float = 300.0,
        max_keys: int = 100_000,
        *,
        db: Database,
        clock: Clock = time.time,
    ) -> None:
        self.limit, self.window, self.max_keys = limit, window, max_keys
        self._db, self._clock = db, clock
        self._lock = threading.Lock()
        self._added = 0  # failures since this process last swept
        self._swept_at: float | None = None

    def wait(self, *keys: str) -> int:
        """Seconds until a sign-in for ``keys`` may be tried again (0: now)."""
        now = self._clock()
        waits = [
            times[0] + self.window - now
            for times in self._recent(_distinct(keys), now)
            if len(times) >= self.limit
        ]
        return max(1, int(max(waits)) + 1) if waits else 0

    def failed(self, *keys: str) -> None:
        now = self._clock()
        digests = sorted(_digest(key) for key in _distinct(keys))
        if not digests:
            return
        with self._db.write() as conn:
            failures.add(conn, digests, _stamp(now))
        with self._lock:
            self._added += len(digests)
            sweep = (
                self._swept_at is None
                or self._added >= self._sweep_every
                or now - self._swept_at >= self.window
            )
            if sweep:
                self._added, self._swept_at = 0, now
        self._tidy(lambda conn: self._trim(conn, digests, now, sweep=sweep))

    def succeeded(self, *keys: str) -> None:
        digests = [_digest(key) for key in _distinct(keys)]
        with self._db.read() as conn:  # most sign-ins have nothing to clear: no write then
            counted = failures.any_of(conn, digests)
        if counted:
            self._tidy(lambda w: failures.forget(w, digests))

    def __len__(self) -> int:
        """How many keys have a failure in the window now."""
        since = _stamp(self._clock() - self.window)
        with self._db.read() as conn:
            return failures.keys_since(conn, since)

    @property
    def _sweep_every(self) -> int:
        return max(1, min(100, self.max_keys // 10))

    def _recent(self, keys: Sequence[str], now: float) -> list[list[float]]:
        """For each key, its newest failures in the window (at most ``limit``), oldest first."""
        since = _stamp(now - self.window)
        with self._db.read() as conn:
            newest = [failures.newest(conn, _digest(key), since, self.limit) for key in keys]
        return [[_seconds(at) for at in reversed(times)] for times in newest]

    def _trim(self, conn: Connection, digests: list[str], now: float, *, sweep: bool) -> None:
        expired = _stamp(now - self.window)
        failures.trim(conn, digests, expired, self.limit)
        if not sweep:
            return
        # Room for the failures until this process sweeps again.
        failures.drop_oldest(conn, expired, max(0, self.max_keys - self._sweep_every))

    def _tidy(self, work: Callable[[Connection], object]) -> None:
        try:
            with self._db.write() as conn:
                work(conn)
        except (Conflict, StorageError) as err:  # left for the next one
            log.warning("sign-in limiter: tidying the failures left for later: %s", err)


def _distinct(keys: Sequence[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(keys))


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
