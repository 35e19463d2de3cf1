"""How many failed sign-ins a person, and an address, may have: :class:`PersonLimits`.

- **Per person**: :data:`PER_PERSON` failures (wrong password, wrong or replayed one-time
  code, refused security key) in :data:`WINDOW`, whatever the address: then the person's
  sign-in is refused until the oldest of those failures leaves the window.
- **Per address**: :data:`PER_ADDRESS` failures from one address in the window, whatever the
  username (unknown ones too): then every sign-in from that address is refused likewise. An
  office behind one NAT shares it; four times the person's limit leaves room for colleagues'
  typos while a guesser trying many usernames meets a bound.
- A completed sign-in (password and second factor) forgets the person's failures, not the
  address's.

Failures are rows of ``person_sign_in_failures`` (so every server process on the vault counts
them together, and a restart forgets none), each stored as the HMAC-SHA256 of ``person:<id>``
or ``address:<ip>`` under a key derived from the master key: addresses can't be read back
from the database. Rows older than the window are pruned at each failure. None of this
touches a directory: a person's directory account is never locked by the vault's sign-in.
"""

from __future__ import annotations

import datetime as dt
import math
import time
from collections.abc import Callable

from credsync.errors import TooManyAttempts
from credsync.storage import Database
from credsync.storage import person_failures as rows
from credsync.vault.keyring import KeyRing

__all__ = ["PER_ADDRESS", "PER_PERSON", "PURPOSE", "WINDOW", "PersonLimits"]

PER_PERSON = 5
PER_ADDRESS = 20
WINDOW = dt.timedelta(minutes=15)
PURPOSE = "person-sign-in-failures"  # the purpose of the digests' key


class PersonLimits:
    def __init__(
        self,
        db: Database,
        keys: Callable[[], KeyRing],
        *,
        clock: Callable[[], float] = time.time,
        per_person: int = PER_PERSON,
        per_address: int = PER_ADDRESS,
        window: dt.timedelta = WINDOW,
    ) -> None:
        self._db = db
        self._keys = keys
        self.clock = clock
        self.per_person, self.per_address, self.window = per_person, per_address, window

    def _now(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.clock(), dt.UTC)

    def _keyed(self, person_id: str | None, address: str) -> list[tuple[str, int]]:
        key = self._keys().mac_key(PURPOSE)
        found = [(key.digest(f"address:{address}"), self.per_address)]
        if person_id is not None:
            found.append((key.digest(f"person:{person_id}"), self.per_person))
        return found

    def wait(self, person_id: str | None, address: str) -> int:
        """Seconds until ``person_id`` (None: an unknown username) may try again from
        ``address`` (0: now)."""
        now = self._now()
        since = now - self.window
        waits: list[float] = []
        with self._db.read() as conn:
            for digest, limit in self._keyed(person_id, address):
                times = rows.newest_since(conn, digest, since, limit)
                if len(times) >= limit:  # newest first: the last counted leaves first
                    left = _utc(times[-1]) + self.window - now
                    waits.append(left.total_seconds())
        return max(1, math.ceil(max(waits))) if waits else 0

    def check(self, person_id: str | None, address: str) -> None:
        """TooManyAttempts when the person or the address is over its limit."""
        wait = self.wait(person_id, address)
        if wait:
            minutes = max(1, math.ceil(wait / 60))
            raise TooManyAttempts(
                f"too many failed sign-ins: try again in {minutes} minute"
                + ("s" if minutes > 1 else ""),
                retry_after=wait,
            )

    def failed(self, person_id: str | None, address: str) -> None:
        now = self._now()
        digests = [d for d, _ in self._keyed(person_id, address)]
        with self._db.write() as conn:
            rows.add(conn, digests, now)
            rows.prune(conn, now - self.window)

    def succeeded(self, person_id: str) -> None:
        digest = self._keys().mac_key(PURPOSE).digest(f"person:{person_id}")
        with self._db.read() as conn:  # most sign-ins have nothing to forget: no write then
            counted = rows.newest_since(conn, digest, self._now() - self.window, 1)
        if counted:
            with self._db.write() as conn:
                rows.forget(conn, [digest])


def _utc(at: dt.datetime) -> dt.datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=dt.UTC)
