"""credsync serve as a real process (forked from one that has imported the server): it
unlocks the vault, serves the API on the port asked for, answers a bearer token, and stops
cleanly on SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import ssl
import time

import httpx
import pytest

from credsync.testing import prefork


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("tls", [False, True], ids=["http", "https"])
def test_serve_answers_the_api_and_stops_on_sigterm(cli, tmp_path, tls: bool) -> None:
    cli.use_session()
    cli.ok("client", "add", "Contoso")
    token = cli.json("token", "create", "serve-test")["token"]
    port = _free_port()
    args = ["serve", "--port", str(port), "--no-agent"]
    context = None
    if tls:
        from credsync.testing.graphsim._tls import make_server_tls

        made = make_server_tls()  # a test CA and a certificate for 127.0.0.1
        (tmp_path / "cert.pem").write_text(made.cert_pem)
        (tmp_path / "key.pem").write_text(made.key_pem)
        args += ["--tls-cert", str(tmp_path / "cert.pem"), "--tls-key", str(tmp_path / "key.pem")]
        context = ssl.create_default_context(cadata=made.ca_pem)
    scheme = "https" if tls else "http"
    # a process of its own, forked from one that has imported the server
    proc = prefork.spawn(
        args,
        {**os.environ, **cli.environment(), "PYTHONUNBUFFERED": "1"},
        preload=prefork.SERVE,
        capture=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                response = httpx.get(
                    f"{scheme}://127.0.0.1:{port}/api/v1/clients",
                    headers={"Authorization": f"Bearer {token}"},
                    verify=context or True,
                    timeout=5,
                )
                clients = response.json()
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.2)
        assert [c["name"] for c in clients] == ["Contoso"]
        # HSTS when it speaks TLS itself, never over plain HTTP; API answers never cached.
        assert ("strict-transport-security" in response.headers) is tls
        assert response.headers["cache-control"] == "no-store"
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    text = err.decode()
    assert proc.returncode == 0, text
    assert f"{scheme}://127.0.0.1:{port}/" in text
    assert "stopped" in text
    assert token not in text


def test_serve_refuses_half_a_tls_setting(cli, tmp_path) -> None:
    cli.use_session()
    cert = tmp_path / "cert.pem"
    cert.write_text("-----BEGIN CERTIFICATE-----\n")
    result = cli.run("serve", "--tls-cert", str(cert))
    assert result.code == 2, result
    assert "--tls-cert and --tls-key go together" in result.error
    missing = cli.run("serve", "--tls-cert", str(cert), "--tls-key", str(tmp_path / "nope"))
    assert missing.code == 2, missing
    assert "--tls-key" in missing.error
    assert "no such file" in missing.error


@pytest.mark.parametrize("command", ["serve", "demo"])
def test_a_port_in_use_is_said_at_once_with_exit_2(cli, command: str) -> None:
    """Before anything slow (signing in and unlocking the vault; the demo's vault, tenant and
    runs): here the sign-in would fail (exit 3), so exit 2 proves the port came first."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {"CREDSYNC_OPERATOR_PASSWORD": "not-the-password", "CREDSYNC_PASSPHRASE": None}
        result = cli.proc(command, "--port", str(port), env=env)
    assert result.code == 2, result
    assert f"port {port} is in use on 127.0.0.1" in result.error
    assert "--port" in result.error
    assert "making the vault" not in result.err  # the demo made nothing


def test_an_address_not_of_this_machine_is_refused_with_exit_2(cli) -> None:
    result = cli.run("serve", "--host", "192.0.2.1", "--port", "0")  # TEST-NET-1
    assert result.code == 2, result
    assert "cannot listen on 192.0.2.1:0" in result.error
    assert result.error.endswith("(--host)")
