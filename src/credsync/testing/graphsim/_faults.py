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
from typing import Protocol, TypeVar

__all__ = ["Fault", "Faults", "Latency"]


class _Matched(Protocol):
    @property
    def method(self) -> str: ...
    @property
    def path_prefix(self) -> str: ...


_T = TypeVar("_T", bound=_Matched)


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


class Faults:
    """The faults injected into one tenant (``tenant.inject_fault``): the next matching
    requests fail, each fault for its ``remaining`` requests."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def put(self, fault: Fault) -> None:
        """``fault`` replaces one for the same method and prefix (``remaining`` 0: removes it)."""
        with self._lock:
            self._faults = _other_than(self._faults, fault.method, fault.path_prefix)
            if fault.remaining > 0:
                self._faults.append(fault)

    def take(self, method: str, path: str) -> Fault | None:
        """The first fault matching the request, one of its requests used up."""
        lowered = path.lower()
        with self._lock:
            for fault in self._faults:
                if fault.method in ("*", method.upper()) and lowered.startswith(fault.path_prefix):
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self._faults.remove(fault)
                    return fault
        return None

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()


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
            self._rules = _other_than(self._rules, rule.method, rule.path_prefix)
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


def _other_than(items: list[_T], method: str, path_prefix: str) -> list[_T]:
    """``items`` (faults or latency rules) but the one for ``method`` and ``path_prefix``."""
    return [i for i in items if (i.method, i.path_prefix) != (method, path_prefix)]
