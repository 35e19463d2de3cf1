"""What the server answered a forwarder, apart from the HTTP stack that carried it (so the
sender and the forwarder's loop start without importing it: see
:func:`credsync.agent.capture.samba.run_forwarder`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["CaptureReply", "ServerUnavailable"]


class ServerUnavailable(Exception):
    """No answer from the server (connection, TLS, timeout): try again later."""


@dataclass(frozen=True)
class CaptureReply:
    status: int
    body: dict[str, Any]

    @property
    def code(self) -> str | None:
        error = self.body.get("error")
        return error.get("code") if isinstance(error, dict) else None

    @property
    def message(self) -> str:
        error = self.body.get("error")
        return str(error.get("message", "")) if isinstance(error, dict) else ""
