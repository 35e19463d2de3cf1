"""The remote agent's loop: poll the server for calls, make each with the normal connector of
its directory, post the answer (docs/remote-agent.md).

- ``open`` opens (or reopens) the directory's connector with the settings sent and the bind
  password sealed to this agent (opened with the call's id as associated data: a sealed value
  taken from another call or sent to another agent does not open); the answer is the
  connector's capabilities.
- ``get_account``, ``set_password``, ``verify_password``, ``changes_since``, ``list``: the
  connector's methods; a password comes sealed the same way, and is dropped once used.
- A failure is answered as the connector's error (its class and message: connectors never
  put a secret in one); anything else as "the agent failed: <type>".
- The server away: polled again after a backoff (1 s doubling to 30 s). The agent refused
  (revoked, or re-enrolled): it stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from credsync.agent.remote.client import AgentClient, ServerUnavailable
from credsync.agent.remote.wire import (
    OPS,
    aad,
    account_from_json,
    account_to_json,
    changes_to_json,
    config_from_json,
    error_to_json,
    options_from_json,
    verify_to_json,
)
from credsync.connectors.base import Connector
from credsync.connectors.registry import ConnectorFactory, open_connector
from credsync.crypto.agent_keys import AgentKeys, SealError
from credsync.errors import DirectoryUnreachable, PermanentConnectorError
from credsync.types import Secret

__all__ = ["POLL_WAIT", "RemoteAgentRunner"]

log = logging.getLogger("credsync.agent")

POLL_WAIT = 5.0  # seconds a poll waits on the server for a call
MAX_BACKOFF = 30.0


class RemoteAgentRunner:
    def __init__(
        self,
        client: AgentClient,
        keys: AgentKeys,
        *,
        factory: ConnectorFactory = open_connector,
    ) -> None:
        self._client = client
        self._keys = keys
        self._factory = factory
        self._connectors: dict[str, Connector] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self.stop_event = asyncio.Event()
        self.calls = 0  # answered so far

    def stop(self) -> None:
        self.stop_event.set()

    async def run(self) -> None:
        backoff = 1.0
        try:
            while not self.stop_event.is_set():
                try:
                    calls = await self._client.poll(POLL_WAIT)
                except ServerUnavailable as exc:
                    log.warning("the server is away (%s): trying again in %.0f s", exc, backoff)
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self.stop_event.wait(), backoff)
                    backoff = min(MAX_BACKOFF, backoff * 2)
                    continue
                backoff = 1.0
                for call in calls:
                    task = asyncio.create_task(self._handle(call))
                    self._tasks.add(task)
                    task.add_done_callback(self._tasks.discard)
        finally:
            if self._tasks:
                await asyncio.gather(*self._tasks, return_exceptions=True)
            for connector in self._connectors.values():
                with contextlib.suppress(Exception):
                    await connector.close()
            self._connectors.clear()

    async def _handle(self, call: dict[str, Any]) -> None:
        call_id = str(call.get("id"))
        try:
            answer = {"id": call_id, "ok": True, "value": await self._do(call)}
        except Exception as exc:
            if not isinstance(exc, DirectoryUnreachable | PermanentConnectorError):
                log.warning("call %s failed: %s", call.get("op"), type(exc).__name__)
            answer = {"id": call_id, "ok": False, "error": error_to_json(exc)}
        if call.get("op") == "close":
            return
        for attempt in range(5):
            try:
                await self._client.results([answer])
                self.calls += 1
                return
            except ServerUnavailable:
                await asyncio.sleep(min(MAX_BACKOFF, 2.0**attempt))
        log.warning("the answer to call %s could not be sent", call_id)

    def _open(self, call_id: str, purpose: str, sealed: object) -> Secret:
        try:
            return Secret(
                self._keys.open(str(sealed), aad(self._client.agent_id, call_id, purpose)).decode()
            )
        except SealError as exc:
            raise PermanentConnectorError(str(exc)) from None

    async def _do(self, call: dict[str, Any]) -> Any:
        op, call_id = str(call.get("op")), str(call.get("id"))
        directory_id = str(call.get("directory_id"))
        args = call.get("args") or {}
        if op not in OPS:
            raise PermanentConnectorError(f"unknown call {op!r} (a newer server?)")
        if op == "open":
            config = config_from_json(
                args["config"], self._open(call_id, "open", args["bind_password"])
            )
            old = self._connectors.pop(directory_id, None)
            if old is not None:
                with contextlib.suppress(Exception):
                    await old.close()
            connector = self._factory(config)
            self._connectors[directory_id] = connector
            return {"capabilities": sorted(c.value for c in connector.capabilities)}
        if op == "close":
            closing = self._connectors.pop(directory_id, None)
            if closing is not None:
                await closing.close()
            return None
        found = self._connectors.get(directory_id)
        if found is None:  # this agent restarted since: the server opens it again
            raise DirectoryUnreachable("the directory's connector is not open on the agent")
        connector = found
        if op == "get_account":
            return account_to_json(await connector.get_account(str(args["account_id"])))
        if op == "set_password":
            secret = self._open(call_id, "set_password", args["secret"])
            account = account_from_json(args["account"])
            done = await connector.set_password(account, secret, options_from_json(args["options"]))
            return account_to_json(done)
        if op == "verify_password":
            secret = self._open(call_id, "verify_password", args["secret"])
            result = await connector.verify_password(account_from_json(args["account"]), secret)
            return verify_to_json(result)
        if op == "changes_since":
            cursor = args.get("cursor")
            return changes_to_json(await connector.changes_since(cursor))
        return [account_to_json(a) async for a in connector.iter_accounts()]
