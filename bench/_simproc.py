"""The Graph simulator in a process of its own (``_graphsim_server.py``), driven through its
stdin: one command a line, one JSON answer a line (see that module for the commands). Its CPU
is then its own, as Microsoft's cloud is not on the vault's machine."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import uuid
from pathlib import Path
from typing import Any

import msal
import requests

import _common as c

__all__ = ["SimProcess"]

SCOPE = ["https://graph.microsoft.com/.default"]


class SimProcess:
    """The process (started with ``args`` for ``_graphsim_server.py``), its tenant's facts,
    and its commands, one at a time (a watcher thread may ask while the bench does)."""

    def __init__(self, home: Path, *args: str) -> None:
        self.home = home
        self.proc = subprocess.Popen(
            [sys.executable, str(c.BENCH_DIR / "_graphsim_server.py"), *args],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        self._lock = threading.Lock()
        self.info: dict[str, Any] = self._line()
        self.domain = str(self.info["domain"])
        self.tenant_id = str(self.info["tenant_id"])
        self.authority = str(self.info["authority"]).removesuffix("/" + self.tenant_id)
        self.graph = str(self.info["graph_url"]).rstrip("/") + "/v1.0"
        self.ca_file = str(self.info["ca_file"])

    def _line(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise SystemExit("the simulator process stopped")
        answer: dict[str, Any] = json.loads(line)
        if "error" in answer:
            raise SystemExit(f"the simulator said: {answer['error']}")
        return answer

    def ask(self, command: str, data: Any = None) -> dict[str, Any]:
        """A command's answer; ``data`` goes in a JSON file the command names."""
        with self._lock:
            assert self.proc.stdin is not None
            path = None
            if data is not None:
                path = self.home / f"sim-{uuid.uuid4().hex[:8]}.json"
                path.write_text(json.dumps(data))
                command = f"{command} {path}"
            self.proc.stdin.write(command + "\n")
            self.proc.stdin.flush()
            try:
                return self._line()
            finally:
                if path is not None:
                    path.unlink()

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

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def __enter__(self) -> SimProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
