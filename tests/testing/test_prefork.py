"""The prefork server runs ``credsync`` as ``python -m credsync`` does: the same exit status,
output and errors as a plain subprocess, the caller's environment, pipes and session, and no
state carried from one command to the next."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from credsync.testing import prefork


def _plain(args: list[str], env: dict[str, str], data: bytes | None) -> prefork.Completed:
    done = subprocess.run(
        [sys.executable, "-m", "credsync", *args],
        env=env,
        input=data,
        stdin=None if data is not None else subprocess.DEVNULL,
        capture_output=True,
        timeout=120,
        check=False,
    )
    return prefork.Completed(done.returncode, done.stdout, done.stderr)


def _env(home: Path) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("CREDSYNC_")}
    return {**base, "CREDSYNC_HOME": str(home)}


def test_a_command_answers_as_from_a_plain_process(tmp_path: Path) -> None:
    cases: list[tuple[list[str], bytes | None]] = [
        (["--help"], None),
        (["nosuch"], None),  # a usage error: exit 2
        (["whoami"], b""),  # no vault in CREDSYNC_HOME: exit 4, naming the path
    ]
    for args, data in cases:
        env = _env(tmp_path / f"home-{args[0]}")
        forked = prefork.run(args, env, data=data, timeout=120)
        plain = _plain(args, env, data)
        assert (forked.returncode, forked.stdout, forked.stderr) == (
            plain.returncode,
            plain.stdout,
            plain.stderr,
        ), args
    assert str(tmp_path / "home-whoami") in forked.stderr.decode()


def test_each_command_has_its_own_environment(tmp_path: Path) -> None:
    first = prefork.run(["whoami"], _env(tmp_path / "one"), data=None, timeout=120)
    second = prefork.run(["whoami"], _env(tmp_path / "two"), data=None, timeout=120)
    assert "one" in first.stderr.decode()
    assert "two" in second.stderr.decode()
    assert "one" not in second.stderr.decode()


def test_a_spawned_child_has_its_own_session_and_answers_signals(tmp_path: Path) -> None:
    env = _env(tmp_path / "home")
    init = prefork.run(
        ["init", "--admin", "alice", "--kdf-memory-kib", "8192", "--kdf-time-cost", "1",
         "--kdf-parallelism", "1"],
        {**env, "CREDSYNC_PASSPHRASE": "prefork passphrase 1234",
         "CREDSYNC_ADMIN_PASSWORD": "prefork-admin-pw-1234"},
        data=None, timeout=120,
    )  # fmt: skip
    assert init.returncode == 0, init.stderr
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    child = prefork.spawn(
        ["serve", "--port", str(port), "--no-agent"],
        {
            **env,
            "CREDSYNC_PASSPHRASE": "prefork passphrase 1234",
            "CREDSYNC_OPERATOR": "alice",
            "CREDSYNC_OPERATOR_PASSWORD": "prefork-admin-pw-1234",
            "PYTHONUNBUFFERED": "1",
        },
        new_session=True,
        preload=prefork.SERVE,
        capture=True,
    )
    try:
        assert child.poll() is None
        assert os.getsid(child.pid) == child.pid  # a session of its own: no terminal
        assert os.getsid(child.pid) != os.getsid(0)
        deadline = time.monotonic() + 60
        while True:  # up, with its SIGTERM handler in place
            try:
                httpx.get(f"http://127.0.0.1:{port}/api/v1/auth/whoami", timeout=5)
                break
            except httpx.TransportError:
                assert child.poll() is None, "serve stopped before it answered"
                assert time.monotonic() < deadline, "serve did not answer"
                time.sleep(0.1)
        child.send_signal(signal.SIGTERM)
        _, err = child.communicate(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(30)
    assert child.returncode == 0, err
    assert b"stopped" in err
