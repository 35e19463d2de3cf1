"""``credsync agent`` as real processes, for the tests that kill and restart agents (the
relay's restart tests, the chaos tests)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from credsync.testing import prefork
from vault.helpers import ADMIN_PASSWORD, PASSPHRASE

__all__ = ["Agents"]


class Agents:
    """``credsync agent`` processes on a vault (``url``), signed in as its admin; each one's
    standard error in a log file (shown when a wait fails). Whatever is still running at the
    end is killed (:meth:`close`, the fixtures' finalizer). ``wait``: the longest a bounded
    wait may take."""

    def __init__(self, url: str, home: Path, *, wait: float = 120.0) -> None:
        self.wait = wait
        home.mkdir(mode=0o700)
        self.home = home
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("CREDSYNC_")},
            "CREDSYNC_HOME": str(home),
            "CREDSYNC_DATABASE_URL": url,
            "CREDSYNC_PASSPHRASE": PASSPHRASE,
            "CREDSYNC_OPERATOR": "alice",
            "CREDSYNC_OPERATOR_PASSWORD": ADMIN_PASSWORD,
            "PYTHONUNBUFFERED": "1",
        }
        self.started: list[tuple[prefork.Child, Path]] = []

    def __repr__(self) -> str:  # env holds the passphrase and the admin's password
        return f"Agents(started={[proc.pid for proc, _ in self.started]})"

    def start(self) -> prefork.Child:
        log = self.home / f"agent-{len(self.started) + 1}.log"
        with log.open("wb") as stderr:
            proc = prefork.spawn(
                ["agent", "--poll", "0.05"], self.env, stderr=stderr.fileno(), new_session=True
            )
        self.started.append((proc, log))
        return proc

    def logs(self) -> str:
        return "\n".join(f"--- {log.name}\n{log.read_text()[-3000:]}" for _, log in self.started)

    def until(self, done: Callable[[], bool], proc: prefork.Child | None, never: str) -> None:
        """Wait (at most ``wait`` seconds) until ``done()``; ``proc``, if given, must stay alive."""
        deadline = time.monotonic() + self.wait
        while not done():
            if proc is not None and proc.poll() is not None:
                pytest.fail(f"the agent ended (status {proc.returncode}): {never}\n{self.logs()}")
            if time.monotonic() > deadline:
                pytest.fail(f"{never} (after {self.wait:.0f} s)\n{self.logs()}")
            time.sleep(0.01)

    def close(self) -> None:
        for proc, _ in self.started:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
