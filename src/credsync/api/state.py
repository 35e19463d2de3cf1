"""What every request shares: the vault, the server's unlocked key ring, the login limiter
and the server's settings."""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, field

from credsync.vault import KeyRing, Vault

__all__ = ["LoginLimiter", "ServerState"]


class LoginLimiter:
    """Failed sign-ins, counted per client address and per operator name over a sliding
    window: past ``limit`` failures in ``window`` seconds, sign-in is refused (429) until the
    oldest failure leaves the window. Kept in the server process (one process, the default
    deployment; behind several processes each keeps its own count).

    Only keys with a failure in the window are kept, so memory stays bounded by the failures
    of the last window, and by ``max_keys`` against a flood of made-up names or addresses
    (past it, the keys whose last failure is oldest are forgotten first)."""

    def __init__(self, limit: int = 5, window: float = 300.0, max_keys: int = 100_000) -> None:
        self.limit, self.window, self.max_keys = limit, window, max_keys
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float] | None:
        times = self._failures.get(key)
        if times is None:
            return None
        while times and times[0] <= now - self.window:
            times.popleft()
        if not times:
            del self._failures[key]
            return None
        return times

    def wait(self, *keys: str) -> int:
        """Seconds until a sign-in for ``keys`` may be tried again (0: now)."""
        now = time.monotonic()
        with self._lock:
            waits = [
                times[0] + self.window - now
                for times in (self._recent(k, now) for k in keys)
                if times is not None and len(times) >= self.limit
            ]
        return max(1, int(max(waits)) + 1) if waits else 0

    def failed(self, *keys: str) -> None:
        now = time.monotonic()
        with self._lock:
            for key in keys:
                times = self._recent(key, now) or self._failures.setdefault(key, deque())
                times.append(now)
                if len(times) > self.limit:
                    times.popleft()  # more than the limit tells nothing more
            if len(self._failures) > self.max_keys:
                self._forget(now)

    def _forget(self, now: float) -> None:
        """Drop the keys with no failure in the window; then, if still too many, those whose
        last failure is oldest."""
        for key in list(self._failures):
            self._recent(key, now)
        excess = len(self._failures) - self.max_keys
        if excess > 0:
            oldest = sorted(self._failures, key=lambda k: self._failures[k][-1])[:excess]
            for key in oldest:
                del self._failures[key]

    def succeeded(self, *keys: str) -> None:
        with self._lock:
            for key in keys:
                self._failures.pop(key, None)

    def __len__(self) -> int:
        """How many keys are counted now."""
        with self._lock:
            return len(self._failures)


@dataclass
class ServerState:
    """``secure_cookies``: mark cookies Secure (the server is reached over HTTPS, directly or
    behind a proxy)."""

    vault: Vault
    keys: KeyRing
    secure_cookies: bool = False
    limiter: LoginLimiter = field(default_factory=LoginLimiter)
