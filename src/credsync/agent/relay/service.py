"""The remote agents connected to this server process: their brokers and workers (see
:mod:`credsync.agent.relay`)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from credsync.agent.relay.hub import Broker
from credsync.agent.relay.worker import RelayWorker
from credsync.vault.keyring import KeyRing
from credsync.vault.remote_agents import AgentIdentity, RemoteAgents
from credsync.vault.service import Vault

__all__ = ["MAX_WAIT", "RelayHub"]

log = logging.getLogger("credsync.agent")

MAX_WAIT = 20.0  # seconds a poll may wait for a call
SEEN_EVERY = 5.0  # seconds between two writes of an agent's last_seen_at


class RelayHub:
    def __init__(self, vault: Vault, keys: KeyRing) -> None:
        self._vault = vault
        self._keys = keys
        self._agents = RemoteAgents(vault)
        self._brokers: dict[str, Broker] = {}
        self._workers: dict[str, asyncio.Task[None]] = {}
        self._seen: dict[str, float] = {}

    def _broker(self, identity: AgentIdentity) -> Broker:
        old = self._brokers.get(identity.id)
        fresh = old is None or old.closed or old.identity != identity
        if fresh:
            if old is not None:  # registered again (new keys): the old calls are void
                old.fail_all(f"the remote agent {identity.name!r} registered new keys")
            broker = Broker(identity)
            self._brokers[identity.id] = broker
        else:
            broker = self._brokers[identity.id]
        worker = self._workers.get(identity.id)
        if fresh or worker is None or worker.done():
            log.info("remote agent %s connected", identity.name)
            self._workers[identity.id] = asyncio.create_task(
                RelayWorker(self._vault, self._keys, broker).serve()
            )
        return broker

    async def poll(self, identity: AgentIdentity, wait: float) -> list[dict[str, Any]]:
        """The calls for the agent (waiting up to ``wait`` seconds for one)."""
        broker = self._broker(identity)
        now = asyncio.get_running_loop().time()
        if now - self._seen.get(identity.id, -SEEN_EVERY) >= SEEN_EVERY:
            self._seen[identity.id] = now
            await asyncio.to_thread(self._agents.seen, identity.id)
        return await broker.take(max(0.0, min(wait, MAX_WAIT)))

    def answer(self, identity: AgentIdentity, results: list[dict[str, Any]]) -> int:
        broker = self._brokers.get(identity.id)
        return broker.answer(results) if broker is not None else 0

    async def close(self) -> None:
        for broker in self._brokers.values():
            broker.fail_all("the server is stopping")
        tasks = list(self._workers.values())
        for task in tasks:
            task.cancel()
        with contextlib.suppress(Exception):
            await asyncio.gather(*tasks, return_exceptions=True)
