"""What ``credsync serve`` is told for operations: the scrape token of ``/metrics`` and
whether an agent of its own process, of another process on the same home, or none is to be
watched by ``/readyz`` (see :mod:`credsync.server.health`, :mod:`credsync.server.metrics`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from credsync.server.health import AgentWatch
from credsync.types import Secret

if TYPE_CHECKING:
    from credsync.agent.loop import Agent

__all__ = ["Ops"]


@dataclass(frozen=True)
class Ops:
    """``metrics_token``: the token ``/metrics`` asks for (None: off); ``heartbeat_file``:
    the heartbeat of an agent running as its own process that ``/readyz`` expects (None:
    none, unless the server runs its own); ``remote_agents``: the remote agents ``/readyz``
    expects to be polling."""

    metrics_token: Secret | None = None
    heartbeat_file: Path | None = None
    remote_agents: tuple[str, ...] = ()  # --expect-remote-agent: names /readyz watches

    def agent_watch(self, running: Sequence[Agent] | None) -> AgentWatch:
        """``running``: where the server's own agent is put once started (None: it runs
        none)."""
        if running is not None:
            return AgentWatch(
                beat=lambda: running[0].last_round if running else None,
                remote_agents=self.remote_agents,
            )
        return AgentWatch(heartbeat_file=self.heartbeat_file, remote_agents=self.remote_agents)
