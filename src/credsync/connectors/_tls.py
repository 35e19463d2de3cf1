"""TLS for the ldap3-based connectors (AD, LDAP): certificate and host name checked by OpenSSL
during the handshake, and what a failed handshake says.

ldap3's own ``Tls`` turns Python's host name check off and matches names afterwards with
``ssl.match_hostname`` (deprecated, gone in Python 3.12). We hand ldap3 a ``Tls`` whose
:meth:`~ContextTls.wrap_socket` wraps with our :class:`ssl.SSLContext` (``check_hostname`` on,
``CERT_REQUIRED``) and ``server_hostname`` set to the name the certificate must carry:
``tls_server_name`` when the directory is reached by another name (``127.0.0.1`` for a DC whose
certificate says ``DC1.example.test``), otherwise the host of the URL. OpenSSL checks that name
against the subjectAltName, falling back to the subject's CN when there is no subjectAltName
(``hostname_checks_common_name``, as Samba's self-made certificate needs). The same hook turns
on TCP_NODELAY (a bind is one small request and one small answer: Nagle plus delayed ACKs
cost ~40 ms each).

:func:`certificate_subject` reads the subject of whatever certificate a server presents,
without trusting it, so that a failed check can name the certificate it saw.
:func:`tls_reason` says why a handshake failed, from ldap3's or ssl's exception.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import socket
import ssl
from typing import Any

from ldap3 import Tls
from ldap3.core import exceptions as lx

from credsync.connectors.base import DirectoryConfig

__all__ = ["ContextTls", "certificate_subject", "flat_message", "make_context", "tls_reason"]

_SSL_REASON = re.compile(r"certificate verify failed: (.*?)(?: \(_ssl\.c:\d+\)?)?['\")]*$")
_SSL_ANY = re.compile(r"\[SSL: [A-Z_]+\] (.*?)(?: \(_ssl\.c:\d+\)?)?['\")]*$")
# The peer went away (or never answered) during the handshake: the network's failure, not TLS's.
# A DC cut off mid-run, restarting or overloaded ends a handshake like this; the run must read
# it as unreachable (retry later), not as a certificate to fix.
_GONE = re.compile(
    r"UNEXPECTED_EOF_WHILE_READING|EOF occurred in violation of protocol|Connection reset by peer"
    r"|Broken pipe|\[Errno (?:32|104|110)\]|timed out"
)


def make_context(config: DirectoryConfig, *, verify: bool = True) -> ssl.SSLContext:
    """The client context for ``config``: the given CA file (or the system's CAs) and a host
    name check, unless the directory is explicitly set to skip verification (or ``verify`` is
    False: only used to look at a certificate that failed, never to talk to the directory).
    One context per set of CAs, shared by the connectors trusting the same ones (an agent
    serving hundreds of directories holds one copy of the system store, not hundreds)."""
    insecure = config.insecure_skip_verify or not verify
    cafile = str(config.ca_file) if config.ca_file is not None else None
    stamp = 0
    if cafile is not None:
        with contextlib.suppress(OSError):  # a missing file: the context's load says so
            stamp = os.stat(cafile).st_mtime_ns
    return _shared_context(insecure, cafile, stamp, config.ca_pem or None)


@functools.lru_cache(maxsize=64)
def _shared_context(
    insecure: bool, cafile: str | None, _stamp: int, cadata: str | None
) -> ssl.SSLContext:
    if insecure:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    else:
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=cafile, cadata=cadata)
        context.check_hostname = True
        context.verify_mode = ssl.CERT_REQUIRED
        context.hostname_checks_common_name = True
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


class ContextTls(Tls):  # type: ignore[misc]  # ldap3 ships no type information
    """An ldap3 ``Tls`` that wraps sockets with a prepared context and a fixed server name."""

    def __init__(self, context: ssl.SSLContext, server_hostname: str) -> None:
        super().__init__(validate=context.verify_mode)
        self._context = context
        self._server_hostname = server_hostname

    def wrap_socket(self, connection: Any, do_handshake: bool = False) -> None:
        raw: socket.socket = connection.socket
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        connection.socket = self._context.wrap_socket(
            raw,
            server_side=False,
            do_handshake_on_connect=do_handshake,
            server_hostname=self._server_hostname,
        )


# --- reading a certificate's subject from DER, without a certificate library -----------------
_NAMES = {
    "2.5.4.3": "CN",
    "2.5.4.5": "serialNumber",
    "2.5.4.6": "C",
    "2.5.4.7": "L",
    "2.5.4.8": "ST",
    "2.5.4.10": "O",
    "2.5.4.11": "OU",
    "0.9.2342.19200300.100.1.25": "DC",
    "1.2.840.113549.1.9.1": "emailAddress",
}


def _tlv(data: bytes, pos: int) -> tuple[int, int, int]:
    """(tag, start of value, end of value) of the DER element at ``pos``."""
    tag = data[pos]
    length = data[pos + 1]
    pos += 2
    if length & 0x80:
        count = length & 0x7F
        length = int.from_bytes(data[pos : pos + count], "big")
        pos += count
    return tag, pos, pos + length


def _children(data: bytes, start: int, end: int) -> list[tuple[int, int, int]]:
    out = []
    while start < end:
        element = _tlv(data, start)
        out.append(element)
        start = element[2]
    return out


def _oid(raw: bytes) -> str:
    parts = [raw[0] // 40, raw[0] % 40]
    value = 0
    for byte in raw[1:]:
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            parts.append(value)
            value = 0
    return ".".join(str(p) for p in parts)


def certificate_subject(der: bytes) -> str:
    """The subject of a DER certificate as ``CN=...,O=...`` (most specific first, as RFC 4514
    writes it); ``"?"`` when it cannot be read."""
    try:
        _, cstart, cend = _tlv(der, 0)
        _, tstart, tend = _children(der, cstart, cend)[0]
        fields = _children(der, tstart, tend)
        if fields and fields[0][0] == 0xA0:  # [0] version
            fields = fields[1:]
        _, sstart, send = fields[4]  # serial, signature, issuer, validity, subject
        parts = []
        for _, rstart, rend in _children(der, sstart, send):  # RDN sets
            for _, astart, aend in _children(der, rstart, rend):  # attribute type and value
                (_, ostart, oend), (_, vstart, vend) = _children(der, astart, aend)
                name = _NAMES.get(_oid(der[ostart:oend]), _oid(der[ostart:oend]))
                parts.append(f"{name}={der[vstart:vend].decode('utf-8', 'replace')}")
        return ",".join(reversed(parts))
    except (IndexError, ValueError):
        return "?"


# --- why a handshake failed ------------------------------------------------------------------
def flat_message(exc: BaseException) -> str:
    """ldap3 nests the socket error's text in tuples of tuples: the innermost words."""
    text = str(exc)
    for _ in range(4):
        text = text.strip("()[],'\" \\")
    return text.replace("\\'", "'")


def tls_reason(exc: BaseException) -> str | None:
    """Why a TLS handshake failed (``unable to get local issuer certificate``, ``IP address
    mismatch, certificate is not valid for '127.0.0.1'.``), or None when ``exc`` is no TLS
    failure: also when the peer closed, reset or never answered the handshake (the network's
    failure: unreachable, not a certificate to fix)."""
    text = flat_message(exc)
    found = _SSL_REASON.search(text)
    if found:
        return found.group(1)
    if isinstance(exc, ssl.SSLEOFError | ssl.SSLZeroReturnError) or _GONE.search(text):
        return None
    if isinstance(exc, ssl.SSLError | lx.LDAPStartTLSError | lx.LDAPSSLConfigurationError):
        found = _SSL_ANY.search(text)
        return found.group(1) if found else text
    if isinstance(exc, lx.LDAPSocketOpenError) and "ssl wrapping error" in text:
        found = _SSL_ANY.search(text)
        return found.group(1) if found else text.split("ssl wrapping error: ", 1)[-1]
    return None
