"""The blocking LDAP side of the AD connector: two ldap3 connections, reconnected when dropped.

:class:`LdapClient` is the connector's I/O seam (the connector takes one in its constructor).
Every method blocks; the connector calls them through ``asyncio.to_thread``. Each connection
has a lock, so calls on one connection are serialised while the two connections work in
parallel.

* The **admin** connection is bound as the configured bind identity and does every read and
  write.
* The **verify** connection is opened once and rebound as each user whose password is checked
  (one simple bind per check). It uses ``get_info=NONE``: ldap3 otherwise re-reads the server's
  schema after each bind (~40 checks/s instead of ~500/s). After each check the connection
  forgets the user's password.

Both use TLS: ``ldaps://`` from the first byte, ``ldap://`` only with StartTLS before the bind
(AD refuses simple binds in clear text, and so do we). A connection found dropped (socket
closed, server restarted) is reopened once, transparently; if that fails too the caller gets
the error (``DirectoryUnreachable`` after translation).
"""

from __future__ import annotations

import contextlib
import math
import queue
import socket
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit

from ldap3 import BASE, NONE, SIMPLE, SUBTREE, Connection, Server
from ldap3.core import exceptions as lx

from credsync.connectors._tls import ContextTls, certificate_subject, make_context
from credsync.connectors.base import DirectoryConfig
from credsync.errors import ConfigError

__all__ = ["Endpoint", "Entry", "LdapClient", "parse_url"]

T = TypeVar("T")
Entry = tuple[str, dict[str, list[bytes]]]  # (dn, raw attribute values)
PAGED_OID = "1.2.840.113556.1.4.319"
VERIFY_CONNECTIONS = 4  # password checks in flight at once, at most
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
    default = 636 if scheme == "ldaps" else 389
    try:
        port = parts.port or default
    except ValueError as exc:
        raise ConfigError(f"directory url has a bad port: {url!r}") from exc
    return Endpoint(parts.hostname, port, scheme == "ldaps")


def _close_quietly(conn: Connection | None) -> None:
    if conn is None:
        return
    with contextlib.suppress(Exception):
        conn.unbind()
    sock = getattr(conn, "socket", None)
    if sock is not None:
        with contextlib.suppress(Exception):
            sock.close()


class _Link:
    """One ldap3 connection, its lock, and how to (re)open it."""

    def __init__(self, client: LdapClient, *, bind: bool) -> None:
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
            raise AssertionError("unreachable")

    def close(self) -> None:
        with self.lock:
            _close_quietly(self.conn)
            self.conn = None


class LdapClient:
    """Blocking LDAP operations on one directory (see the module docstring)."""

    def __init__(self, config: DirectoryConfig) -> None:
        self.config = config
        self.endpoint = parse_url(config.url)
        self.server_name = config.tls_server_name or self.endpoint.host
        self._context = make_context(config)
        self._admin = _Link(self, bind=True)
        # Password checks may come several at a time (the engine overlaps them): a small pool
        # of verification connections, the most recently used first (so that checks one after
        # another keep using one warm connection).
        self._verifiers = [_Link(self, bind=False) for _ in range(VERIFY_CONNECTIONS)]
        self._idle: queue.LifoQueue[_Link] = queue.LifoQueue()
        for link in reversed(self._verifiers):
            self._idle.put(link)

    def __repr__(self) -> str:
        return f"LdapClient({self.config.url!r}, bind={self.config.bind_username!r})"

    def new_connection(self, *, verify_tls: bool = True, user: str | None = None) -> Connection:
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
            user=user,
            authentication=SIMPLE,
            raise_exceptions=True,
            receive_timeout=max(1, math.ceil(self.config.timeout)),  # ldap3 packs an int
            auto_referrals=False,
            check_names=True,
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
    ) -> tuple[list[Entry], dict[str, Any]]:
        """One search (no paging): its entries and the result's response controls."""

        def go(conn: Connection) -> tuple[list[Entry], dict[str, Any]]:
            conn.search(
                base,
                search_filter,
                scope,
                attributes=list(attributes),
                controls=list(controls) if controls else None,
                size_limit=size_limit,
            )
            return _entries(conn), dict(conn.result.get("controls") or {})

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

    def read(
        self, dn: str, attributes: Sequence[str], controls: Sequence[Any] | None = None
    ) -> Entry | None:
        entries, _ = self.search(dn, "(objectClass=*)", attributes, scope=BASE, controls=controls)
        return entries[0] if entries else None

    def modify(self, dn: str, changes: dict[str, list[tuple[str, list[Any]]]]) -> None:
        self._admin.run(lambda conn: conn.modify(dn, changes))

    def bind_admin(self) -> None:
        """Open and bind the admin connection now (it is otherwise opened on first use)."""
        self._admin.run(lambda conn: None)

    # --- password checks ---------------------------------------------------------------------
    def check_password(self, dn: str, password: str) -> tuple[bool, str]:
        """One simple bind as ``dn`` on the verify connection: (success, the server's message)."""

        def go(conn: Connection) -> tuple[bool, str]:
            conn.user = dn
            conn.password = password
            try:
                ok = conn.bind(read_server_info=False)
                return bool(ok), str(conn.result.get("message") or "")
            except lx.LDAPInvalidCredentialsResult as exc:
                return False, str(exc.message or exc.description or "invalidCredentials")
            finally:
                conn.password = None

        link = self._idle.get()
        try:
            return link.run(go)
        finally:
            self._idle.put(link)

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
        """The subject of the certificate the server shows, without checking it (for saying
        which certificate failed a check). "?" when even that fails."""
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
        for link in self._verifiers:
            link.close()


def _entries(conn: Connection) -> list[Entry]:
    out: list[Entry] = []
    for item in conn.response or []:
        if item.get("type") == "searchResEntry":
            raw = {k: list(v or []) for k, v in (item.get("raw_attributes") or {}).items()}
            out.append((str(item["dn"]), raw))
    return out
