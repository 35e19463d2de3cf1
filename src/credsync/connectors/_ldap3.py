"""The ldap3 plumbing the LDAP-speaking connectors (AD, LDAP) share: the endpoint, connections
reopened when dropped, and the blocking operations every such connector makes.

:class:`Ldap3Client` is the base of each kind's client (the connector's I/O seam). Every method
blocks; the connectors call them through ``asyncio.to_thread``.

* The **admin** connections (each a :class:`Link`) are bound as the configured bind identity,
  each doing one call at a time (a lock). The first does what spans calls or follows a
  cookie (paged searches, DirSync, a kind's own calls); one-shot searches and reads and the
  writes take whichever of :data:`ADMIN_CONNECTIONS` is free, the first when it is (opened
  only when calls overlap), so that a run's overlapping pushes (its 4 in flight) are not
  queued behind each other on one connection: across a link of 100 ms a password write and
  its read-back take two round trips, so one connection alone makes at most ~5 a second.
  ``get_info=NONE`` everywhere: ldap3 otherwise reads the server's schema after each bind.
* TLS always: ``ldaps://`` from the first byte, ``ldap://`` with StartTLS before any bind (a
  simple bind never goes out in clear), on the context of :mod:`._tls` (certificate and name
  checked by OpenSSL).
* A connection found dropped (socket closed, server restarted) is reopened once, transparently;
  if that fails too the caller gets the error (``DirectoryUnreachable`` after translation).
* A failed operation's exception carries the server's response controls as
  ``exc.response_controls`` (OID -> raw value: the password policy control says *why* a
  password was refused).

What only one kind does stays in its package: AD's DirSync and restores, LDAP's root DSE and
content synchronisation. Both kinds' password checks (and LDAP's Password Modify) are the
thread-free wire's (:mod:`._ldap_wire`, made by :meth:`Ldap3Client.new_wire`).
"""

from __future__ import annotations

import contextlib
import math
import queue
import socket
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar
from urllib.parse import urlsplit

from ldap3 import BASE, NONE, SIMPLE, SUBTREE, Connection, Server
from ldap3.core import exceptions as lx

from credsync.connectors._ldap_wire import Wire
from credsync.connectors._tls import ContextTls, certificate_subject, make_context
from credsync.connectors.base import DirectoryConfig
from credsync.errors import ConfigError

__all__ = [
    "ADMIN_CONNECTIONS",
    "DROPPED",
    "PAGED_OID",
    "Controls",
    "Endpoint",
    "Entry",
    "Ldap3Client",
    "Link",
    "close_quietly",
    "entries",
    "parse_url",
    "response_controls",
]

T = TypeVar("T")
ADMIN_CONNECTIONS = 4  # admin connections one client opens at most (see the module docstring)
Entry = tuple[str, dict[str, list[bytes]]]  # (dn, raw attribute values)
Controls = dict[str, bytes]  # response controls: OID -> raw value
Changes = dict[str, list[tuple[str, list[Any]]]]  # ldap3's modify changes
PAGED_OID = "1.2.840.113556.1.4.319"
# Dropped connections: reopened once. (LDAPSocketOpenError is not here: a failed reopen is final.)
DROPPED: tuple[type[Exception], ...] = (
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
    """``ldaps://HOST[:PORT]`` (636) or ``ldap://HOST[:PORT]`` (389, StartTLS); ConfigError
    naming the URL for anything else (the base DN is a setting of its own, not a path)."""
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


def close_quietly(conn: Connection | None) -> None:
    if conn is None:
        return
    with contextlib.suppress(Exception):
        conn.unbind()
    sock = getattr(conn, "socket", None)
    if sock is not None:
        with contextlib.suppress(Exception):
            sock.close()


def forget_response(conn: Connection | None) -> None:
    """Drop what ldap3 keeps of the connection's last operation (``conn.response``: a
    search's every entry, raw and decoded, ~5 KB an account) once the caller has taken what
    it needs: kept, it stayed alive until the connection's next operation, a page of up to
    1,000 entries for each of a directory's admin connections between runs (issue 20: the
    agent's memory grew with the accounts of all its directories)."""
    if conn is not None:
        conn.response = None


def entries(conn: Connection) -> list[Entry]:
    """The entries of the connection's last search, with their raw values."""
    out: list[Entry] = []
    for item in conn.response or []:
        if item.get("type") == "searchResEntry":
            raw = {k: list(v or []) for k, v in (item.get("raw_attributes") or {}).items()}
            out.append((str(item["dn"]), raw))
    return out


def response_controls(result: dict[str, Any] | None) -> Controls:
    """The controls of an ldap3 result (``conn.result``) that ldap3 left undecoded (the
    password policy's, content synchronisation's...), as raw values. Those ldap3 decodes itself
    (paged results, DirSync, pre- and post-read) are not among them: the paged and DirSync
    searches read those."""
    out: Controls = {}
    for oid, control in ((result or {}).get("controls") or {}).items():
        value = control.get("value")
        if value is None or isinstance(value, bytes | bytearray):
            out[oid] = bytes(value or b"")
    return out


class Link:
    """One ldap3 connection, its lock, and how to (re)open it: bound as the bind identity when
    ``bind``, else left anonymous for the caller to bind as it needs."""

    def __init__(self, client: Ldap3Client, *, bind: bool) -> None:
        self._client = client
        self._bind = bind
        self.lock = threading.Lock()
        self.conn: Connection | None = None

    def _open(self) -> Connection:
        conn = self._client.new_connection()
        try:
            conn.open(read_server_info=False)
            if self._client.endpoint.starttls:
                conn.start_tls(read_server_info=False)
            if self._bind:
                config = self._client.config
                conn.user = config.bind_username
                conn.password = config.bind_password.reveal()
                try:
                    conn.bind(read_server_info=False)
                finally:
                    conn.password = None
        except BaseException:
            close_quietly(conn)
            raise
        return conn

    def run(self, fn: Callable[[Connection], T]) -> T:
        with self.lock:
            for attempt in (1, 2):
                if self.conn is None or self.conn.closed:
                    self.conn = self._open()
                try:
                    return fn(self.conn)
                except DROPPED:
                    close_quietly(self.conn)
                    self.conn = None
                    if attempt == 2:
                        raise
                except lx.LDAPOperationResult as exc:
                    exc.response_controls = response_controls(self.conn.result)
                    raise
                finally:
                    forget_response(self.conn)
            raise AssertionError("unreachable")

    def close(self) -> None:
        with self.lock:
            close_quietly(self.conn)
            self.conn = None


class Ldap3Client:
    """Blocking LDAP operations on one directory as the bind identity (see the module
    docstring). A kind's client subclasses it with what only that kind does."""

    modify_controls: ClassVar[Sequence[Any]] = ()  # request controls sent with every modify

    def __init__(self, config: DirectoryConfig) -> None:
        self.config = config
        self.endpoint = parse_url(config.url)
        self.server_name = config.tls_server_name or self.endpoint.host
        self._context = make_context(config)
        self._admin = Link(self, bind=True)
        # The admin connections for one-shot calls, the most recently used first (so that
        # calls one after another keep using the first, warm one).
        self._admins = [self._admin, *(Link(self, bind=True) for _ in range(ADMIN_CONNECTIONS - 1))]
        self._idle_admins: queue.LifoQueue[Link] = queue.LifoQueue()
        for link in reversed(self._admins):
            self._idle_admins.put(link)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.config.url!r}, bind={self.config.bind_username!r})"

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

    def new_wire(self, controls: bytes = b"") -> Wire:
        """The thread-free password checks and changes (:mod:`._ldap_wire`) on the same
        endpoint, TLS context and bind identity, every request carrying ``controls``."""
        return Wire(
            self.endpoint.host,
            self.endpoint.port,
            starttls=self.endpoint.starttls,
            context=self._context,
            server_name=self.server_name,
            timeout=self.config.timeout,
            bind_dn=self.config.bind_username,
            bind_password=self.config.bind_password,
            controls=controls,
        )

    # --- reads and writes as the bind identity ----------------------------------------------
    def search(
        self,
        base: str,
        search_filter: str,
        attributes: Sequence[str],
        *,
        scope: str = SUBTREE,
        controls: Sequence[Any] | None = None,
        size_limit: int = 0,
    ) -> list[Entry]:
        """One search (no paging): its entries."""

        def go(conn: Connection) -> list[Entry]:
            conn.search(
                base,
                search_filter,
                scope,
                attributes=list(attributes),
                controls=list(controls) if controls else None,
                size_limit=size_limit,
            )
            return entries(conn)

        return self._one_shot(go)

    def _one_shot(self, fn: Callable[[Connection], T]) -> T:
        """``fn`` on a free admin connection (see the module docstring)."""
        link = self._idle_admins.get()
        try:
            return link.run(fn)
        finally:
            self._idle_admins.put(link)

    def search_with_controls(
        self, base: str, search_filter: str, attributes: Sequence[str], controls: Sequence[Any]
    ) -> tuple[list[Entry], dict[str, Any]]:
        """One subtree search with request ``controls``: its entries and the result's response
        controls, as ldap3 decodes those it knows (DirSync's cookie...)."""

        def go(conn: Connection) -> tuple[list[Entry], dict[str, Any]]:
            conn.search(
                base, search_filter, SUBTREE, attributes=list(attributes), controls=list(controls)
            )
            return entries(conn), dict(conn.result.get("controls") or {})

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
            return entries(conn), next_cookie

        return self._admin.run(go)

    def read(
        self, dn: str, attributes: Sequence[str], controls: Sequence[Any] | None = None
    ) -> Entry | None:
        found = self.search(dn, "(objectClass=*)", attributes, scope=BASE, controls=controls)
        return found[0] if found else None

    def modify(self, dn: str, changes: Changes, then_read: Sequence[str] = ()) -> Entry | None:
        """A modify (with :attr:`modify_controls`); then, when ``then_read`` names attributes,
        the entry read back (in the same trip to the thread)."""

        def go(conn: Connection) -> Entry | None:
            conn.modify(dn, changes, controls=list(self.modify_controls) or None)
            if not then_read:
                return None
            conn.search(dn, "(objectClass=*)", BASE, attributes=list(then_read))
            found = entries(conn)
            return found[0] if found else None

        return self._one_shot(go)

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
            close_quietly(conn)

    def close(self) -> None:
        for link in self._admins:
            link.close()
