"""The forwarder's HTTPS client: signed requests to the capture endpoints (wire format v1).

Only HTTPS (plain http only to this very host, for a local relay or tests). The server's
certificate is always verified: against ``ca_file`` when given (and then no proxy or
certificate setting from the environment applies: ``trust_env=False``), else the system's
trust store. There is no switch to turn verification off.
"""

from __future__ import annotations

from pathlib import Path

import httpx

from credsync.agent._https import server_verify
from credsync.agent.capture.reply import CaptureReply, ServerUnavailable
from credsync.crypto.forwarders import SIGNATURE_HEADER, ForwarderToken

__all__ = ["CaptureClient", "CaptureReply", "ServerUnavailable"]


class CaptureClient:
    """Talks to one server as one forwarder."""

    def __init__(
        self,
        server: str,
        signer: ForwarderToken,
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
    def captures_path(self) -> str:
        return f"/api/v1/agents/{self.signer.forwarder_id}/captures"

    @property
    def key_path(self) -> str:
        return f"/api/v1/agents/{self.signer.forwarder_id}/capture-key"

    def _send(self, method: str, path: str, body: bytes) -> CaptureReply:
        headers = {SIGNATURE_HEADER: self.signer.sign(path, body)}
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
        return self._send("POST", self.captures_path, body)

    def capture_key(self) -> CaptureReply:
        """GET the directory's capture public key (signed over an empty body)."""
        return self._send("GET", self.key_path, b"")

    def close(self) -> None:
        self._http.close()
