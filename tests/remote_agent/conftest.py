"""A real ``credsync serve`` (HTTPS on 127.0.0.1, its own test CA) on a SQLite vault whose
client's directory is this test's own OU of the shared Samba AD DC, and remote agents as
processes of their own (``credsync remote-agent register`` then ``run``), which reach the
server only through its HTTPS port."""

from __future__ import annotations

import os
import socket
import ssl
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from credsync.testing import prefork
from credsync.testing.samba import OuWorld
from credsync.vault.remote_agents import RemoteAgents
from sync.helpers import SyncWorld, build_sync_world
from vault.helpers import ADMIN_PASSWORD, PASSPHRASE, VaultWorld

# seconds: the longest a bounded wait here may take; past the 2-minute leases a killed agent's
# claims and its run's directory lease may hold (its work is taken over when they end)
WAIT = 240.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class RemoteWorld:
    sw: SyncWorld
    home: Path
    env: dict[str, str]
    url: str
    ca_file: Path
    procs: list[tuple[str, prefork.Child, Path]] = field(default_factory=list)

    def __repr__(self) -> str:  # env holds the passphrase and the admin's password
        return f"RemoteWorld(url={self.url!r})"

    def spawn(
        self, label: str, args: list[str], env: dict[str, str] | None = None, **kw: Any
    ) -> prefork.Child:
        log = self.home / f"{label}.log"
        with log.open("wb") as stderr:
            proc = prefork.spawn(
                args, env or self.env, stderr=stderr.fileno(), new_session=True, **kw
            )
        self.procs.append((label, proc, log))
        return proc

    def logs(self) -> str:
        return "\n".join(f"--- {label}\n{log.read_text()[-4000:]}" for label, _, log in self.procs)

    def agent_env(self) -> dict[str, str]:
        """What an agent's host has: no vault, no passphrase, no operator."""
        return {
            **{k: v for k, v in os.environ.items() if not k.startswith("CREDSYNC_")},
            "CREDSYNC_HOME": str(self.home / "agent-host"),
            "PYTHONUNBUFFERED": "1",
        }

    def enroll(self, name: str) -> str:
        return (
            RemoteAgents(self.sw.vault)
            .enroll(self.sw.admin, name, [self.sw.directory])
            .token.reveal()
        )

    def register(self, name: str) -> Path:
        credential = self.home / f"{name}.json"
        token = self.enroll(name)
        proc = self.spawn(
            f"register-{name}",
            ["remote-agent", "register", "--server", self.url, "--token", token,
             "--credential", str(credential), "--ca-file", str(self.ca_file)],
            self.agent_env(),
        )  # fmt: skip
        assert proc.wait(60) == 0, self.logs()
        return credential

    def start_agent(self, credential: Path) -> prefork.Child:
        return self.spawn(
            f"agent-{credential.stem}-{len(self.procs)}",
            ["remote-agent", "run", "--credential", str(credential)],
            self.agent_env(),
        )

    def until(self, done: Callable[[], bool], never: str) -> None:
        deadline = time.monotonic() + WAIT
        while not done():
            if time.monotonic() > deadline:
                pytest.fail(f"{never} (after {WAIT:.0f} s)\n{self.logs()}")
            time.sleep(0.05)

    def close(self) -> None:
        for _, proc, _ in self.procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)


@pytest.fixture
def sw(sqlite_world: VaultWorld, ad_ou: OuWorld) -> SyncWorld:
    return build_sync_world(sqlite_world, ad_ou)


@pytest.fixture
def sw_both(world: VaultWorld, ad_ou: OuWorld) -> SyncWorld:
    return build_sync_world(world, ad_ou)


@pytest.fixture
def remote(sw: SyncWorld, tmp_path: Path) -> Iterator[RemoteWorld]:
    """The server on a SQLite vault."""
    yield from _serve(sw, tmp_path)


@pytest.fixture
def remote_both(sw_both: SyncWorld, tmp_path: Path) -> Iterator[RemoteWorld]:
    """The server on SQLite, then on PostgreSQL (the test's own throwaway database)."""
    yield from _serve(sw_both, tmp_path)


def _serve(sw: SyncWorld, tmp_path: Path) -> Iterator[RemoteWorld]:
    from credsync.testing.graphsim._tls import make_server_tls

    home = tmp_path / "server-home"
    home.mkdir(mode=0o700)
    (tmp_path / "server-home" / "agent-host").mkdir(mode=0o700)
    made = make_server_tls()
    (home / "cert.pem").write_text(made.cert_pem)
    (home / "key.pem").write_text(made.key_pem)
    ca_file = home / "ca.pem"
    ca_file.write_text(made.ca_pem)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("CREDSYNC_")},
        "CREDSYNC_HOME": str(home),
        "CREDSYNC_DATABASE_URL": sw.vault_world.url,
        "CREDSYNC_PASSPHRASE": PASSPHRASE,
        "CREDSYNC_OPERATOR": "alice",
        "CREDSYNC_OPERATOR_PASSWORD": ADMIN_PASSWORD,
        "PYTHONUNBUFFERED": "1",
    }
    port = _free_port()
    world = RemoteWorld(sw, home, env, f"https://127.0.0.1:{port}", ca_file)
    try:
        # --no-agent: nothing here reaches the directory but the remote agents
        world.spawn(
            "serve",
            ["serve", "--port", str(port), "--no-agent", "--tls-cert", str(home / "cert.pem"),
             "--tls-key", str(home / "key.pem")],
            preload=prefork.SERVE,
        )  # fmt: skip

        def up() -> bool:
            try:
                httpx.get(
                    f"{world.url}/api/v1/openapi.json",
                    verify=ssl.create_default_context(cafile=str(ca_file)),
                    timeout=5,
                )
            except httpx.TransportError:
                return False
            return True

        world.until(up, "the server never answered")
        yield world
    finally:
        world.close()
