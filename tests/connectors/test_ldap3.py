"""What the LDAP-speaking connectors (AD, LDAP) share, without a directory: URLs, TLS reasons and
certificate subjects, and the error table both translate with (each kind's own cases are in its
``test_units.py``)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from ldap3.core import exceptions as lx

from credsync.connectors._ldap3 import parse_url, response_controls
from credsync.connectors._tls import certificate_subject, tls_reason
from credsync.connectors.ad._errors import translate as ad_translate
from credsync.connectors.ldap._errors import translate as ldap_translate
from credsync.errors import (
    AccountNotFound,
    ConfigError,
    ConnectorError,
    DirectoryAuthFailed,
    DirectoryDenied,
    DirectoryTlsError,
    DirectoryUnreachable,
    PermanentConnectorError,
    TransientConnectorError,
)

Translate = Callable[..., ConnectorError]
PPOLICY = "1.3.6.1.4.1.42.2.27.8.5.1"
BOTH = pytest.mark.parametrize("translate", [ad_translate, ldap_translate], ids=["ad", "ldap"])


def result(cls: type[lx.LDAPOperationResult], description: str, message: str = "") -> Exception:
    return cls(result=0, description=description, message=message)


def test_parse_url() -> None:
    assert parse_url("ldaps://dc1.example.test").port == 636
    plain = parse_url("ldap://10.0.0.1:3268")
    assert (plain.port, plain.starttls) == (3268, True)
    assert parse_url("ldap://h").starttls
    assert parse_url("LDAPS://h:1636/").port == 1636
    bad = ("https://dc", "http://h", "ldaps://", "ldap://dc:notaport", "ldap://h:99999")
    for url in (*bad, "ldap://h/dc=x", "ldap://h?x"):
        with pytest.raises(ConfigError, match="directory url"):
            parse_url(url)


@BOTH
@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (
            result(lx.LDAPInvalidCredentialsResult, "invalidCredentials", "... data 52e, v1db1"),
            DirectoryAuthFailed,
        ),
        (result(lx.LDAPInvalidCredentialsResult, "invalidCredentials"), DirectoryAuthFailed),
        (
            lx.LDAPBindError("automatic bind not successful - invalidCredentials"),
            DirectoryAuthFailed,
        ),
        (
            result(lx.LDAPInsufficientAccessRightsResult, "insufficientAccessRights", "no"),
            DirectoryDenied,
        ),
        (result(lx.LDAPNoSuchObjectResult, "noSuchObject", "gone"), AccountNotFound),
        (result(lx.LDAPBusyResult, "busy", "later"), TransientConnectorError),
        (result(lx.LDAPOtherResult, "other", "odd"), PermanentConnectorError),
        (
            lx.LDAPSocketOpenError("socket connection error while opening: refused"),
            DirectoryUnreachable,
        ),
        (
            lx.LDAPSessionTerminatedByServerError("session terminated by server"),
            DirectoryUnreachable,
        ),
        (
            lx.LDAPSocketOpenError(
                "('socket ssl wrapping error: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify "
                "failed: unable to get local issuer certificate (_ssl.c:1006)',)"
            ),
            DirectoryTlsError,
        ),
        (lx.LDAPStartTLSError("startTLS failed - protocolError"), DirectoryTlsError),
        (ValueError("odd"), PermanentConnectorError),
    ],
)
def test_translate(translate: Translate, exc: Exception, expected: type[Exception]) -> None:
    translated = translate(exc, where="doing it")
    assert type(translated) is expected
    assert str(translated).startswith("doing it: ")
    assert translate(translated, where="again") is translated  # translated once only


@BOTH
def test_translate_keeps_the_words_and_the_not_found_given(translate: Translate) -> None:
    gone = result(lx.LDAPNoSuchObjectResult, "noSuchObject", "no base")
    assert str(translate(gone, where="x")) == "x: noSuchObject: no base"
    assert type(translate(gone, where="x", not_found=PermanentConnectorError)) is (
        PermanentConnectorError
    )
    tls = lx.LDAPSocketOpenError(
        "socket ssl wrapping error: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: "
        "self-signed certificate in certificate chain (_ssl.c:1006)"
    )
    assert str(translate(tls, where="do it")) == (
        "do it: TLS failed: self-signed certificate in certificate chain"
    )
    assert str(translate(ValueError("odd"), where="do it")) == "do it: ValueError: odd"


def test_tls_reasons() -> None:
    text = "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: IP address mismatch, "
    text += "certificate is not valid for '127.0.0.1'. (_ssl.c:1006)"
    assert tls_reason(lx.LDAPSocketOpenError(f"('socket ssl wrapping error: {text}',)")) == (
        "IP address mismatch, certificate is not valid for '127.0.0.1'."
    )
    assert tls_reason(lx.LDAPSocketOpenError("socket connection error: refused")) is None


def test_certificate_subject_of_a_real_certificate() -> None:
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Samba Administration"),
            x509.NameAttribute(NameOID.COMMON_NAME, "DC1.example.test"),
        ]
    )
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(7)
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    der = cert.public_bytes(serialization.Encoding.DER)
    assert certificate_subject(der) == "CN=DC1.example.test,O=Samba Administration"
    assert certificate_subject(b"\x30\x03") == "?"


def test_response_controls_are_the_undecoded_ones() -> None:
    """A failure's response controls ride on its exception: raw values, never ldap3's decoded
    ones (a paged or DirSync control on a refusal must not hide the refusal)."""
    result = {
        "controls": {
            PPOLICY: {"value": b"0\x03\x81\x01\x06"},
            "1.2.840.113556.1.4.319": {"value": {"size": 0, "cookie": b""}},
            "1.3.6.1.4.1.4203.1.9.1.3": {"value": None},
        }
    }
    assert response_controls(result) == {
        PPOLICY: b"0\x03\x81\x01\x06",
        "1.3.6.1.4.1.4203.1.9.1.3": b"",
    }
    assert response_controls(None) == {}
    assert response_controls({"result": 0}) == {}


@pytest.mark.parametrize("how", ["closes", "resets", "reads then resets"])
def test_a_handshake_the_peer_ends_is_unreachable_not_tls(how: str) -> None:
    """A DC cut off (or restarting) while a TLS handshake is under way: the socket ends with an
    EOF or a reset. That is the network's failure (the run stops as unreachable and retries),
    not a certificate to fix; a real handshake failure still says TLS (test_tls_reasons)."""
    import socket
    import ssl
    import struct
    import threading

    from ldap3 import Connection, Server

    from credsync.connectors._tls import ContextTls

    listener = socket.create_server(("127.0.0.1", 0))

    def peer() -> None:
        conn, _ = listener.accept()
        if how != "closes":
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        if how == "reads then resets":
            conn.recv(16)
        conn.close()

    thread = threading.Thread(target=peer, daemon=True)
    thread.start()
    port = listener.getsockname()[1]
    tls = ContextTls(ssl.create_default_context(), "dc1.example.test")
    server = Server("127.0.0.1", port=port, use_ssl=True, tls=tls, connect_timeout=5)
    with pytest.raises(lx.LDAPSocketOpenError) as raised:
        Connection(server).open()
    thread.join(5)
    listener.close()
    assert tls_reason(raised.value) is None
    for translate in (ad_translate, ldap_translate):
        assert type(translate(raised.value, where="bind")) is DirectoryUnreachable
