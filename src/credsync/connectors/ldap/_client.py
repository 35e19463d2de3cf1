"""The blocking side of the LDAP connector: ldap3 connections to one server, reopened when dropped.

:class:`LdapClient` is the connector's I/O seam (the connector takes one in its constructor).
Every method blocks; the connector calls them through ``asyncio.to_thread``. The connection
has a lock, so calls on it are serialised.

* The **admin** connection is bound as the configured bind DN and does every read and write
  (``get_info=NONE``: ldap3 otherwise reads the server's schema after each bind).
* Password checks (binds as each user) and changes by Password Modify (with the entry read
  back) go through :attr:`LdapClient.wire`, which is not ldap3 and needs no thread (see
  :mod:`._wire`), on the same endpoint and TLS context.

Both use TLS: ``ldaps://`` from the first byte, ``ldap://`` always with StartTLS before any
bind (a simple bind never goes out in clear). The admin connection, found dropped (socket
closed, server restarted), is reopened once, transparently; if that fails too the caller gets
the error.

A failed operation's exception carries the server's response controls as
``exc.response_controls`` (the password policy control says *why* a password was refused).
"""

from __future__ import annotations

import contextlib
import math
import socket
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlsplit

from ldap3 import BASE, DEREF_NEVER, NONE, SIMPLE, SUBTREE, Connection, Server
from ldap3.core import exceptions as lx
from ldap3.protocol.rfc4511 import Control

from credsync.connectors._tls import ContextTls, certificate_subject, make_context
from credsync.connectors.base import DirectoryConfig
from credsync.connectors.ldap._controls import (
    PPOLICY_OID,
    SYNC_DONE_OID,
    SYNC_INFO_OID,
    SYNC_REQUEST_OID,
    SYNC_STATE_OID,
)
from credsync.connectors.ldap._wire import Wire
from credsync.errors import ConfigError

__all__ = ["Endpoint", "Entry", "LdapClient", "Refresh", "parse_url"]

T = TypeVar("T")
Entry = tuple[str, dict[str, list[bytes]]]  # (dn, raw attribute values)
Controls = dict[str, bytes]  # response controls: OID -> raw value
PAGED_OID = "1.2.840.113556.1.4.319"
REFRESH_REQUIRED = 4096  # RFC 4533 e-syncRefreshRequired: the cookie is too old
_PPOLICY_REQUEST = Control()  # built once: ldap3 would build it with pyasn1 for each call
_PPOLICY_REQUEST["controlType"] = PPOLICY_OID
_PPOLICY_REQUEST["criticality"] = False
# Dropped connections: reopened once. (LDAPSocketOpenError is not here: a failed reopen is final.)
_DROPPED: tuple[type[Exception], ...] = (
    lx.LDAPSocketReceiveError,
    lx.LDAPSocketSendError,
    lx.LDAPSessionTerminatedByServerError,
    lx.LDAPSocketCloseError,
    lx.LDAPResponseTimeoutError,
    BrokenPipeError,
    ConnectionResetError,
)


@dataclass(frozen=True)
class Endpoint:
    host: str
    port: int
    use_ssl: bool  # ldaps://; otherwise StartTLS on ldap://

    @property
    def starttls(self) -> bool:
        return not self.use_ssl


def parse_url(url: str) -> Endpoint:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("ldaps", "ldap") or not parts.hostname:
        raise ConfigError(
            f"directory url must be ldaps://host[:port] or ldap://host[:port]: {url!r}"
        )
    if parts.path not in ("", "/") or parts.query:
        raise ConfigError(
            f"directory url takes no path or query (the base DN is separate): {url!r}"
        )
    default = 636 if scheme == "ldaps" else 389
    try:
        port = parts.port or default
    except ValueError as exc:
        raise ConfigError(f"directory url has a bad port: {url!r}") from exc
    return Endpoint(parts.hostname, port, scheme == "ldaps")


@dataclass
class Refresh:
    """What a refreshOnly content synchronisation search returned, undecoded: entries with
    their Sync State control's value, Sync Info messages, and the Sync Done control's value
    (None: the server ignored the Sync Request). ``refresh_required``: the server refused the
    cookie (e-syncRefreshRequired)."""

    entries: list[tuple[str, dict[str, list[bytes]], bytes | None]] = field(default_factory=list)
    infos: list[bytes] = field(default_factory=list)
    done: bytes | None = None
    refresh_required: bool = False


def _close_quietly(conn: Connection | None) -> None:
    if conn is None:
        return
    with contextlib.suppress(Exception):
        conn.unbind()
    sock = getattr(conn, "socket", None)
    if sock is not None:
        with contextlib.suppress(Exception):
            sock.close()


def _controls(conn: Connection) -> Controls:
    found = (conn.result or {}).get("controls") or {}
    return {oid: bytes(c.get("value") or b"") for oid, c in found.items()}


def _read_back(conn: Connection, dn: str, attributes: Sequence[str]) -> Entry | None:
    if not attributes:
        return None
    conn.search(dn, "(objectClass=*)", BASE, attributes=list(attributes))
    found = _entries(conn)
    return found[0] if found else None


def _entries(conn: Connection) -> list[Entry]:
    out: list[Entry] = []
    for item in conn.response or []:
        if item.get("type") == "searchResEntry":
            raw = {k: list(v or []) for k, v in (item.get("raw_attributes") or {}).items()}
            out.append((str(item["dn"]), raw))
    return out


class _Link:
    """The admin ldap3 connection, its lock, and how to (re)open and bind it."""

    def __init__(self, client: LdapClient) -> None:
        self._client = client
        self.lock = threading.Lock()
        self.conn: Connection | None = None

    def _open(self) -> Connection:
        conn = self._client.new_connection()
        try:
            conn.open(read_server_info=False)
            if self._client.endpoint.starttls:
                conn.start_tls(read_server_info=False)
            config = self._client.config
            conn.user = config.bind_username
            conn.password = config.bind_password.reveal()
            try:
                conn.bind(read_server_info=False)
            finally:
                conn.password = None
        except BaseException:
            _close_quietly(conn)
            raise
        return conn

    def run(self, fn: Callable[[Connection], T]) -> T:
        with self.lock:
            for attempt in (1, 2):
                if self.conn is None or self.conn.closed:
                    self.conn = self._open()
                try:
                    return fn(self.conn)
                except _DROPPED:
                    _close_quietly(self.conn)
                    self.conn = None
                    if attempt == 2:
                        raise
                except lx.LDAPOperationResult as exc:
                    exc.response_controls = _controls(self.conn)
                    raise
            raise AssertionError("unreachable")

    def close(self) -> None:
        with self.lock:
            _close_quietly(self.conn)
            self.conn = None


class LdapClient:
    """Blocking LDAP operations on one server (see the module docstring)."""

    def __init__(self, config: DirectoryConfig) -> None:
        self.config = config
        self.endpoint = parse_url(config.url)
        self.server_name = config.tls_server_name or self.endpoint.host
        self._context = make_context(config)
        self._admin = _Link(self)
        self.wire = Wire(
            self.endpoint.host,
            self.endpoint.port,
            starttls=self.endpoint.starttls,
            context=self._context,
            server_name=self.server_name,
            timeout=config.timeout,
            bind_dn=config.bind_username,
            bind_password=config.bind_password,
        )

    def __repr__(self) -> str:
        return f"LdapClient({self.config.url!r}, bind={self.config.bind_username!r})"

    def new_connection(self, *, verify_tls: bool = True) -> Connection:
        """A new, unopened ldap3 connection to the endpoint (raising ldap3's exceptions)."""
        context = self._context if verify_tls else make_context(self.config, verify=False)
        server = Server(
            self.endpoint.host,
            port=self.endpoint.port,
            use_ssl=self.endpoint.use_ssl,
            tls=ContextTls(context, self.server_name),
            get_info=NONE,
            connect_timeout=self.config.timeout,
        )
        return Connection(
            server,
            authentication=SIMPLE,
            raise_exceptions=True,
            receive_timeout=max(1, math.ceil(self.config.timeout)),  # ldap3 packs an int
            auto_referrals=False,
            check_names=True,
        )

    # --- reads and writes as the bind identity ----------------------------------------------
    def root_dse(self) -> dict[str, list[bytes]]:
        """The root DSE's supportedControl, supportedExtension, namingContexts, vendorName."""
        names = ["supportedControl", "supportedExtension", "namingContexts", "vendorName"]
        found = self.read("", names)
        return found[1] if found else {}

    def search(
        self,
        base: str,
        search_filter: str,
        attributes: Sequence[str],
        *,
        scope: str = SUBTREE,
        size_limit: int = 0,
    ) -> list[Entry]:
        """One search (no paging): its entries."""

        def go(conn: Connection) -> list[Entry]:
            conn.search(
                base, search_filter, scope, attributes=list(attributes), size_limit=size_limit
            )
            return _entries(conn)

        return self._admin.run(go)

    def search_page(
        self,
        base: str,
        search_filter: str,
        attributes: Sequence[str],
        cookie: bytes | None,
        size: int,
    ) -> tuple[list[Entry], bytes | None]:
        """One page of a paged search; the cookie for the next page (None after the last)."""

        def go(conn: Connection) -> tuple[list[Entry], bytes | None]:
            conn.search(
                base,
                search_filter,
                SUBTREE,
                attributes=list(attributes),
                paged_size=size,
                paged_cookie=cookie,
            )
            control = (conn.result.get("controls") or {}).get(PAGED_OID) or {}
            next_cookie = (control.get("value") or {}).get("cookie") or None
            return _entries(conn), next_cookie

        return self._admin.run(go)

    def refresh(
        self, base: str, search_filter: str, attributes: Sequence[str], request: bytes
    ) -> Refresh:
        """A refreshOnly content synchronisation search (RFC 4533) with the Sync Request
        control ``request``."""

        def go(conn: Connection) -> Refresh:
            answer = Refresh()
            try:
                conn.search(
                    base,
                    search_filter,
                    SUBTREE,
                    attributes=list(attributes),
                    controls=[(SYNC_REQUEST_OID, True, request)],
                    dereference_aliases=DEREF_NEVER,  # RFC 4533 requires it
                )
            except lx.LDAPOperationResult as exc:
                if exc.result != REFRESH_REQUIRED:
                    raise
                answer.refresh_required = True
                return answer
            for item in conn.response or []:
                if item.get("type") == "searchResEntry":
                    raw = {k: list(v or []) for k, v in (item.get("raw_attributes") or {}).items()}
                    state = ((item.get("controls") or {}).get(SYNC_STATE_OID) or {}).get("value")
                    answer.entries.append((str(item["dn"]), raw, state))
                elif (
                    item.get("type") == "intermediateResponse"
                    and item.get("responseName") == SYNC_INFO_OID
                ):
                    answer.infos.append(bytes(item.get("responseValue") or b""))
            answer.done = _controls(conn).get(SYNC_DONE_OID)
            return answer

        return self._admin.run(go)

    def read(self, dn: str, attributes: Sequence[str]) -> Entry | None:
        entries = self.search(dn, "(objectClass=*)", attributes, scope=BASE)
        return entries[0] if entries else None

    def modify(
        self,
        dn: str,
        changes: dict[str, list[tuple[str, list[Any]]]],
        then_read: Sequence[str] = (),
    ) -> Entry | None:
        """A modify (with the password policy control); then, when ``then_read`` names
        attributes, the entry read back (in the same trip to the thread)."""

        def go(conn: Connection) -> Entry | None:
            conn.modify(dn, changes, controls=[_PPOLICY_REQUEST])
            return _read_back(conn, dn, then_read)

        return self._admin.run(go)

    def bind_admin(self) -> None:
        """Open and bind the admin connection now (it is otherwise opened on first use)."""
        self._admin.run(lambda conn: None)

    # --- looking at the TLS side -------------------------------------------------------------
    def tcp_probe(self) -> None:
        with socket.create_connection(
            (self.endpoint.host, self.endpoint.port), timeout=self.config.timeout
        ):
            pass

    def tls_probe(self) -> str:
        """A TLS handshake with the certificate checked (after StartTLS on ldap://); returns the
        subject of the certificate. Raises ldap3's or ssl's exception when it fails."""
        return self._handshake(verify_tls=True)

    def peer_subject(self) -> str:
        """The subject of the certificate the server shows, without checking it (to say which
        certificate failed a check). "?" when even that fails."""
        try:
            return self._handshake(verify_tls=False)
        except Exception:
            return "?"

    def _handshake(self, *, verify_tls: bool) -> str:
        conn = self.new_connection(verify_tls=verify_tls)
        try:
            conn.open(read_server_info=False)
            if self.endpoint.starttls:
                conn.start_tls(read_server_info=False)
            return certificate_subject(conn.socket.getpeercert(binary_form=True) or b"")
        finally:
            _close_quietly(conn)

    def close(self) -> None:
        self._admin.close()
        self.wire.close()
