"""Passwords revealed on the dashboard, between the form post that revealed them and the page
it redirects to.

Reveal is a post (audited by the vault when it happens), answered with a redirect to the
credential's page (post-redirect-get: reloading that page does not post, and so neither
reveals nor audits again). What was revealed waits here for that page, in the server's
memory only, under a random key in the page's address: the key is no secret (it is good once,
for that session and credential, for :data:`GRANT_SECONDS`), and the password is never in an
address, a cookie or anything a cache keeps. A second load of the same address finds nothing
and shows the password hidden.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field

from credsync.vault.models import HistoryEntry, RevealedCredential

__all__ = ["GRANT_SECONDS", "Revealed", "Reveals"]

GRANT_SECONDS = 60.0  # the redirect's page loads at once; a page never loaded expires


@dataclass(frozen=True)
class Revealed:
    """What one reveal showed: the current password and notes, or one version of the
    history."""

    credential_id: str
    current: RevealedCredential | None = field(default=None, repr=False)
    version: HistoryEntry | None = field(default=None, repr=False)


class Reveals:
    """One-time grants of revealed passwords, per browser session (at most ``limit`` at a
    time: the oldest go first)."""

    def __init__(self, limit: int = 500, seconds: float = GRANT_SECONDS) -> None:
        self._limit = limit
        self._seconds = seconds
        self._items: OrderedDict[str, tuple[str, float, Revealed]] = OrderedDict()
        self._lock = threading.Lock()

    def add(self, session_id: str, revealed: Revealed) -> str:
        """Keep ``revealed`` for ``session_id``'s next page; the key to take it with."""
        key = secrets.token_urlsafe(16)
        now = time.monotonic()
        with self._lock:
            self._forget_expired(now)
            self._items[key] = (session_id, now + self._seconds, revealed)
            while len(self._items) > self._limit:
                self._items.popitem(last=False)
        return key

    def take(self, session_id: str, credential_id: str, key: str | None) -> Revealed | None:
        """What the grant ``key`` holds, once, for the session and credential it was made
        for while it lasts; else None."""
        if not key:
            return None
        now = time.monotonic()
        with self._lock:
            self._forget_expired(now)
            item = self._items.get(key)
            if item is None or item[0] != session_id or item[2].credential_id != credential_id:
                return None
            del self._items[key]
        return item[2]

    def _forget_expired(self, now: float) -> None:
        # Every grant lasts as long: the oldest expire first.
        while self._items and next(iter(self._items.values()))[1] <= now:
            self._items.popitem(last=False)
