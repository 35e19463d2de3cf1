"""credsync serve --workers N as real processes: N server processes (and the agent's own) on
one address, a process that dies forked again, the same answers from each, and a clean stop
of all of them on SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import time
from pathlib import Path

import httpx
import pytest

from credsync.testing import prefork


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _children(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid and fields[0] != "Z":
            found.add(int(entry.name))
    return found


def _wait_for(what: str, check, timeout: float = 60.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while True:
        got = check()
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout:.0f} s for {what}")
        time.sleep(0.1)


def _start(cli, port: int, *extra: str):  # type: ignore[no-untyped-def]
    return prefork.spawn(
        ["serve", "--port", str(port), *extra],
        {**os.environ, **cli.environment(), "PYTHONUNBUFFERED": "1"},
        preload=prefork.SERVE,
        capture=True,
    )


def _get(port: int, token: str) -> list[str]:
    """The clients' names, over a connection of its own (the kernel picks the process)."""
    with httpx.Client(timeout=10) as http:
        answer = http.get(
            f"http://127.0.0.1:{port}/api/v1/clients",
            headers={"Authorization": f"Bearer {token}", "Connection": "close"},
        )
    answer.raise_for_status()
    return [c["name"] for c in answer.json()]


@pytest.mark.parametrize("agent", [True, False], ids=["with-agent", "no-agent"])
def test_workers_share_the_address_and_one_that_dies_is_started_again(cli, agent: bool) -> None:
    cli.use_session()
    cli.ok("client", "add", "Contoso")
    token = cli.json("token", "create", "workers-test")["token"]
    port = _free_port()
    proc = _start(cli, port, "--workers", "2", *([] if agent else ["--no-agent"]))
    expected = 3 if agent else 2  # two server processes, and the agent's own
    try:
        _wait_for("the first answer", lambda: _safe_get(port, token))
        first = _wait_for(f"{expected} processes", lambda: _n(_children(proc.pid), expected))
        # ready in every process: with the agent, its own process's heartbeat is seen
        _wait_for("ready", lambda: _ready(port))
        for _ in range(10):
            assert _ready(port)
        # every answer the same, whichever process took the connection
        for _ in range(30):
            assert _get(port, token) == ["Contoso"]
        # a write in one process is read by the others (the database is the only state)
        cli.ok("client", "add", "Fabrikam")
        for _ in range(10):
            assert _get(port, token) == ["Contoso", "Fabrikam"]
        victim = min(first)
        os.kill(victim, signal.SIGKILL)
        after = _wait_for("a process forked again", lambda: _replaced(proc.pid, victim, expected))
        assert victim not in after
        assert len(after - first) == 1
        for _ in range(10):
            assert _get(port, token) == ["Contoso", "Fabrikam"]
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=90)
    finally:
        if proc.poll() is None:
            proc.kill()
    text = err.decode()
    assert proc.returncode == 0, text
    assert f"http://127.0.0.1:{port}/" in text
    assert "2 processes" in text
    log = (Path(cli.environment()["CREDSYNC_HOME"]) / "logs" / "credsync.log").read_text()
    assert f"(pid {victim}) stopped (signal SIGKILL)" in log
    assert "stopped" in text.splitlines()[-1]
    assert not _children(proc.pid)
    assert token not in text
    assert token not in log


def _ready(port: int) -> bool:
    with httpx.Client(timeout=10) as http:
        answer = http.get(f"http://127.0.0.1:{port}/readyz", headers={"Connection": "close"})
    return answer.status_code == 200 and answer.json()["checks"]["agent"]["ok"] is True


def _safe_get(port: int, token: str) -> list[str] | None:
    try:
        return _get(port, token)
    except httpx.TransportError:
        return None


def _replaced(pid: int, victim: int, count: int) -> set[int] | None:
    found = _children(pid)
    return found if victim not in found and len(found) == count else None


def _n(found: set[int], count: int) -> set[int] | None:
    return found if len(found) == count else None


def test_workers_must_be_a_sensible_count(cli) -> None:
    cli.use_session()
    result = cli.run("serve", "--workers", "0")
    assert result.code == 2, result
    assert "--workers" in result.error


def test_accepted_connections_send_without_waiting_for_acks() -> None:
    """Answers are written in pieces (headers, then body): with Nagle's algorithm the second
    piece waits for the client's delayed ACK (40 ms on Linux) on every keep-alive request.
    The listening sockets have TCP_NODELAY, which Linux passes to the sockets it accepts."""
    from credsync.server.run import listen

    sockets = listen("127.0.0.1", 0)
    try:
        with socket.create_connection(sockets[0].getsockname()[:2]) as client:
            accepted, _ = sockets[0].accept()
            with accepted:
                assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
            del client
    finally:
        for sock in sockets:
            sock.close()


def test_a_certificate_that_does_not_load_is_said_before_any_process_starts(cli, tmp_path) -> None:
    cli.use_session()
    from credsync.testing.graphsim._tls import make_server_tls

    made = make_server_tls()
    (tmp_path / "cert.pem").write_text(made.cert_pem)
    (tmp_path / "key.pem").write_text(make_server_tls().key_pem)  # another certificate's key
    (tmp_path / "junk.pem").write_text("-----BEGIN CERTIFICATE-----\nnot base64\n")
    for cert, key in (("cert.pem", "key.pem"), ("junk.pem", "key.pem")):
        result = cli.run(
            "serve", "--workers", "2", "--port", "0",
            "--tls-cert", str(tmp_path / cert), "--tls-key", str(tmp_path / key),
        )  # fmt: skip
        assert result.code == 2, result
        assert "cannot load them" in result.error
        assert made.key_pem not in result.error


_CRASHING = """
import logging, os, sys
from types import SimpleNamespace
from credsync.storage import Database
from credsync.server.workers import Supervisor

logging.basicConfig(stream=sys.stderr, level=logging.WARNING)
db = Database(sys.argv[1])
state = SimpleNamespace(vault=SimpleNamespace(db=db))

def serve_one(state, actor):
    raise RuntimeError("this server process cannot start")

status = Supervisor(state, None, workers=2, sockets=[], serve_one=serve_one).run()
print("status", status)
"""


def test_processes_that_keep_dying_at_start_stop_the_server(tmp_path) -> None:
    """Five deaths in a row, each soon after its start: the supervisor stops (status 1)
    instead of forking for ever."""
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", _CRASHING, f"sqlite:///{tmp_path / 'vault.db'}"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.stdout.strip() == "status 1", done.stderr
    assert done.stderr.count("process stops on an error") >= 5
    assert "keep stopping at start; the server stops" in done.stderr


def test_the_server_runs_on_the_event_loop_uvicorn_chooses() -> None:
    """uvloop (a dependency): serve() runs its own loop, so it must ask uvicorn for the
    loop factory rather than take asyncio.run's default loop."""
    import asyncio

    import uvicorn
    import uvloop

    from credsync.server.run import runner

    async def kind() -> type:
        return type(asyncio.get_running_loop())

    with runner(uvicorn.Config(app=None)) as loop:  # type: ignore[arg-type]
        assert issubclass(loop.run(kind()), uvloop.Loop)
