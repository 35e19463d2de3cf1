"""The Graph simulator in a process of its own (``_graphsim_server.py``), driven through its
stdin: one command a line, one JSON answer a line (see that module for the commands). Its CPU
is then its own, as Microsoft's cloud is not on the vault's machine."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import msal
import requests

import _common as c
from credsync.testing.line_child import LineChild

__all__ = ["SimProcess"]

SCOPE = ["https://graph.microsoft.com/.default"]


class SimProcess(LineChild):
    """The process (started with ``args`` for ``_graphsim_server.py``), its tenant's facts,
    and its commands, one at a time (a watcher thread may ask while the bench does)."""

    def __init__(self, home: Path, *args: str) -> None:
        argv = [sys.executable, str(c.BENCH_DIR / "_graphsim_server.py"), *args]
        super().__init__(argv, home, close_timeout=60.0)
        self.domain = str(self.info["domain"])
        self.tenant_id = str(self.info["tenant_id"])
        self.authority = str(self.info["authority"]).removesuffix("/" + self.tenant_id)
        self.graph = str(self.info["graph_url"]).rstrip("/") + "/v1.0"
        self.ca_file = str(self.info["ca_file"])

    def _line(self) -> dict[str, Any]:
        try:
            answer: dict[str, Any] = super()._line()
        except RuntimeError:
            raise SystemExit("the simulator process stopped") from None
        if "error" in answer:
            raise SystemExit(f"the simulator said: {answer['error']}")
        return answer

    def ask(self, command: str, data: Any = None) -> dict[str, Any]:
        answer: dict[str, Any] = super().ask(command, data)
        return answer

    def writes(self) -> int:
        return int(self.ask("stats").get("writes", 0))

    def cpu(self) -> float:
        """The process's CPU time so far, in seconds."""
        return float(self.ask("cpu")["cpu"])

    def token(self) -> str:
        session = requests.Session()
        session.trust_env = False
        session.verify = self.ca_file
        app = msal.ConfidentialClientApplication(
            self.info["client_id"], authority=str(self.info["authority"]),
            client_credential=self.info["client_secret"], http_client=session,
            instance_discovery=False)  # fmt: skip
        return str(app.acquire_token_for_client(SCOPE)["access_token"])

    def __enter__(self) -> SimProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
