"""Sync runs started from the dashboard ("sync now"): each runs in a thread of its own, with
its own event loop, so the page that started it returns at once and follows the run's
stored progress. One run per directory at a time from this server."""

from __future__ import annotations

import asyncio
import logging
import threading

from credsync.api.state import ServerState
from credsync.errors import CredsyncError
from credsync.sync.engine import Engine
from credsync.vault import Actor

__all__ = ["TRIGGER", "RunStarter"]

log = logging.getLogger("credsync.web")

TRIGGER = "web"  # the runs' trigger, as the reports show it


class _Started:
    """The run's id, once the engine has stored the run (told from the run's thread), or why
    the engine refused to start it."""

    def __init__(self) -> None:
        self.run_id: str | None = None
        self.refused: CredsyncError | None = None
        self.event = threading.Event()

    def __call__(self, run_id: str) -> None:
        self.run_id = run_id
        self.event.set()


class RunStarter:
    def __init__(self, state: ServerState) -> None:
        self._state = state
        self._lock = threading.Lock()
        self._threads: dict[str, tuple[threading.Thread, _Started]] = {}

    def start(self, actor: Actor, directory_id: str, *, wait: float = 10.0) -> str | None:
        """Start a run of the directory in the background and return its id once the engine
        has stored it (None if it did not start within ``wait`` seconds: the log says why).
        A run this server started on the directory that is still going is returned instead
        of a new one. The engine's refusal to start (a run under way elsewhere, a permission)
        is raised."""
        with self._lock:
            running = self._threads.get(directory_id)
            if running is not None and running[0].is_alive():
                started = running[1]
            else:
                started = _Started()
                engine = Engine(self._state.vault, self._state.keys, actor)
                thread = threading.Thread(
                    target=self._run,
                    args=(engine, directory_id, started),
                    name=f"credsync-web-run-{directory_id[:8]}",
                    daemon=True,
                )
                self._threads[directory_id] = (thread, started)
                thread.start()
        started.event.wait(wait)
        if started.refused is not None:
            raise started.refused
        return started.run_id

    def join(self, timeout: float = 30.0) -> None:
        """Wait for the runs under way (a server shutting down, a test)."""
        with self._lock:
            threads = [thread for thread, _ in self._threads.values()]
        for thread in threads:
            thread.join(timeout)

    @staticmethod
    def _run(engine: Engine, directory_id: str, started: _Started) -> None:
        try:
            report = asyncio.run(engine.run(directory_id, trigger=TRIGGER, on_start=started))
            log.info("web run %s on %s: %s", report.id, report.directory, report.state)
        except CredsyncError as err:
            if started.run_id is None:  # refused before it began: the page says why
                started.refused = err
                log.info("a run of directory %s was not started: %s", directory_id, err)
            else:  # stored as failed, with the reason
                log.warning("a run of directory %s started from the dashboard failed: %s",
                            directory_id, err)  # fmt: skip
        except Exception:
            # A run that started is stored as failed with the reason; the log keeps the rest.
            log.exception("a run of directory %s started from the dashboard failed", directory_id)
        finally:
            started.event.set()  # a run that never started: the page stops waiting
