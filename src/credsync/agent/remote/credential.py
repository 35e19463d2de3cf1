"""The remote agent's credential file: JSON with the server's URL, the agent's id and name,
an optional CA file to verify the server with, and the agent's two private keys. Written with
mode 0600 (and refused when others can read it)."""

from __future__ import annotations

import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from credsync.crypto.agent_keys import AgentKeys
from credsync.errors import ConfigError

__all__ = ["AgentCredential"]


@dataclass(frozen=True)
class AgentCredential:
    server: str
    agent_id: str
    name: str
    keys: AgentKeys
    ca_file: Path | None = None

    def __repr__(self) -> str:
        return f"AgentCredential(server={self.server!r}, agent_id={self.agent_id!r})"

    def save(self, path: Path) -> None:
        data: dict[str, Any] = {
            "format": "credsync-agent-credential-v1",
            "server": self.server,
            "agent_id": self.agent_id,
            "name": self.name,
            "ca_file": str(self.ca_file) if self.ca_file else None,
            **self.keys.to_json(),
        }
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            os.fchmod(out.fileno(), 0o600)
            json.dump(data, out)

    @classmethod
    def load(cls, path: Path) -> AgentCredential:
        try:
            mode = path.stat().st_mode
            if mode & (stat.S_IRWXG | stat.S_IRWXO):
                raise ConfigError(
                    f"{path}: the agent credential must be readable by its owner only "
                    f"(chmod 600 {path})"
                )
            data = json.loads(path.read_text(encoding="utf-8"))
        except OSError as err:
            raise ConfigError(f"cannot read the agent credential {path}: {err.strerror}") from None
        except ValueError:
            raise ConfigError(f"{path} is not an agent credential (not JSON)") from None
        if not isinstance(data, dict) or data.get("format") != "credsync-agent-credential-v1":
            raise ConfigError(f"{path} is not an agent credential")
        ca = data.get("ca_file")
        return cls(
            server=str(data["server"]),
            agent_id=str(data["agent_id"]),
            name=str(data.get("name", "")),
            keys=AgentKeys.from_json(data),
            ca_file=Path(ca) if ca else None,
        )
