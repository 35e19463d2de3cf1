"""What every request shares: the vault, the server's unlocked key ring, the sign-in limiter
and the server's settings."""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Connection

from credsync import telemetry
from credsync.agent.relay.service import RelayHub
from credsync.config import Retention
from credsync.crypto import MacKey
from credsync.errors import Conflict, StorageError
from credsync.storage import Database
from credsync.storage import sign_in_failures as failures
from credsync.sync.auto_create import install_scope_check
from credsync.vault import KeyRing, Vault
from credsync.vault._time import as_utc
from credsync.vault.validate import name_key

__all__ = ["SIGN_IN_FAILURES", "LoginLimiter", "ServerState"]

log = logging.getLogger("credsync.api")

Clock = Callable[[], float]
SIGN_IN_FAILURES = "sign-in-failures"  # the purpose of the limiter's digest key


class LoginLimiter:
    """Failed sign-ins over a sliding window of ``window`` seconds, counted three ways: per
    operator name *and* client address together, past ``limit`` failures; and per address
    alone and per name alone, past ``ceiling`` (five times ``limit`` unless given). Past any of
    them, sign-in for that name from that address is refused (429) until the oldest failure
    that counts leaves the window. So one operator's typos block that name from that address
    only, not the colleagues behind the same address (an office's NAT); someone trying many
    names from one address, or one name from many addresses, still meets a bound; and a good
    sign-in clears only its own name's failures from its own address (signing in to one's own
    account does not reset what an address or a name has against it).

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
    and past their newest ``ceiling`` (more tell nothing more) are deleted at each failure, and
    every ``_sweep_every`` failures of this process (and at its first, and once a window) all
    expired rows, then the oldest past ``max_keys`` rows (a little more while processes fail
    at once): a flood of made-up names or addresses costs what it fails in one window, and
    past ``max_keys`` the oldest failures are forgotten first.

    Keys are stored as their HMAC-SHA256 under a key of the vault's (``key``: derived from the
    master key, see :meth:`credsync.vault.KeyRing.mac_key`), never as a plain hash: what was
    typed as a name (a password, sometimes) and people's addresses can't be guessed back from
    the database; rows live for one window only."""

    def __init__(
        self,
        limit: int = 5,
        window: float = 300.0,
        max_keys: int = 100_000,
        *,
        ceiling: int | None = None,
        db: Database,
        key: Callable[[], MacKey],
        clock: Clock = time.time,
    ) -> None:
        self.limit, self.window, self.max_keys = limit, window, max_keys
        self.ceiling = ceiling if ceiling is not None else 5 * limit
        self._db, self._key, self._clock = db, key, clock
        self._lock = threading.Lock()
        self._added = 0  # failures since this process last swept
        self._swept_at: float | None = None

    @classmethod
    def of_vault(cls, db: Database, keys: KeyRing, **options: Any) -> LoginLimiter:
        """A limiter on the vault's database, its digests keyed by the vault's key (from
        ``keys``, unlocked); ``options``: the limits, window and clock."""
        return cls(db=db, key=lambda: keys.mac_key(SIGN_IN_FAILURES), **options)

    def wait(self, name: str, address: str) -> int:
        """Seconds until ``name`` may try to sign in from ``address`` again (0: now)."""
        now = self._clock()
        since = _stamp(now - self.window)
        waits = []
        with self._db.read() as conn:
            for digest, limit in self.keys_of(name, address):
                times = failures.newest(conn, digest, since, limit)
                if len(times) >= limit:  # newest first: the last counted leaves first
                    waits.append(_seconds(times[-1]) + self.window - now)
        return max(1, int(max(waits)) + 1) if waits else 0

    def failed(self, name: str, address: str) -> None:
        telemetry.events().sign_in("operator", ok=False)  # /metrics: refused operator sign-ins
        now = self._clock()
        digests = sorted(digest for digest, _ in self.keys_of(name, address))
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

    def succeeded(self, name: str, address: str) -> None:
        """A good sign-in: ``name``'s failures from ``address`` are forgotten (those of the
        address and of the name alone wait out the window)."""
        telemetry.events().sign_in("operator", ok=True)
        pair = [self.keys_of(name, address)[0][0]]
        with self._db.read() as conn:  # most sign-ins have nothing to clear: no write then
            counted = failures.any_of(conn, pair)
        if counted:
            self._tidy(lambda w: failures.forget(w, pair))

    def __len__(self) -> int:
        """How many keys have a failure in the window now."""
        since = _stamp(self._clock() - self.window)
        with self._db.read() as conn:
            return failures.keys_since(conn, since)

    def keys_of(self, name: str, address: str) -> list[tuple[str, int]]:
        """The digests ``name`` from ``address`` is counted under, each with its limit: the
        pair first, then the address, then the name."""
        key = self._key()
        typed = name_key(name.strip())
        return [
            (key.digest(f"pair:{len(address)}:{address}|{typed}"), self.limit),
            (key.digest(f"addr:{address}"), self.ceiling),
            (key.digest(f"name:{typed}"), self.ceiling),
        ]

    @property
    def _sweep_every(self) -> int:
        return max(1, min(100, self.max_keys // 10))

    def _trim(self, conn: Connection, digests: list[str], now: float, *, sweep: bool) -> None:
        expired = _stamp(now - self.window)
        failures.trim(conn, digests, expired, max(self.limit, self.ceiling))
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


def _stamp(seconds: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, dt.UTC)


def _seconds(at: dt.datetime) -> float:
    return as_utc(at).timestamp()


@dataclass
class ServerState:
    """``secure_cookies``: mark cookies Secure (the server is reached over HTTPS, directly or
    behind a proxy). ``limiter``: the sign-in limiter on the vault's database, shared by every
    server process on it (its digests' key comes from ``keys``: the server holds the vault
    unlocked)."""

    vault: Vault
    keys: KeyRing
    secure_cookies: bool = False
    retention: Retention = field(default_factory=Retention)  # how long runs are kept
    limiter: LoginLimiter = field(init=False)
    relay: RelayHub = field(init=False)  # the remote agents polling this process

    def __post_init__(self) -> None:
        self.limiter = LoginLimiter.of_vault(self.vault.db, self.keys)
        self.relay = RelayHub(self.vault, self.keys)
        # People's sign-in opens their vault passwords with the server's key ring.
        self.vault.person_auth.use_keys(self.keys)
        # Captures of accounts with no credential: auto-create asks the directory about scope.
        install_scope_check(self.vault, self.keys)
        # The identity provider signs with keys the server's key ring unwraps.
        self.vault.idp_keys.attach(self.keys)
