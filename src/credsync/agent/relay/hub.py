"""Calls for a remote agent, and the connector that makes them (see :mod:`credsync.agent.relay`).

A run on the server calls :class:`RelayedConnector` like any connector; each call waits in the
agent's :class:`Broker` until the agent polls (``POST /api/v1/remote-agents/{id}/poll``), and
its answer comes back with ``POST .../results``. What is secret in a call (the bind password,
a password to push or verify) is sealed to the agent's public key with associated data naming
the agent and the call (:func:`credsync.agent.remote.wire.aad`).

An agent that stops polling for :data:`GONE_AFTER` seconds is gone: its calls under way fail
as :class:`~credsync.errors.DirectoryUnreachable` (a push whose answer never came keeps its
intent, for the next run to settle: nothing is pushed twice), and its worker stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

from credsync.agent.remote.wire import (
    RELAYED_CAPABILITIES,
    aad,
    account_from_json,
    account_to_json,
    changes_from_json,
    config_to_json,
    error_from_json,
    options_to_json,
    verify_from_json,
)
from credsync.connectors.base import (
    Account,
    Capability,
    ChangeSet,
    DirectoryConfig,
    PasswordOptions,
    StepOutcome,
    TestStep,
    VerifyResult,
)
from credsync.crypto.agent_keys import seal
from credsync.errors import DirectoryUnreachable
from credsync.types import Secret
from credsync.vault.remote_agents import AgentIdentity

__all__ = ["CALL_TIMEOUT", "GONE_AFTER", "Broker", "RelayedConnector"]

GONE_AFTER = 10.0  # seconds without a poll: the agent is gone
CALL_TIMEOUT = 120.0  # seconds a call may take, answered or not
MAX_CALLS = 100  # calls handed out per poll


class Broker:
    """One remote agent's calls (in this server process)."""

    def __init__(self, identity: AgentIdentity) -> None:
        self.identity = identity
        self._loop = asyncio.get_running_loop()
        self._outbox: list[dict[str, Any]] = []
        self._ready = asyncio.Event()
        self._pending: dict[str, asyncio.Future[Any]] = {}
        self._polling = 0
        self._last_poll = self._loop.time()
        self.closed = False

    def alive(self) -> bool:
        if self.closed:
            return False
        return self._polling > 0 or self._loop.time() - self._last_poll < GONE_AFTER

    async def call(self, directory_id: str, op: str, args: Callable[[str], dict[str, Any]]) -> Any:
        """Hand ``op`` to the agent and wait for its answer; ``args`` makes the call's
        arguments from its id (sealed values are bound to it)."""
        if not self.alive():
            raise DirectoryUnreachable(f"the remote agent {self.identity.name!r} is not connected")
        call_id = str(uuid.uuid4())
        future: asyncio.Future[Any] = self._loop.create_future()
        self._pending[call_id] = future
        self._outbox.append(
            {"id": call_id, "op": op, "directory_id": directory_id, "args": args(call_id)}
        )
        self._ready.set()
        try:
            return await asyncio.wait_for(future, CALL_TIMEOUT)
        except TimeoutError:
            raise DirectoryUnreachable(
                f"the remote agent {self.identity.name!r} did not answer in {CALL_TIMEOUT:.0f} s"
            ) from None
        finally:
            self._pending.pop(call_id, None)

    def send(self, directory_id: str, op: str, args: dict[str, Any]) -> None:
        """A call whose answer nobody waits for (closing a connector)."""
        self._outbox.append(
            {"id": str(uuid.uuid4()), "op": op, "directory_id": directory_id, "args": args}
        )
        self._ready.set()

    async def take(self, wait: float) -> list[dict[str, Any]]:
        """The calls waiting for the agent (up to ``wait`` seconds for one to come)."""
        self._polling += 1
        try:
            if not self._outbox:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._ready.wait(), wait)
            out, self._outbox = self._outbox[:MAX_CALLS], self._outbox[MAX_CALLS:]
            if not self._outbox:
                self._ready.clear()
            return out
        finally:
            self._polling -= 1
            self._last_poll = self._loop.time()

    def answer(self, results: list[dict[str, Any]]) -> int:
        """The agent's answers; returns how many were waited for."""
        taken = 0
        for result in results:
            future = self._pending.get(str(result.get("id")))
            if future is None or future.done():
                continue
            taken += 1
            if result.get("ok"):
                future.set_result(result.get("value"))
            else:
                future.set_exception(error_from_json(dict(result.get("error") or {})))
        return taken

    def fail_all(self, reason: str) -> None:
        """Calls under way end as unreachable (the agent is gone)."""
        self.closed = True
        for future in self._pending.values():
            if not future.done():
                future.set_exception(DirectoryUnreachable(reason))
        self._outbox.clear()


class RelayedConnector:
    """A connector whose calls the remote agent makes; open with :meth:`open`."""

    kind: str
    capabilities: frozenset[Capability]

    def __init__(self, broker: Broker, directory_id: str, kind: str) -> None:
        self._broker = broker
        self._directory_id = directory_id
        self.kind = kind
        self.capabilities = frozenset()

    def __repr__(self) -> str:
        return f"RelayedConnector(agent={self._broker.identity.name!r}, kind={self.kind!r})"

    def _seal(self, call_id: str, purpose: str, secret: Secret) -> str:
        return seal(
            self._broker.identity.box_key,
            secret.reveal().encode("utf-8"),
            aad(self._broker.identity.id, call_id, purpose),
        )

    @classmethod
    async def open(
        cls, broker: Broker, directory_id: str, config: DirectoryConfig
    ) -> RelayedConnector:
        """The agent opens its connector to the directory with ``config`` (its bind password
        sealed to the agent) and says what it can do."""
        self = cls(broker, directory_id, config.kind)
        value = await broker.call(
            directory_id,
            "open",
            lambda cid: {
                "config": config_to_json(config),
                "bind_password": self._seal(cid, "open", config.bind_password),
            },
        )
        offered = {str(c) for c in (value or {}).get("capabilities", [])}
        self.capabilities = frozenset(c for c in RELAYED_CAPABILITIES if c.value in offered)
        return self

    async def _call(self, op: str, args: Callable[[str], dict[str, Any]]) -> Any:
        return await self._broker.call(self._directory_id, op, args)

    async def test_connection(self) -> list[TestStep]:
        return [
            TestStep(
                "remote agent",
                StepOutcome.WARNING,
                f"tested on the host of remote agent {self._broker.identity.name!r}",
            )
        ]

    async def iter_accounts(self) -> AsyncIterator[Account]:
        value = await self._call("list", lambda cid: {})
        for data in value:
            yield account_from_json(data)

    async def get_account(self, account_id: str) -> Account:
        value = await self._call("get_account", lambda cid: {"account_id": account_id})
        return account_from_json(value)

    async def verify_password(self, account: Account, secret: Secret) -> VerifyResult:
        value = await self._call(
            "verify_password",
            lambda cid: {
                "account": account_to_json(account),
                "secret": self._seal(cid, "verify_password", secret),
            },
        )
        return verify_from_json(value)

    async def set_password(
        self, account: Account, secret: Secret, options: PasswordOptions
    ) -> Account:
        value = await self._call(
            "set_password",
            lambda cid: {
                "account": account_to_json(account),
                "secret": self._seal(cid, "set_password", secret),
                "options": options_to_json(options),
            },
        )
        return account_from_json(value)

    async def changes_since(self, cursor: str | None) -> ChangeSet:
        value = await self._call("changes_since", lambda cid: {"cursor": cursor})
        return changes_from_json(value)

    async def close(self) -> None:
        if self._broker.alive():
            self._broker.send(self._directory_id, "close", {})

    async def __aenter__(self) -> RelayedConnector:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
