"""What a test injects into a tenant's request handling: faults (:class:`Fault`, set by
``tenant.inject_fault``: the next matching requests fail; a dropped connection may come before
the request is handled or after it, the write done and its answer lost) and latency
(:class:`Latency`, ``tenant.latency``: matching requests wait a while before the tenant
handles them, as a slow tenant would; for tests that need work under way at a given moment,
e.g. an agent killed mid-push).

Faults follow Microsoft's documented behaviour: a throttled request is answered 429 with a
Retry-After header of the seconds to wait (https://learn.microsoft.com/en-us/graph/throttling:
"When a throttling threshold is exceeded, Microsoft Graph limits any further requests from that
client for a period of time. [...] requests return HTTP status code 429"), and 503 Service
Unavailable, "temporarily unavailable for maintenance or is overloaded. You may repeat the
request after a delay, the length of which may be specified in a Retry-After header"
(https://learn.microsoft.com/en-us/graph/errors).

The latency's wait is real time (not the simulator's clock) and happens in the simulator's request
handling, which takes one request at a time, and each request of a ``$batch`` in turn: a
delayed request holds back every request behind it, so delayed writes land one after another,
``seconds`` apart. A request the tenant has started handling is finished even when its client
has gone meanwhile (what reached the server is done). Thread-safe: the rules may be
changed from a test's thread while the server's thread reads them.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

__all__ = ["Fault", "Latency"]


@dataclass
class Fault:
    method: str
    path_prefix: str
    status: int
    remaining: int
    retry_after: int | None
    code: str | None
    message: str | None
    after: bool = False  # status 0: the request is handled first (its write done, answer lost)


@dataclass(frozen=True)
class _Rule:
    method: str  # upper case, or "*" for any
    path_prefix: str  # lower case, including "/v1.0"
    seconds: float


class Latency:
    """The latency rules of one tenant (``tenant.latency``)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[_Rule] = []

    def set(self, seconds: float, method: str = "*", path_prefix: str = "/v1.0/users") -> None:
        """Requests matching ``method`` ("*": any) and ``path_prefix`` (including "/v1.0";
        inner requests of a ``$batch`` are matched by their own method and path) wait
        ``seconds`` each; a rule for the same method and prefix replaces the one before, and
        ``seconds=0`` removes it."""
        if seconds < 0:
            raise ValueError(f"latency must be 0 or more seconds, not {seconds!r}")
        rule = _Rule(method.upper(), path_prefix.lower(), float(seconds))
        with self._lock:
            self._rules = [
                r
                for r in self._rules
                if (r.method, r.path_prefix) != (rule.method, rule.path_prefix)
            ]
            if rule.seconds > 0:
                self._rules.append(rule)

    def clear(self) -> None:
        with self._lock:
            self._rules = []

    def of(self, method: str, path: str) -> float:
        """Seconds a request waits: the longest matching rule's (0: none matches)."""
        lowered, upper = path.lower(), method.upper()
        with self._lock:
            rules = list(self._rules)
        return max(
            (
                r.seconds
                for r in rules
                if r.method in ("*", upper) and lowered.startswith(r.path_prefix)
            ),
            default=0.0,
        )

    def wait(self, method: str, path: str) -> None:
        seconds = self.of(method, path)
        if seconds > 0:
            time.sleep(seconds)
