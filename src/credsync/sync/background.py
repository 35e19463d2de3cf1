"""Runs a server starts in the background (the API's ``POST /directories/{ref}/runs``, the
dashboard's "sync now" and a relay's applied run): each in a thread of its own, with its own
event loop, so the request that started it returns at once and follows the run's stored
progress.

One at a time per directory: a quick check in this process, and the engine's lease on the
directory for every process (the agent, the CLI, other servers); either refuses a second start
with :class:`~credsync.errors.RunInProgress`. The threads are daemons: a server shutting down
waits for them a bounded time (:meth:`BackgroundRuns.join_all`), then lets them go (their runs,
no longer beating, are swept as abandoned later).
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import threading
import time
from collections.abc import Callable, Coroutine
from concurrent.futures import Future
from typing import Any

from credsync.errors import RunInProgress
from credsync.sync.engine import Engine
from credsync.sync.relay import RelayReport, RelayRunner
from credsync.vault import Actor, KeyRing, Vault
from credsync.vault.directories import Directory
from credsync.vault.relays import Relay

__all__ = ["START_TIMEOUT", "BackgroundRuns", "background_runs"]

log = logging.getLogger("credsync.sync")

START_TIMEOUT = 60.0  # seconds a run may take to store its row before the caller gives up


class BackgroundRuns:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._threads: dict[str, threading.Thread] = {}  # run id -> its thread
        self._busy: dict[str, Future[str]] = {}  # directory id -> its run's id, once stored

    def running(self, directory_id: str) -> str | None:
        """The id of the run this process has under way on the directory, if any."""
        with self._lock:
            busy = self._busy.get(directory_id)
        return busy.result() if busy is not None and _ok(busy) else None

    def start(
        self,
        vault: Vault,
        keys: KeyRing,
        actor: Actor,
        directory: Directory,
        *,
        trigger: str,
        full: bool = False,
        timeout: float = START_TIMEOUT,
    ) -> str:
        """Start a run of ``directory`` and return its id once the engine has stored it
        (``TimeoutError`` after ``timeout`` seconds: the run may still start). A run under
        way (here or elsewhere), or the engine's refusal to start, is raised."""
        engine = Engine(vault, keys, actor)

        async def work(on_start: Callable[[str], None]) -> str:
            report = await engine.run(directory.id, full=full, trigger=trigger, on_start=on_start)
            return f"{trigger} run {report.id} on {report.directory}: {report.state}"

        return self._start(
            directory.id,
            f"directory {directory.name!r}",
            work,
            timeout=timeout,
            thread_name=f"credsync-run-{directory.id[:8]}",
        )

    def start_relay(
        self,
        vault: Vault,
        keys: KeyRing,
        actor: Actor,
        relay: Relay,
        *,
        trigger: str,
        apply: bool,
        on_report: Callable[[RelayReport], None],
        timeout: float = START_TIMEOUT,
    ) -> str:
        """Start a run of ``relay`` (applied, or dry) and return its id once stored;
        ``on_report`` is given its report when it ends (the stored run keeps no rule or
        target per account). One relay run at a time per relay in this process; the
        runner's refusal to start (a permission, directory sync off) is raised."""
        runner = RelayRunner(vault, keys, actor)

        async def work(on_start: Callable[[str], None]) -> str:
            report = await runner.run(relay.id, apply=apply, trigger=trigger, on_start=on_start)
            on_report(report)
            return f"{trigger} relay run {report.run_id} of {relay.name}: {report.counts()}"

        return self._start(
            f"relay:{relay.id}",
            f"relay {relay.name!r}",
            work,
            timeout=timeout,
            thread_name=f"credsync-relay-{relay.id[:8]}",
        )

    def running_relay(self, relay_id: str) -> str | None:
        """The id of the run this process has under way of the relay, if any."""
        return self.running(f"relay:{relay_id}")

    def _start(
        self,
        key: str,
        what: str,
        work: Callable[[Callable[[str], None]], Coroutine[Any, Any, str]],
        *,
        timeout: float,
        thread_name: str,
    ) -> str:
        """Run ``work`` (given the callback that says the run is stored) in a thread of
        its own, one at a time per ``key``; the run's id once stored."""
        started: Future[str] = Future()
        with self._lock:
            busy = self._busy.get(key)
            if busy is not None:
                where = f": see GET /api/v1/runs/{busy.result()}" if _ok(busy) else ""
                raise RunInProgress(f"{what} has a run under way{where}")
            self._busy[key] = started

        def body() -> None:
            try:
                log.info("%s", asyncio.run(work(started.set_result)))
            except BaseException as exc:
                if not started.done():
                    started.set_exception(exc)  # refused before it began: the caller says why
                else:  # the run was stored as failed, with the reason
                    log.error("run of %s stopped: %s", what, type(exc).__name__, exc_info=exc)
            finally:
                with self._lock:
                    if self._busy.get(key) is started:
                        del self._busy[key]
                    if _ok(started):
                        self._threads.pop(started.result(), None)

        # the request's context (its request id in the logs) goes along with the run
        context = contextvars.copy_context()
        thread = threading.Thread(target=context.run, args=(body,), name=thread_name, daemon=True)
        with self._lock:
            try:
                thread.start()
            except BaseException:
                del self._busy[key]
                raise
        run_id = started.result(timeout=timeout)
        with self._lock:
            if self._busy.get(key) is started:  # still under way
                self._threads[run_id] = thread
        return run_id

    def join(self, run_id: str, timeout: float | None = None) -> None:
        """Wait for a run started here to end (at once when it has, or was not started here)."""
        with self._lock:
            thread = self._threads.get(run_id)
        if thread is not None:
            thread.join(timeout)

    def join_all(self, timeout: float) -> int:
        """Wait up to ``timeout`` seconds in all for the runs under way to end; how many
        have not."""
        deadline = time.monotonic() + timeout
        with self._lock:
            threads = list(self._threads.values())
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        return sum(thread.is_alive() for thread in threads)


def _ok(future: Future[str]) -> bool:
    return future.done() and future.exception() is None


background_runs = BackgroundRuns()
