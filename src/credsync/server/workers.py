"""Several server processes on one address: ``credsync serve --workers N``.

One Python process answers requests on one core at a time (the interpreter's lock): about 165
federated sign-ins a second on this project's 2-core test machine, where the TLS, the HTTP
and the identity provider's own work cost some 6 ms of CPU each. ``--workers N`` runs N
server processes on the same listening sockets, as uvicorn's and gunicorn's pre-forking
servers do, and the kernel hands each new connection to one of them.

The process ``credsync serve`` started as (the supervisor) takes the address, unlocks the
vault and signs its operator in, then closes its database connections and forks, before it
has started any thread: N server processes and, unless ``--no-agent``, one agent process.
Each inherits the listening sockets and the unlocked key ring (so the passphrase is asked
once), and opens database connections of its own. The supervisor then only waits:

- a process that dies is forked again (the key ring is still there; the supervisor never
  starts a thread, so a fork never copies a lock some thread held); five deaths within
  ``CRASH_WINDOW`` seconds of their start, in a row, stop the whole server instead (a
  process that cannot start would be forked forever);
- SIGINT or SIGTERM is passed on as SIGTERM: each server process stops taking requests and
  waits for its own "sync now" runs as a single server does (``SHUTDOWN_GRACE``), the agent
  finishes the push in hand; what is still running ``KILL_AFTER`` seconds later is killed.

Every request can go to any process: what outlives a request is in the database (operators'
and people's sessions, the sign-in limiters' failures, the identity provider's pending
requests, security-key challenges), as it must be for several servers on one PostgreSQL.
On SQLite, writers of all the processes queue for the database's one write lock; see
:mod:`credsync.storage.database`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from credsync.api.state import ServerState
from credsync.errors import CredsyncError
from credsync.vault import Actor

__all__ = ["CRASH_WINDOW", "KILL_AFTER", "Supervisor"]

log = logging.getLogger("credsync.api")

CRASH_WINDOW = 10.0  # seconds: a process dying sooner than this after its start crashed
CRASHES_IN_A_ROW = 5
KILL_AFTER = 45.0  # seconds after SIGTERM before what is left is killed (SIGKILL)

ServeOne = Callable[[ServerState, "Actor | None"], None]


@dataclass
class _Child:
    role: str  # "server 1".., "agent"
    started: float


class Supervisor:
    """Forks and watches the server processes (``workers`` of them, each running
    ``serve_one(state, None)``) and, with ``agent_actor``, the agent's process."""

    def __init__(
        self,
        state: ServerState,
        agent_actor: Actor | None,
        *,
        workers: int,
        sockets: list[socket.socket],
        serve_one: ServeOne,
        heartbeat_file: Path | None = None,
    ) -> None:
        if workers < 2:
            raise ValueError("a supervisor is for two server processes or more")
        self._state, self._agent_actor = state, agent_actor
        self._workers, self._sockets, self._serve_one = workers, sockets, serve_one
        self._heartbeat_file = heartbeat_file  # the agent's, which /readyz reads
        self._children: dict[int, _Child] = {}
        self._stopping = False
        self._stop_signal = 0
        self._crashes = 0

    def run(self) -> int:
        """Fork, watch, stop; the exit status for the command: 0 when stopped by a signal,
        1 when processes kept crashing."""
        if threading.active_count() != 1:  # pragma: no cover - a wiring mistake
            raise RuntimeError("serve --workers: a thread started before the fork")
        self._state.vault.db.dispose()  # no connection crosses a fork
        previous = {
            sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGINT, signal.SIGTERM)
        }
        try:
            for index in range(1, self._workers + 1):
                self._fork(f"server {index}")
            if self._agent_actor is not None:
                self._fork("agent")
            return self._watch()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _on_signal(self, sig: int, frame: FrameType | None) -> None:
        if not self._stopping:
            self._stopping, self._stop_signal = True, sig
            self._signal_all(signal.SIGTERM)

    def _signal_all(self, sig: int) -> None:
        for pid in list(self._children):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)

    def _watch(self) -> int:
        """Polled (a tenth of a second): a signal only sets a flag, and the loop must notice
        ``KILL_AFTER`` passing even while no child stops."""
        status = 0
        kill_at: float | None = None
        while self._children:
            now = time.monotonic()
            if self._stopping and kill_at is None:
                kill_at = now + KILL_AFTER
            if kill_at is not None and now >= kill_at:
                log.warning("serve: processes running %.0f s after SIGTERM: killed", KILL_AFTER)
                self._signal_all(signal.SIGKILL)
                kill_at = now + 3600
            pid, code = os.waitpid(-1, os.WNOHANG)
            if not pid:
                time.sleep(0.1)
                continue
            child = self._children.pop(pid, None)
            if child is None or self._stopping:
                continue
            early = time.monotonic() - child.started < CRASH_WINDOW
            self._crashes = self._crashes + 1 if early else 0
            log.warning("serve: the %s process (pid %d) stopped (%s)", child.role, pid, _said(code))
            if self._crashes >= CRASHES_IN_A_ROW:
                log.error("serve: processes keep stopping at start; the server stops")
                self._stopping, status = True, 1
                self._signal_all(signal.SIGTERM)
                continue
            self._fork(child.role)
        return status

    def _fork(self, role: str) -> None:
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid:
            self._children[pid] = _Child(role, time.monotonic())
            return
        code = 0  # the child: never returns into the supervisor's code
        try:
            for sig in (signal.SIGINT, signal.SIGTERM):
                signal.signal(sig, signal.SIG_DFL)
            if role == "agent" and self._agent_actor is not None:
                for sock in self._sockets:
                    sock.close()
                _run_agent(self._state, self._agent_actor, self._heartbeat_file)
            else:
                self._serve_one(self._state, None)
        except CredsyncError as exc:
            log.error("serve: the %s process stops: %s", role, exc)
            code = 1
        except BaseException:
            log.exception("serve: the %s process stops on an error", role)
            code = 1
        finally:
            logging.shutdown()
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)


def _run_agent(state: ServerState, actor: Actor, heartbeat_file: Path | None) -> None:
    from credsync.agent.heartbeat import Heartbeat
    from credsync.agent.loop import Agent

    beat = None
    if heartbeat_file is not None:
        beat = Heartbeat(heartbeat_file, f"{socket.gethostname()}:{os.getpid()}").beat
    agent = Agent(state.vault, state.keys, actor, on_round=beat, retention=state.retention)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, agent.stop)
        await agent.run()

    asyncio.run(main())


def _said(code: int) -> str:
    if os.WIFSIGNALED(code):
        return f"signal {signal.Signals(os.WTERMSIG(code)).name}"
    return f"exit status {os.waitstatus_to_exitcode(code)}"
