"""credsync serve as a real process: it unlocks the vault, serves the API on the port asked
for, answers a bearer token, and stops cleanly on SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import ssl
import subprocess
import sys
import time

import httpx
import pytest


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
    proc = subprocess.Popen(
        [sys.executable, "-m", "credsync", *args],
        env={**os.environ, **cli.environment(), "PYTHONUNBUFFERED": "1"},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
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
