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
    deployment; behind several processes each keeps its own count)."""

    def __init__(self, limit: int = 5, window: float = 300.0) -> None:
        self.limit, self.window = limit, window
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._failures.setdefault(key, deque())
        while times and times[0] <= now - self.window:
            times.popleft()
        return times

    def wait(self, *keys: str) -> int:
        """Seconds until a sign-in for ``keys`` may be tried again (0: now)."""
        now = time.monotonic()
        with self._lock:
            waits = [
                times[0] + self.window - now
                for times in (self._recent(k, now) for k in keys)
                if len(times) >= self.limit
            ]
        return max(1, int(max(waits)) + 1) if waits else 0

    def failed(self, *keys: str) -> None:
        now = time.monotonic()
        with self._lock:
            for key in keys:
                self._recent(key, now).append(now)

    def succeeded(self, *keys: str) -> None:
        with self._lock:
            for key in keys:
                self._failures.pop(key, None)


@dataclass
class ServerState:
    """``secure_cookies``: mark cookies Secure (the server is reached over HTTPS, directly or
    behind a proxy)."""

    vault: Vault
    keys: KeyRing
    secure_cookies: bool = False
    limiter: LoginLimiter = field(default_factory=LoginLimiter)
