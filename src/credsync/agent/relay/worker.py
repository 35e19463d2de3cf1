"""The agent loop of one remote agent's directories, on the server (see
:mod:`credsync.agent.relay`).

It is :class:`~credsync.agent.loop.Agent` itself, so a remote agent's pushes are claimed,
run, acknowledged, retried and given up exactly as a local agent's are (the same queue
claims with leases, ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, and the same engine runs and
directory leases), with three differences:

- it claims only the queued pushes of the agent's directories, and makes the periodic runs
  of those only;
- its connectors are :class:`~credsync.agent.relay.hub.RelayedConnector`\\ s: the directory
  is reached by the remote agent;
- it runs while the agent polls, as the agent (``agent:<name>``), and stops when the agent is
  gone; what it had claimed and did not finish goes back to the queue (a run cut short is
  retried, its unknown push settled by the next run).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from credsync.agent.loop import Agent, _Open
from credsync.agent.relay.hub import Broker, RelayedConnector
from credsync.connectors.base import Connector
from credsync.storage import directories as directory_rows
from credsync.sync import lease
from credsync.vault.keyring import KeyRing
from credsync.vault.remote_agents import agent_actor
from credsync.vault.service import Vault

__all__ = ["RelayWorker"]

log = logging.getLogger("credsync.agent")


class RelayWorker(Agent):
    def __init__(self, vault: Vault, keys: KeyRing, broker: Broker, *, poll_seconds: float = 0.2):
        super().__init__(vault, keys, agent_actor(broker.identity.name), poll_seconds=poll_seconds)
        self._broker = broker
        self._mine = broker.identity.directory_ids
        self._name = f"agent:{broker.identity.name}@{lease.owner()}"[:64]

    def _only(self) -> list[str] | None:
        return sorted(self._mine)

    def _elsewhere(self) -> set[str]:
        """Every directory but the agent's."""
        with self._db.read() as conn:
            return {str(r.id) for r in directory_rows.syncing(conn)} - self._mine

    async def _connector(self, directory_id: str, version: int) -> Connector:
        entry = self._open.get(directory_id)
        if entry is not None and entry.version == version:
            return entry.connector
        config = await asyncio.to_thread(self._engine.config, directory_id)
        connector = await RelayedConnector.open(self._broker, directory_id, config)
        self._open[directory_id] = _Open(version, connector)
        return connector

    async def serve(self) -> None:
        """Pushes and periodic runs of the agent's directories while it polls."""
        try:
            while self._broker.alive() and not self.stop_event.is_set():
                try:
                    await self.drain_queue()
                    await self._start_due_runs()
                except Exception:  # the database away: tried again next round
                    log.exception("remote agent %s: a round failed", self._broker.identity.name)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.stop_event.wait(), self._poll)
        finally:
            self._broker.fail_all(f"the remote agent {self._broker.identity.name!r} is gone")
            tasks = list(self._periodic.values())
            if tasks:
                await asyncio.gather(*tasks, return_exceptions=True)
            self._open.clear()
