"""Sync runs started from the dashboard ("sync now"): each runs in a thread of its own, with
its own event loop, so the page that started it returns at once and follows the run's
stored progress. One run per directory at a time from this server."""

from __future__ import annotations

import asyncio
import logging
import threading
import time

from credsync.api.state import ServerState
from credsync.sync.engine import Engine
from credsync.vault import Actor
from credsync.vault._time import utcnow
from credsync.web.queries import web_run_since

__all__ = ["TRIGGER", "RunStarter"]

log = logging.getLogger("credsync.web")

TRIGGER = "web"  # the runs' trigger, as the reports show it


class RunStarter:
    def __init__(self, state: ServerState) -> None:
        self._state = state
        self._lock = threading.Lock()
        self._threads: dict[str, threading.Thread] = {}
        self._run_ids: dict[str, str] = {}

    def start(self, actor: Actor, directory_id: str, *, wait: float = 5.0) -> str | None:
        """Start a run of the directory in the background and return its id once the engine
        has stored it (None if it did not appear within ``wait`` seconds). A run this server
        started on the directory that is still going is returned instead of a new one."""
        with self._lock:
            running = self._threads.get(directory_id)
            if running is not None and running.is_alive():
                return self._run_ids.get(directory_id)
            since = utcnow()
            vault = self._state.vault
            engine = Engine(vault, self._state.keys, actor)
            thread = threading.Thread(
                target=self._run,
                args=(engine, directory_id),
                name=f"credsync-web-run-{directory_id[:8]}",
                daemon=True,
            )
            self._threads[directory_id] = thread
            self._run_ids.pop(directory_id, None)
            thread.start()
        deadline = time.monotonic() + wait
        while True:
            run_id = web_run_since(vault.db, actor, directory_id, since, TRIGGER)
            if run_id is not None or not thread.is_alive() or time.monotonic() > deadline:
                break
            time.sleep(0.02)
        if run_id is not None:
            with self._lock:
                self._run_ids[directory_id] = run_id
        return run_id

    def join(self, timeout: float = 30.0) -> None:
        """Wait for the runs under way (a server shutting down, a test)."""
        with self._lock:
            threads = list(self._threads.values())
        for thread in threads:
            thread.join(timeout)

    @staticmethod
    def _run(engine: Engine, directory_id: str) -> None:
        try:
            report = asyncio.run(engine.run(directory_id, trigger=TRIGGER))
            log.info("web run %s on %s: %s", report.id, report.directory, report.state)
        except Exception:
            # The engine has stored the run as failed with the reason; the log keeps the rest.
            log.exception("a run of directory %s started from the dashboard failed", directory_id)
