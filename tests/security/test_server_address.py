"""The capture forwarder and the remote agent reach the server by HTTPS, or by plain HTTP to
this host only, and a CA file that can't be read is said, never skipped."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest

from credsync.agent._https import server_verify
from credsync.errors import ConfigError


def test_https_checks_with_the_system_cas_or_the_ca_file(tmp_path: Path) -> None:
    from credsync.testing.graphsim._tls import make_server_tls

    assert server_verify("https://vault.example.test", None) is True
    ca = tmp_path / "ca.pem"
    ca.write_text(make_server_tls().ca_pem)
    assert isinstance(server_verify("https://vault.example.test", ca), ssl.SSLContext)


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::1]"])
def test_plain_http_only_to_this_host(host: str) -> None:
    assert server_verify(f"http://{host}:8400", None) is True


@pytest.mark.parametrize(
    "url", ["http://vault.example.test", "http://10.0.0.5:8400", "ftp://127.0.0.1", "vault"]
)
def test_anything_else_is_refused(url: str) -> None:
    with pytest.raises(ConfigError, match="must be https://"):
        server_verify(url, None)


def test_a_ca_file_that_cannot_be_read_is_said(tmp_path: Path) -> None:
    bad = tmp_path / "ca.pem"
    bad.write_text("not a certificate")
    with pytest.raises(ConfigError, match="cannot use the CA file"):
        server_verify("https://vault.example.test", bad)
    with pytest.raises(ConfigError, match="cannot use the CA file"):
        server_verify("https://vault.example.test", tmp_path / "missing.pem")
