"""Connectors trusting the same CAs share one TLS context (an agent serving hundreds of
directories holds one copy of the system store, ~0.8 MB, not hundreds): the LDAP connectors'
``make_context`` and the Graph client's ``ssl_context``. Other CAs, a changed CA file or
``insecure_skip_verify`` get contexts of their own."""

from __future__ import annotations

import os
import ssl
from collections.abc import Callable
from pathlib import Path

import certifi
import pytest

from credsync.connectors._tls import make_context
from credsync.connectors.base import DirectoryConfig
from credsync.connectors.graph._client import ssl_context
from credsync.types import Secret

Maker = Callable[[DirectoryConfig], ssl.SSLContext]


def _pems() -> list[str]:
    text = Path(certifi.where()).read_text()
    end = "-----END CERTIFICATE-----"
    return [part[part.index("-----BEGIN") :] + end for part in text.split(end)[:2]]


def _config(name: str, **kw: object) -> DirectoryConfig:
    return DirectoryConfig(kind="active_directory", name=name, url="ldaps://127.0.0.1:636",
                           bind_username="svc", bind_password=Secret("Bind-Pw-1!"), **kw)  # type: ignore[arg-type]  # fmt: skip


@pytest.mark.parametrize("make", [make_context, ssl_context], ids=["ldap", "graph"])
def test_the_same_cas_share_a_context_and_others_get_their_own(make: Maker, tmp_path: Path) -> None:
    first, second = _pems()
    a = make(_config("a", ca_pem=first))
    assert make(_config("b", ca_pem=first)) is a
    assert a.verify_mode == ssl.CERT_REQUIRED
    assert a.check_hostname
    assert a.minimum_version == ssl.TLSVersion.TLSv1_2
    other = make(_config("c", ca_pem=second))
    assert other is not a
    assert len(other.get_ca_certs()) == len(a.get_ca_certs()) == 1
    assert other.get_ca_certs() != a.get_ca_certs()
    system = make(_config("d"))
    assert make(_config("e")) is system
    assert system is not a
    insecure = make(_config("f", ca_pem=first, insecure_skip_verify=True))
    assert insecure is not a
    assert insecure.verify_mode == ssl.CERT_NONE
    assert not insecure.check_hostname


@pytest.mark.parametrize("make", [make_context, ssl_context], ids=["ldap", "graph"])
def test_a_changed_ca_file_is_read_again(make: Maker, tmp_path: Path) -> None:
    first, second = _pems()
    path = tmp_path / "ca.pem"
    path.write_text(first)
    before = make(_config("a", ca_file=path))
    assert make(_config("b", ca_file=path)) is before
    path.write_text(second)
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    after = make(_config("a", ca_file=path))
    assert after is not before
    assert after.get_ca_certs() != before.get_ca_certs()
