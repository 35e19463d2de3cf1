"""The operations the engine makes by the thousand, without threads: LDAP on non-blocking sockets,
shared by the LDAP-speaking connectors (password checks: AD and LDAP; Password Modify: LDAP).

Everything else a connector does goes through ldap3 in a thread (:mod:`._ldap3`). Password
checks (a bind as the user) and password changes (Password Modify, then the entry read back
for its new pwdChangedTime) are made by the thousand, and OpenLDAP answers each in well under
a millisecond: handing every one to a thread and back (``asyncio.to_thread``) cost as much
again - far more on a busy machine, where the thread waits for a CPU - and ldap3 spends as much
again encoding requests with pyasn1 (a Samba DC's bind costs it more, but a run's binds in
flight then take half the CPU of ldap3's in threads, which the DC's own process needs). These
few messages are small and fixed, so they are written and read here (with :mod:`._ber`).
TLS is an :class:`ssl.SSLObject` over memory BIOs fed from the socket by ``loop.sock_recv``
/ ``loop.sock_sendall`` (a socket, unlike an asyncio stream, belongs to no event loop: the
engine may call from more than one), with the same :class:`ssl.SSLContext` and server name as
every other connection; ``ldap://`` does StartTLS first, so no password goes out in clear.

A request is sent once, never again: a connection dropped while idle (the server restarted,
or sent a Notice of Disconnection) is noticed *before* anything is sent and replaced; a
failure after sending is the caller's error (the server may have counted a bind towards a
lockout, or changed the password). An LDAP error result is raised as ldap3's exception for
that result code (with the response controls as ``response_controls``), so that
``_errors.translate`` maps it like any other; socket and TLS failures are OS / ssl errors;
an answer that is not LDAP is a ``ValueError``.

Wire format (RFC 4511, RFC 3062)::

    LDAPMessage      ::= SEQUENCE { messageID INTEGER, protocolOp, controls [0] OPTIONAL }
    BindRequest      ::= [APPLICATION 0] SEQUENCE { version, name, simple [0] OCTET STRING }
    SearchRequest    ::= [APPLICATION 3] SEQUENCE { base, scope, deref, sizeLimit, timeLimit,
                                                    typesOnly, filter, attributes }
    SearchResultEntry::= [APPLICATION 4] SEQUENCE { objectName, SEQUENCE OF { type, SET OF } }
    ExtendedRequest  ::= [APPLICATION 23] SEQUENCE { requestName [0], requestValue [1] }
    PasswdModifyRequestValue ::= SEQUENCE { userIdentity [0] OPTIONAL, oldPasswd [1] OPTIONAL,
                                            newPasswd [2] OPTIONAL }
    (BindResponse [APPLICATION 1], SearchResultDone [APPLICATION 5], ExtendedResponse
    [APPLICATION 24]: an LDAPResult { resultCode, matchedDN, diagnosticMessage, ... })
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
from collections.abc import Sequence
from dataclasses import dataclass

from ldap3.core import exceptions as lx

from credsync.connectors._ber import ber_elements, ber_tlv
from credsync.types import Secret

__all__ = ["RESULT_NAMES", "BindAnswer", "Wire"]

STARTTLS_OID = b"1.3.6.1.4.1.1466.20037"
PASSWORD_MODIFY_OID = b"1.3.6.1.4.1.4203.1.11.1"
RESULT_NAMES = {
    0: "success",
    1: "operationsError",
    2: "protocolError",
    7: "authMethodNotSupported",
    8: "strongerAuthRequired",
    13: "confidentialityRequired",
    16: "noSuchAttribute",
    19: "constraintViolation",
    32: "noSuchObject",
    48: "inappropriateAuthentication",
    49: "invalidCredentials",
    50: "insufficientAccessRights",
    51: "busy",
    52: "unavailable",
    53: "unwillingToPerform",
    80: "other",
}
_IDLE_KEPT = 4  # connections of each kind kept open between calls
Entry = tuple[str, dict[str, list[bytes]]]


@dataclass(frozen=True)
class BindAnswer:
    """One password check: whether the bind succeeded, the server's words, and its response
    controls (OID -> value)."""

    ok: bool
    description: str
    message: str
    controls: dict[str, bytes]
    code: int = 0

    def failure(self) -> lx.LDAPOperationResult:
        """ldap3's exception for this answer's result code (for ``_errors.translate``)."""
        return lx.LDAPOperationResult(
            result=self.code, description=self.description, message=self.message
        )


def _int(value: int) -> bytes:
    return value.to_bytes(max(1, (value.bit_length() + 8) // 8), "big", signed=True)


def _result(body: bytes) -> tuple[int, str]:
    """(resultCode, diagnosticMessage) of an LDAPResult."""
    parts = list(ber_elements(body))
    if len(parts) < 3 or parts[0][0] != 0x0A:
        raise ValueError("LDAP: a result without a resultCode")
    return int.from_bytes(parts[0][1], "big"), parts[2][1].decode("utf-8", "replace")


def _controls(message: bytes) -> dict[str, bytes]:
    """The response controls of an LDAPMessage: OID -> value (b"" without one)."""
    (_, body), *_ = ber_elements(message)
    found: dict[str, bytes] = {}
    for tag, controls in list(ber_elements(body))[2:]:
        if tag != 0xA0:
            continue
        for _, control in ber_elements(controls):
            # Control ::= SEQUENCE { controlType, criticality BOOLEAN OPTIONAL, value OPTIONAL }
            parts = list(ber_elements(control))
            if parts:
                values = [value for kind, value in parts[1:] if kind == 0x04]
                found[parts[0][1].decode()] = values[0] if values else b""
    return found


def _failure(code: int, said: str, message: bytes) -> lx.LDAPOperationResult:
    """ldap3's exception for an error result, carrying the response controls."""
    exc = lx.LDAPOperationResult(
        result=code, description=RESULT_NAMES.get(code, f"result {code}"), message=said
    )
    exc.response_controls = _controls(message)
    return exc


def _complete(buffer: bytearray) -> bytes | None:
    """The first whole BER element in ``buffer`` (removed from it), or None."""
    if len(buffer) < 2:
        return None
    first = buffer[1]
    if first < 0x80:
        start, length = 2, first
    else:
        count = first & 0x7F
        if count == 0 or count > 4:
            raise ValueError("LDAP: bad message length")
        if len(buffer) < 2 + count:
            return None
        start, length = 2 + count, int.from_bytes(buffer[2 : 2 + count], "big")
    if len(buffer) < start + length:
        return None
    message = bytes(buffer[: start + length])
    del buffer[: start + length]
    return message


def _operation(message: bytes) -> tuple[int, int, bytes]:
    """(messageID, protocolOp tag, its body) of an LDAPMessage."""
    (tag, body), *_ = ber_elements(message)
    parts = list(ber_elements(body))
    if tag != 0x30 or len(parts) < 2 or parts[0][0] != 0x02:
        raise ValueError("LDAP: not an LDAPMessage")
    message_id = int.from_bytes(parts[0][1], "big")
    if message_id == 0:  # unsolicited: the Notice of Disconnection
        raise ConnectionResetError("the server closed the connection (notice of disconnection)")
    return message_id, parts[1][0], parts[1][1]


def _entry(body: bytes) -> Entry:
    parts = list(ber_elements(body))
    attributes: dict[str, list[bytes]] = {}
    for _, attribute in ber_elements(parts[1][1]):
        (_, name), (_, values) = list(ber_elements(attribute))[:2]
        attributes[name.decode()] = [value for _, value in ber_elements(values)]
    return parts[0][1].decode(), attributes


class _Connection:
    """One TLS connection and the few operations spoken on it."""

    def __init__(
        self, sock: socket.socket, tls: ssl.SSLObject, inbox: ssl.MemoryBIO, outbox: ssl.MemoryBIO
    ) -> None:
        self.sock = sock
        self._tls = tls
        self._inbox = inbox
        self._outbox = outbox
        self._buffer = bytearray()
        self._next_id = 1
        self.bound = False  # bound as the bind identity (connections for changes)

    @classmethod
    async def open(
        cls, host: str, port: int, starttls: bool, context: ssl.SSLContext, server_name: str
    ) -> _Connection:
        loop = asyncio.get_running_loop()
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        family, kind, proto, _, address = infos[0]
        sock = socket.socket(family, kind, proto)
        try:
            sock.setblocking(False)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            await loop.sock_connect(sock, address)
            if starttls:
                await cls._starttls(sock)
            inbox, outbox = ssl.MemoryBIO(), ssl.MemoryBIO()
            tls = context.wrap_bio(inbox, outbox, server_hostname=server_name)
            conn = cls(sock, tls, inbox, outbox)
            await conn._handshake()
        except BaseException:
            sock.close()
            raise
        return conn

    @staticmethod
    async def _starttls(sock: socket.socket) -> None:
        """The StartTLS extended operation, in clear (message 1 of the connection)."""
        loop = asyncio.get_running_loop()
        request = ber_tlv(0x77, ber_tlv(0x80, STARTTLS_OID))
        await loop.sock_sendall(sock, ber_tlv(0x30, ber_tlv(0x02, b"\x01") + request))
        data = bytearray()
        while (message := _complete(data)) is None:
            chunk = await loop.sock_recv(sock, 4096)
            if not chunk:
                raise ConnectionResetError("the server closed the connection during StartTLS")
            data += chunk
        _, tag, body = _operation(message)
        code, said = _result(body)
        if tag != 0x78 or code != 0:
            name = RESULT_NAMES.get(code, str(code))
            raise ssl.SSLError(f"StartTLS refused: {name}: {said}")

    async def _flush(self) -> None:
        data = self._outbox.read()
        if data:
            await asyncio.get_running_loop().sock_sendall(self.sock, data)

    async def _fill(self) -> None:
        data = await asyncio.get_running_loop().sock_recv(self.sock, 65536)
        if not data:
            raise ConnectionResetError("the server closed the connection")
        self._inbox.write(data)

    async def _handshake(self) -> None:
        while True:
            try:
                self._tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                await self._flush()
                await self._fill()
        await self._flush()

    def stale(self) -> bool:
        """True when the idle connection is no good for a request: the server closed it, or
        sent something unasked (a Notice of Disconnection). TLS records that carry no data
        (TLS 1.3 session tickets) are taken in and leave it usable."""
        if self._buffer:
            return True
        try:
            while data := self.sock.recv(65536):  # non-blocking
                self._inbox.write(data)
            return True  # b"": the server closed it
        except BlockingIOError:
            pass  # nothing (more) to read
        except OSError:
            return True
        try:
            return bool(self._tls.read(65536))  # application data nobody asked for
        except ssl.SSLWantReadError:
            return False
        except (ssl.SSLError, OSError):
            return True

    async def _send(self, operation: bytes, controls: bytes = b"") -> int:
        message_id, self._next_id = self._next_id, self._next_id + 1
        envelope = ber_tlv(0x02, _int(message_id)) + operation
        if controls:
            envelope += ber_tlv(0xA0, controls)
        self._tls.write(ber_tlv(0x30, envelope))
        await self._flush()
        return message_id

    async def _receive(self, message_id: int) -> tuple[int, bytes, bytes]:
        """The next message, which must answer ``message_id``: (tag, body, whole message)."""
        while (message := _complete(self._buffer)) is None:
            try:
                self._buffer += self._tls.read(65536)
            except ssl.SSLWantReadError:
                await self._fill()
            except ssl.SSLZeroReturnError as exc:  # close_notify: closed, not a TLS failure
                raise ConnectionResetError("the server closed the connection") from exc
        got_id, tag, body = _operation(message)
        if got_id != message_id:
            raise ValueError(f"LDAP: an answer to message {got_id}, not {message_id}")
        return tag, body, message

    async def bind(self, dn: str, password: bytes, controls: bytes = b"") -> BindAnswer:
        """A simple bind, with the request ``controls`` (encoded Control elements)."""
        request = ber_tlv(
            0x60, ber_tlv(0x02, b"\x03") + ber_tlv(0x04, dn.encode()) + ber_tlv(0x80, password)
        )
        tag, body, message = await self._receive(await self._send(request, controls))
        if tag != 0x61:
            raise ValueError("LDAP: the answer to a bind is not a bind response")
        code, said = _result(body)
        name = RESULT_NAMES.get(code, f"result {code}")
        return BindAnswer(code == 0, name, said, _controls(message), code)

    async def password_modify(self, dn: str, password: bytes, controls: bytes = b"") -> None:
        """Password Modify (RFC 3062) of ``dn``, with the request ``controls``."""
        value = ber_tlv(0x30, ber_tlv(0x80, dn.encode()) + ber_tlv(0x82, password))
        request = ber_tlv(0x77, ber_tlv(0x80, PASSWORD_MODIFY_OID) + ber_tlv(0x81, value))
        tag, body, message = await self._receive(await self._send(request, controls))
        if tag != 0x78:
            raise ValueError("LDAP: the answer to Password Modify is not an extended response")
        code, said = _result(body)
        if code != 0:
            raise _failure(code, said, message)

    async def read(self, dn: str, attributes: Sequence[str]) -> Entry | None:
        """The entry at ``dn`` (a base search), None when there is none."""
        names = b"".join(ber_tlv(0x04, name.encode()) for name in attributes)
        request = ber_tlv(
            0x63,
            ber_tlv(0x04, dn.encode())
            + ber_tlv(0x0A, b"\x00")  # scope: base
            + ber_tlv(0x0A, b"\x00")  # never dereference aliases
            + ber_tlv(0x02, b"\x00")  # no size limit
            + ber_tlv(0x02, b"\x00")  # no time limit
            + ber_tlv(0x01, b"\x00")  # types and values
            + ber_tlv(0x87, b"objectClass")  # (objectClass=*)
            + ber_tlv(0x30, names),
        )
        message_id = await self._send(request)
        found: Entry | None = None
        while True:
            tag, body, message = await self._receive(message_id)
            if tag == 0x64:
                found = _entry(body)
            elif tag == 0x65:
                code, said = _result(body)
                if code == 32:  # noSuchObject
                    return None
                if code != 0:
                    raise _failure(code, said, message)
                return found
            elif tag != 0x73:  # a search result reference is no entry
                raise ValueError("LDAP: not an answer to a search")

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()


class _Pool:
    """Idle connections of one kind, reused; a new one when none is idle."""

    def __init__(self, wire: Wire) -> None:
        self._wire = wire
        self._idle: list[_Connection] = []

    async def take(self) -> _Connection:
        while self._idle:
            conn = self._idle.pop()
            if not conn.stale():
                return conn
            conn.close()
        return await self._wire.connect()

    def give_back(self, conn: _Connection) -> None:
        if len(self._idle) < _IDLE_KEPT:
            self._idle.append(conn)
        else:
            conn.close()

    def close(self) -> None:
        while self._idle:
            self._idle.pop().close()


class Wire:
    """Password checks and changes on reused connections (one per call in flight): those for
    checks are rebound as each user, those for changes are bound as the bind identity. Every
    check and change carries the kind's request ``controls`` (LDAP: the password policy's)."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        starttls: bool,
        context: ssl.SSLContext,
        server_name: str,
        timeout: float,
        bind_dn: str,
        bind_password: Secret,
        controls: bytes = b"",
    ) -> None:
        self._where = (host, port, starttls, context, server_name)
        self._controls = controls
        self._timeout = timeout
        self._identity = (bind_dn, bind_password)
        self.checks = _Pool(self)
        self.changes = _Pool(self)

    async def connect(self) -> _Connection:
        return await _Connection.open(*self._where)

    async def check(self, dn: str, password: str) -> BindAnswer:
        """One simple bind as ``dn`` (sent once: a connection found stale is replaced before)."""
        async with asyncio.timeout(self._timeout):
            conn = await self.checks.take()
            try:
                answer = await conn.bind(dn, password.encode("utf-8"), self._controls)
            except BaseException:
                conn.close()
                raise
        self.checks.give_back(conn)
        return answer

    async def change(self, dn: str, password: str, then_read: Sequence[str]) -> Entry | None:
        """Password Modify of ``dn`` as the bind identity; then the entry read back."""
        async with asyncio.timeout(self._timeout):
            conn = await self.changes.take()
            try:
                if not conn.bound:
                    bind_dn, secret = self._identity
                    answer = await conn.bind(bind_dn, secret.reveal().encode("utf-8"))
                    if not answer.ok:
                        raise answer.failure()
                    conn.bound = True
                await conn.password_modify(dn, password.encode("utf-8"), self._controls)
                entry = await conn.read(dn, then_read) if then_read else None
            except lx.LDAPOperationResult:
                self.changes.give_back(conn)  # an answer: the connection is fine
                raise
            except BaseException:
                conn.close()
                raise
        self.changes.give_back(conn)
        return entry

    def close(self) -> None:
        self.checks.close()
        self.changes.close()
