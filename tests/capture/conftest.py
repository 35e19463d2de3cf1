"""Capture tests: ONE capture-enabled DC, vault, server and forwarder per test session.

``capture_env`` (session) builds a vault on SQLite whose client has a directory over an OU of
its own on the machine's shared Samba DC, asks the vault for that directory's capture key, and
installs the key's PUBLIC part on the DC (``scripts/samba-dc capture``: the one DC restart of
the session). It serves the real app with uvicorn on 127.0.0.1 (a fixed port, so a test can
stop it and start it again: "the server is down"), enrols one forwarder, and runs one
``credsync capture samba --once`` so that syncpasswords' first pass (every account in the
domain) is behind us. Tests then run the forwarder as a real process over that state dir.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from credsync.api.state import ServerState
from credsync.server.app import create_app
from credsync.testing.samba import OuWorld, SambaAdmin, SambaDC, SambaFacts
from server_thread import ServerThread, free_port
from sync.helpers import SyncWorld, build_sync_world
from vault.helpers import VaultWorld, make_world

SRC = Path(__file__).resolve().parents[2] / "src"


@dataclass
class Forwarder:
    """``credsync capture samba`` as a real process (its own session, so a kill reaches it)."""

    env: CaptureEnv
    state_dir: Path
    log: Path
    process: subprocess.Popen[bytes] | None = field(default=None)

    def start(self, *extra: str) -> Forwarder:
        environment = {
            **os.environ,
            "PYTHONPATH": str(SRC),
            "CREDSYNC_CAPTURE_TOKEN": self.env.token,
        }
        with open(self.log, "ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "credsync", "capture", "samba",
                 "--server", self.env.server.url, "--smb-conf", str(self.env.facts.smb_conf),
                 "--state-dir", str(self.state_dir), *extra],
                env=environment,
                stdout=out,
                stderr=out,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )  # fmt: skip
        return self

    def run_once(self) -> int:
        self.start("--once")
        assert self.process is not None
        return self.process.wait(timeout=600)

    def stop(self) -> int | None:
        """SIGTERM and wait; the exit status."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        status = self.process.wait(timeout=60)
        self.process = None
        return status

    def kill(self) -> None:
        """SIGKILL, no goodbye (its syncpasswords child dies with it)."""
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)
            self.process = None


@dataclass
class CaptureEnv:
    vault_world: VaultWorld
    sw: SyncWorld
    facts: SambaFacts
    fingerprint: str
    public_key: str
    server: ServerThread
    forwarder_id: str
    token: str = field(repr=False)
    state_dir: Path
    logs: Path

    def forwarder(self, state_dir: Path | None = None) -> Forwarder:
        return Forwarder(self, state_dir or self.state_dir, self.logs / "forwarder.log")

    def decrypt(self, blob: str) -> str:
        """A Samba blob opened with the directory's capture key (the vault's side)."""
        vault = self.vault_world.vault
        directory = vault.directories.get(self.vault_world.admin, self.sw.directory)
        with vault.db.read() as conn:
            decryptor = vault.capture.decryptor(conn, self.vault_world.keys, directory.id)
        assert decryptor is not None
        return decryptor.decrypt(blob).decode("utf-16-le")


def wait_for(check: Callable[[], Any], what: str, timeout: float = 60.0) -> Any:
    """Poll ``check`` until it returns something true (no timing is asserted: the timeout only
    keeps a broken run from hanging)."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.05)


@pytest.fixture(scope="session")
def capture_env(
    samba_dc: SambaFacts, schema_templates: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[CaptureEnv]:
    root = tmp_path_factory.mktemp("capture")
    world = make_world(schema_templates.sqlite(root / "vault.db"))
    ou = OuWorld.create(samba_dc, prefix="cap")
    server: ServerThread | None = None
    try:
        sw = build_sync_world(world, ou)
        vault, admin, keys = world.vault, world.admin, world.keys
        # The session's tests capture changes of a few accounts, often within 5 minutes: past
        # the inbound threshold's 20% they would be held in quarantine (docs/quarantine.md),
        # which tests/intake/test_capture_hold.py tests; here the forwarder is under test.
        vault.quarantine_defaults.set(admin, {"inbound_cap": 1_000_000, "inbound_cap_percent": 0})
        key = vault.capture.key(admin, sw.directory, keys)
        SambaDC().capture(key.public_key)  # the session's one DC restart
        ou.admin.close()
        ou.admin = SambaAdmin(samba_dc)  # the old connection died with the restart
        enrolment = vault.capture.enroll(admin, sw.directory, "dc1")
        server = ServerThread(create_app(ServerState(vault, keys)), free_port()).start()
        logs = root / "logs"
        logs.mkdir()
        env = CaptureEnv(
            world,
            sw,
            samba_dc,
            key.fingerprint,
            key.public_key,
            server,
            enrolment.forwarder_id,
            enrolment.token.reveal(),
            root / "state",
            logs,
        )
        assert env.forwarder().run_once() == 0, (logs / "forwarder.log").read_text()[-3000:]
        yield env
    finally:
        if server is not None:
            server.stop()
        ou.close()
        world.db.dispose()


@pytest.fixture(scope="session")
def capture_dc(capture_env: CaptureEnv) -> SambaFacts:
    """The shared DC, encrypting new passwords to the session vault's capture key."""
    return capture_env.facts


@pytest.fixture
def capture_ou(capture_dc: SambaFacts) -> Iterator[OuWorld]:
    """A fresh OU on the capture-enabled DC (outside the session directory's scope)."""
    world = OuWorld.create(capture_dc, prefix="cap")
    try:
        yield world
    finally:
        world.close()
