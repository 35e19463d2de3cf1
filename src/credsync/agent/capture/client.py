"""The forwarder's HTTPS client: signed requests to the capture endpoints (wire format v1).

It signs as an enrolled forwarder (its token: :class:`~credsync.crypto.forwarders.ForwarderToken`,
to ``/api/v1/agents/{forwarder_id}/...``) or with a remote agent's credential for one of the
agent's directories (:class:`AgentSigner`, to
``/api/v1/remote-agents/{agent_id}/directories/{directory}/...``, signed as every request of
the agent is; docs/remote-agent.md, "Captures").

Only HTTPS (plain http only to this very host, for a local relay or tests). The server's
certificate is always verified: against ``ca_file`` when given (and then no proxy or
certificate setting from the environment applies: ``trust_env=False``), else the system's
trust store. There is no switch to turn verification off.
"""

from __future__ import annotations

import time
from pathlib import Path
from urllib.parse import quote

import httpx

from credsync.agent._https import server_verify
from credsync.agent.capture.reply import CaptureReply, ServerUnavailable
from credsync.crypto.agent_keys import SIGNATURE_HEADER as AGENT_SIGNATURE_HEADER
from credsync.crypto.agent_keys import TIME_HEADER, AgentKeys
from credsync.crypto.forwarders import SIGNATURE_HEADER, ForwarderToken

__all__ = ["AgentSigner", "CaptureClient", "CaptureReply", "ServerUnavailable"]


class AgentSigner:
    """Signs capture requests with a remote agent's key, for one of its directories (its id
    or name, as the server knows it). The repr hides the key."""

    __slots__ = ("_keys", "agent_id", "directory")

    def __init__(self, agent_id: str, keys: AgentKeys, directory: str) -> None:
        self.agent_id = agent_id
        self.directory = directory
        self._keys = keys

    def __repr__(self) -> str:
        return f"AgentSigner(agent_id={self.agent_id!r}, directory={self.directory!r})"

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("keys cannot be pickled")

    def paths(self, what: str) -> tuple[str, str]:
        """(the path signed, the path requested: the directory percent-encoded)."""
        base = f"/api/v1/remote-agents/{self.agent_id}/directories/"
        return f"{base}{self.directory}/{what}", f"{base}{quote(self.directory, safe='')}/{what}"

    def headers(self, signed_path: str, body: bytes) -> dict[str, str]:
        when = str(int(time.time()))
        return {
            TIME_HEADER: when,
            AGENT_SIGNATURE_HEADER: self._keys.sign(self.agent_id, when, signed_path, body),
        }


class CaptureClient:
    """Talks to one server as one forwarder (or as a remote agent for one directory)."""

    def __init__(
        self,
        server: str,
        signer: ForwarderToken | AgentSigner,
        *,
        ca_file: Path | None = None,
        timeout: float = 15.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        verify = server_verify(server, ca_file)
        self.signer = signer
        self._http = httpx.Client(
            base_url=server.rstrip("/"),
            verify=verify,
            trust_env=ca_file is None,
            timeout=timeout,
            transport=transport,
        )

    @property
    def sender_id(self) -> str:
        """What a batch's ``forwarder_id`` says: the forwarder's id, or the agent's."""
        signer = self.signer
        return signer.agent_id if isinstance(signer, AgentSigner) else signer.forwarder_id

    def _paths(self, what: str) -> tuple[str, str]:
        if isinstance(self.signer, AgentSigner):
            return self.signer.paths(what)
        path = f"/api/v1/agents/{self.signer.forwarder_id}/{what}"
        return path, path

    @property
    def captures_path(self) -> str:
        return self._paths("captures")[1]

    @property
    def key_path(self) -> str:
        return self._paths("capture-key")[1]

    def _send(self, method: str, what: str, body: bytes) -> CaptureReply:
        signed, path = self._paths(what)
        if isinstance(self.signer, AgentSigner):
            headers = self.signer.headers(signed, body)
        else:
            headers = {SIGNATURE_HEADER: self.signer.sign(signed, body)}
        if body:
            headers["Content-Type"] = "application/json"
        try:
            response = self._http.request(method, path, content=body, headers=headers)
        except httpx.TransportError as err:
            raise ServerUnavailable(f"{type(err).__name__}: {err}") from err
        try:
            data = response.json()
        except ValueError:
            data = {}
        return CaptureReply(response.status_code, data if isinstance(data, dict) else {})

    def post_captures(self, body: bytes) -> CaptureReply:
        """POST one batch (``body`` exactly as signed)."""
        return self._send("POST", "captures", body)

    def capture_key(self) -> CaptureReply:
        """GET the directory's capture public key (signed over an empty body)."""
        return self._send("GET", "capture-key", b"")

    def close(self) -> None:
        self._http.close()
