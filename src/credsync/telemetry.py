"""Event metrics: what this process did (pushes, captures, sign-ins, a directory's
throttling), counted where the work is done and shared by every process of one server.

**Two kinds of figure.** What lives in the database (runs by state, checks by status, open
flags, the push queue) is read when ``/metrics`` is scraped (:mod:`credsync.server.metrics`),
so every process answers the same. What happens in a process (a push and how long it took, a
sign-in, a 429 from the directory) is counted here, by the process that does the work: a
``credsync serve`` with its agent, each of ``serve --workers N``'s processes, or a
``credsync agent`` of its own.

**One answer across processes** (:func:`share`). A process that serves ``/metrics`` or works
for one (``serve``, ``agent``) calls ``share(directory)`` at start, before its first event:
prometheus_client's multiprocess mode then keeps each process's counters in memory-mapped
files of that directory (one per process and kind of metric), and ``/metrics`` in any of the
processes sums the files of all of them (:func:`collector`). The directory is
``$CREDSYNC_HOME/metrics`` (:data:`DIRECTORY`): the server and an agent on the same host and
home share it. At each start the files of processes that no longer run are removed
(:func:`share`), so a restart begins its counters at zero as Prometheus expects of a
restarted target (``rate()`` handles the reset); the files of live processes stay.
A process that never calls it (tests, one-off commands) counts in its own memory.

**Labels** are small closed sets (an outcome, a status, who signed in): never a client, a
credential, a directory or a person, so the cardinality is bounded and nothing names an
MSP's clients. The names are below (:class:`Events`).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client import values as prometheus_values
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

__all__ = [
    "DIRECTORY",
    "ENV",
    "SIGN_IN_KINDS",
    "Events",
    "collector",
    "events",
    "share",
    "shared_directory",
]

ENV = "PROMETHEUS_MULTIPROC_DIR"
DIRECTORY = "metrics"  # under the home: where the processes of one server share their counters

SignInKind = Literal["operator", "person", "federated"]
SIGN_IN_KINDS: tuple[SignInKind, ...] = ("operator", "person", "federated")

# A push to a directory: an LDAP modify or a Graph PATCH, a few ms to a few seconds.
_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
_FILE = re.compile(r".*_(\d+)\.db")


class Events:
    """The event metrics, in ``registry`` (None in shared mode: the files are read)."""

    def __init__(self, registry: CollectorRegistry | None) -> None:
        r = registry
        self.pushes = Counter(
            "credsync_pushes",
            "Passwords pushed to a directory, by outcome (pushed, failed, unknown).",
            ["outcome"],
            registry=r,
        )
        self.push_seconds = Histogram(
            "credsync_push_duration_seconds",
            "Time the directory took to set one password (every outcome).",
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.captures = Counter(
            "credsync_captures",
            "Captured password changes received, by outcome (the capture ledger's).",
            ["outcome"],
            registry=r,
        )
        self.capture_seconds = Histogram(
            "credsync_capture_batch_duration_seconds",
            "Time to take in one forwarder's batch of captures.",
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.sign_ins = Counter(
            "credsync_sign_ins",
            "Sign-ins: who (operator, person, federated: the identity provider's) and "
            "outcome (ok, refused).",
            ["who", "outcome"],
            registry=r,
        )
        self.throttled = Counter(
            "credsync_directory_throttled_responses",
            "Answers of a directory's API asking to come back later, by HTTP status "
            "(429, 503, 504).",
            ["status"],
            registry=r,
        )
        self.retries = Counter(
            "credsync_directory_retries",
            "Requests to a directory's API tried again after a throttling answer.",
            registry=r,
        )
        self.retry_wait = Counter(
            "credsync_directory_retry_wait_seconds",
            "Seconds waited before those retries (Retry-After, else a backoff).",
            registry=r,
        )
        self.run_items = Counter(
            "credsync_run_items",
            "Items recorded by sync runs of this server, by status.",
            ["status"],
            registry=r,
        )

    def sign_in(self, who: SignInKind, ok: bool) -> None:
        self.sign_ins.labels(who, "ok" if ok else "refused").inc()

    @contextlib.contextmanager
    def push(self) -> Iterator[None]:
        """Around one password set in a directory: its time, and its outcome (``pushed``;
        ``failed`` when it raised; ``unknown`` when it was cancelled midway)."""
        started = time.perf_counter()
        outcome = "failed"
        try:
            yield
            outcome = "pushed"
        except (asyncio.CancelledError, KeyboardInterrupt):
            outcome = "unknown"
            raise
        finally:
            self.push_seconds.observe(time.perf_counter() - started)
            self.pushes.labels(outcome).inc()

    def throttle(self, status: int, waited: float | None) -> None:
        """A throttling answer; ``waited``: seconds waited before trying again (None: no
        retry, the tries are spent)."""
        self.throttled.labels(str(status)).inc()
        if waited is not None:
            self.retries.inc()
            self.retry_wait.inc(max(0.0, waited))


_lock = threading.Lock()
_events: Events | None = None
_registry: CollectorRegistry | None = None
_shared: Path | None = None


def events() -> Events:
    """This process's event metrics (made on first use, shared if :func:`share` was called)."""
    global _events, _registry
    with _lock:
        if _events is None:
            _registry = None if _shared is not None else CollectorRegistry(auto_describe=True)
            _events = Events(_registry)
        return _events


def share(directory: Path) -> None:
    """Count this process's events in ``directory`` with the other processes of the server
    (see the module's doc): the files of processes no longer running are removed first. Call
    it at start, before the first event; a process forked afterwards (``--workers``) keeps
    counting in files of its own pid."""
    global _events, _registry, _shared
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    for path in directory.glob("*.db"):
        found = _FILE.fullmatch(path.name)
        if found is not None and not _alive(int(found.group(1))):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
    with _lock:
        os.environ[ENV] = str(directory)
        prometheus_values.ValueClass = prometheus_values.MultiProcessValue()  # type: ignore[no-untyped-call]
        _events, _registry, _shared = None, None, directory


def shared_directory() -> Path | None:
    """Where this process shares its counters (None: in its own memory)."""
    return _shared


def collector() -> Collector:
    """What ``/metrics`` reports of the events: every sharing process's, summed, or this
    process's own."""
    if _shared is not None:
        return MultiProcessCollector(None, path=str(_shared))  # type: ignore[no-untyped-call]
    events()
    if _registry is None:  # pragma: no cover - made by events() when not shared
        raise RuntimeError("no registry of this process's events")
    return _registry


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    return True
