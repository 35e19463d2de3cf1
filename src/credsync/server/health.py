"""``/healthz`` and ``/readyz``: is the process answering, and is it ready to work.

Both are unauthenticated (a load balancer, systemd or a container runtime asks them), say
nothing sensitive (no client, no count, no version of anything but the schema's revision
number), are cheap, and are never cached (``Cache-Control: no-store``).

- ``GET /healthz``: 200 ``{"status": "ok"}`` as long as the process answers. It touches
  nothing else (no database): a container's HEALTHCHECK restarts a process that hangs, not
  one whose database is away.
- ``GET /readyz``: 200 ``{"status": "ready", "checks": {...}}`` when every check passes, else
  503 ``{"status": "not_ready", "checks": {...}, "failed": [names]}``. Each check is
  ``{"ok": bool, "detail": str}``:

  ``database``  a read transaction on the vault's database succeeds;
  ``schema``    the database is at the revision this credsync needs (``SCHEMA_REVISION``);
  ``vault``     the server holds the vault unlocked (its key ring has the master key);
  ``agent``     the agent is alive, when one is expected (see :class:`AgentWatch`);
  ``remote_agents``  only with ``serve --expect-remote-agent NAME`` (repeatable): each named
                remote agent polled within :data:`~credsync.agent.loop.REMOTE_ALIVE` (30 s);
                else it fails naming the ones that did not. The answer then also has
                ``"remote_agents": {NAME: {"alive", "state", "last_seen_seconds"}}`` for
                those agents (and only those: the route is unauthenticated, so it names no
                agent the operator did not name on the command line). One query.

**"Agent alive"**: with the agent in the server's process (``credsync serve`` without
``--no-agent``), its loop has gone round within :data:`AGENT_STALE` seconds (the loop goes
round every poll, 0.2 s by default, and at least every few seconds). With the agent as its
own process (``credsync serve --no-agent --expect-agent`` beside ``credsync agent`` on the same
home), the agent's heartbeat file (``$CREDSYNC_HOME/agent.heartbeat``, touched each round,
at most every few seconds, see :mod:`credsync.agent.heartbeat`) is younger than
:data:`AGENT_STALE` seconds. ``serve --no-agent`` alone expects none: the check passes, saying
so.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from starlette.requests import Request

from credsync.agent.heartbeat import age_of
from credsync.agent.loop import REMOTE_ALIVE
from credsync.api.state import ServerState
from credsync.storage.database import SCHEMA_REVISION
from credsync.vault.remote_agents import RemoteAgents

__all__ = ["AGENT_STALE", "AgentWatch", "install_health"]

AGENT_STALE = 60.0  # seconds without a sign of the agent's loop: not alive
_NO_STORE = {"Cache-Control": "no-store"}


@dataclass(frozen=True)
class AgentWatch:
    """How ``/readyz`` knows the agent is alive: ``beat`` gives the (``time.time()``) time of
    the in-process agent's last round; ``heartbeat_file``: a separate agent's file. Neither:
    no agent is expected."""

    beat: Callable[[], float | None] | None = None
    heartbeat_file: Path | None = None
    remote_agents: tuple[str, ...] = ()  # remote agents (names) that must be polling

    def check(self, now: float) -> tuple[bool, str]:
        if self.beat is not None:
            last = self.beat()
            if last is None:
                return False, "the agent has not started its first round"
            age = now - last
            where = "the agent in this process"
        elif self.heartbeat_file is not None:
            found = age_of(self.heartbeat_file, now)
            if found is None:
                return False, "no heartbeat from the agent process (is `credsync agent` running?)"
            age = found
            where = "the agent process"
        else:
            return True, "no agent expected (serve --no-agent)"
        if age > AGENT_STALE:
            return False, f"{where} last went round {age:.0f} s ago (more than {AGENT_STALE:.0f} s)"
        return True, f"{where} went round {age:.0f} s ago"


RemoteAges = dict[str, dict[str, object]]


def _remote_agents(
    state: ServerState, names: tuple[str, ...], now: float
) -> tuple[tuple[bool, str], RemoteAges]:
    """The ``remote_agents`` check and each expected agent's age (see the module)."""
    window = REMOTE_ALIVE.total_seconds()
    try:
        found = RemoteAgents(state.vault).liveness(names)
    except Exception as exc:  # the database check says why
        return (False, f"unknown: the database is unreachable ({type(exc).__name__})"), {}
    ages: RemoteAges = {}
    down: list[str] = []
    for name in names:
        agent = found.get(name)
        seen = None if agent is None or agent.last_seen_at is None else agent.last_seen_at
        age = None if seen is None else max(0.0, now - seen.timestamp())
        alive = bool(agent and agent.state == "active" and age is not None and age <= window)
        ages[name] = {
            "alive": alive,
            "state": "unknown" if agent is None else agent.state,
            "last_seen_seconds": None if age is None else round(age),
        }
        if not alive:
            down.append(name)
    if down:
        return (
            False,
            f"not polled within {window:.0f} s: {', '.join(down)} "
            "(see `credsync remote-agent list`)",
        ), ages
    return (True, f"{len(names)} polled within {window:.0f} s"), ages


def _readiness(
    state: ServerState, watch: AgentWatch, ages: RemoteAges | None = None
) -> dict[str, tuple[bool, str]]:
    checks: dict[str, tuple[bool, str]] = {}
    db = state.vault.db
    try:
        revision = db.schema_revision()
    except Exception as exc:  # whatever it is, the answer is 503 naming the check
        checks["database"] = (False, f"unreachable: {type(exc).__name__}")
        checks["schema"] = (False, "unknown: the database is unreachable")
    else:
        if revision is None:
            checks["database"] = (False, "reachable, but it holds no credsync vault")
        else:
            checks["database"] = (True, "reachable")
        if revision == SCHEMA_REVISION:
            checks["schema"] = (True, f"at revision {revision}")
        else:
            checks["schema"] = (
                False,
                f"at revision {revision}, this credsync needs {SCHEMA_REVISION}: "
                "run `credsync db upgrade`",
            )
    unlocked = state.keys.unlocked
    checks["vault"] = (unlocked, "unlocked" if unlocked else "locked")
    now = time.time()
    checks["agent"] = watch.check(now)
    if watch.remote_agents:
        checks["remote_agents"], found = _remote_agents(state, watch.remote_agents, now)
        if ages is not None:
            ages.update(found)
    return checks


def install_health(app: FastAPI, state: ServerState, watch: AgentWatch) -> None:
    """Add ``/healthz`` and ``/readyz`` to ``app`` (outside the API's schema)."""

    async def healthz(request: Request) -> JSONResponse:
        del request
        return JSONResponse({"status": "ok"}, headers=_NO_STORE)

    def readyz(request: Request) -> JSONResponse:  # sync: FastAPI runs it in a thread
        del request
        ages: RemoteAges = {}
        checks = _readiness(state, watch, ages)
        failed = [name for name, (ok, _) in checks.items() if not ok]
        body: dict[str, object] = {
            "status": "not_ready" if failed else "ready",
            "checks": {name: {"ok": ok, "detail": d} for name, (ok, d) in checks.items()},
        }
        if watch.remote_agents:
            body["remote_agents"] = ages
        if failed:
            body["failed"] = failed
        return JSONResponse(body, status_code=503 if failed else 200, headers=_NO_STORE)

    app.add_api_route("/healthz", healthz, methods=["GET"], include_in_schema=False)
    app.add_api_route("/readyz", readyz, methods=["GET"], include_in_schema=False)
