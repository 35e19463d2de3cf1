"""The remote agent's HTTPS client: its registration, then signed requests (poll, results).

Only HTTPS (plain http only to this very host, for tests), as the capture forwarder's client:
the server's certificate is always verified, against ``ca_file`` when given (no proxy or
certificate setting from the environment then applies), else the system's trust store. There
is no switch to turn verification off.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx

from credsync.agent._https import server_verify
from credsync.crypto.agent_keys import SIGNATURE_HEADER, TIME_HEADER, AgentKeys
from credsync.errors import AgentUnauthenticated, ConfigError, CredsyncError

__all__ = ["AgentClient", "ServerUnavailable", "register"]

API = "/api/v1/remote-agents"


class ServerUnavailable(CredsyncError):
    """The server did not answer, or answered 5xx: tried again later."""


def _http(server: str, ca_file: Path | None, timeout: float) -> httpx.AsyncClient:
    verify = server_verify(server, ca_file)
    return httpx.AsyncClient(
        base_url=server.rstrip("/"), verify=verify, trust_env=ca_file is None, timeout=timeout
    )


def _answer(response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        data = {}
    if not isinstance(data, dict):
        data = {}
    if response.status_code in (401, 403):
        raise AgentUnauthenticated(
            str((data.get("error") or {}).get("message") or "the server refused the agent")
        )
    if response.status_code >= 500:
        raise ServerUnavailable(f"the server answered {response.status_code}")
    if response.status_code >= 400:
        message = (data.get("error") or {}).get("message") or f"HTTP {response.status_code}"
        raise ConfigError(f"the server refused the request: {message}")
    return data


async def register(
    server: str, token: str, keys: AgentKeys, *, ca_file: Path | None = None
) -> dict[str, Any]:
    """Register the agent's public keys with its enrolment token; the agent as the server
    knows it."""
    async with _http(server, ca_file, 30.0) as http:
        try:
            response = await http.post(
                f"{API}/register",
                json={"token": token, "sign_key": keys.sign_public, "box_key": keys.box_public},
            )
        except httpx.TransportError as err:
            raise ServerUnavailable(f"{type(err).__name__}: {err}") from err
        return _answer(response)


class AgentClient:
    """Talks to one server as one agent."""

    def __init__(
        self,
        server: str,
        agent_id: str,
        keys: AgentKeys,
        *,
        ca_file: Path | None = None,
        timeout: float = 60.0,
    ) -> None:
        self.agent_id = agent_id
        self._keys = keys
        self._http = _http(server, ca_file, timeout)

    async def close(self) -> None:
        await self._http.aclose()

    async def _post(self, what: str, payload: dict[str, Any]) -> dict[str, Any]:
        path = f"{API}/{self.agent_id}/{what}"
        body = json.dumps(payload).encode("utf-8")
        when = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            TIME_HEADER: when,
            SIGNATURE_HEADER: self._keys.sign(self.agent_id, when, path, body),
        }
        try:
            response = await self._http.post(path, content=body, headers=headers)
        except httpx.TransportError as err:
            raise ServerUnavailable(f"{type(err).__name__}: {err}") from err
        return _answer(response)

    async def poll(self, wait: float) -> list[dict[str, Any]]:
        calls = (await self._post("poll", {"wait": wait})).get("calls")
        return [c for c in calls if isinstance(c, dict)] if isinstance(calls, list) else []

    async def results(self, results: list[dict[str, Any]]) -> None:
        await self._post("results", {"results": results})
