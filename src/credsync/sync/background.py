"""Runs a server starts in the background (the API's ``POST /directories/{ref}/runs``, the
dashboard's "sync now"): each in a thread of its own, with its own event loop, so the request
that started it returns at once and follows the run's stored progress.

One at a time per directory: a quick check in this process, and the engine's lease on the
directory for every process (the agent, the CLI, other servers); either refuses a second start
with :class:`~credsync.errors.RunInProgress`. The threads are daemons: a server shutting down
waits for them a bounded time (:meth:`BackgroundRuns.join_all`), then lets them go (their runs,
no longer beating, are swept as abandoned later).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from concurrent.futures import Future

from credsync.errors import RunInProgress
from credsync.sync.engine import Engine
from credsync.vault import Actor, KeyRing, Vault
from credsync.vault.directories import Directory

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
        started: Future[str] = Future()
        with self._lock:
            busy = self._busy.get(directory.id)
            if busy is not None:
                where = f": see GET /api/v1/runs/{busy.result()}" if _ok(busy) else ""
                raise RunInProgress(f"directory {directory.name!r} has a run under way{where}")
            self._busy[directory.id] = started
        engine = Engine(vault, keys, actor)

        def work() -> None:
            try:
                report = asyncio.run(
                    engine.run(
                        directory.id, full=full, trigger=trigger, on_start=started.set_result
                    )
                )
                log.info("%s run %s on %s: %s", trigger, report.id, report.directory, report.state)
            except BaseException as exc:
                if not started.done():
                    started.set_exception(exc)  # refused before it began: the caller says why
                else:  # the engine stored the run as failed, with the reason
                    log.error(
                        "run of directory %s stopped: %s",
                        directory.name,
                        type(exc).__name__,
                        exc_info=exc,
                    )
            finally:
                with self._lock:
                    if self._busy.get(directory.id) is started:
                        del self._busy[directory.id]
                    if _ok(started):
                        self._threads.pop(started.result(), None)

        thread = threading.Thread(target=work, name=f"credsync-run-{directory.id[:8]}", daemon=True)
        with self._lock:
            try:
                thread.start()
            except BaseException:
                del self._busy[directory.id]
                raise
        run_id = started.result(timeout=timeout)
        with self._lock:
            if self._busy.get(directory.id) is started:  # still under way
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
