"""The blocking LDAP side of the AD connector: the shared ldap3 client (:mod:`.._ldap3`) and a
pool of verification connections.

:class:`LdapClient` is the connector's I/O seam (the connector takes one in its constructor).
Every method blocks; the connector calls them through ``asyncio.to_thread``. Each connection
has a lock, so calls on one connection are serialised while the connections work in parallel.

* The **admin** connection is bound as the configured bind identity and does every read and
  write (see :class:`~credsync.connectors._ldap3.Ldap3Client`).
* A **verify** connection is opened once and rebound as each user whose password is checked
  (one simple bind per check). It uses ``get_info=NONE``: ldap3 otherwise re-reads the server's
  schema after each bind (~40 checks/s instead of ~500/s). After each check the connection
  forgets the user's password.

All use TLS: ``ldaps://`` from the first byte, ``ldap://`` only with StartTLS before the bind
(AD refuses simple binds in clear text, and so do we). A connection found dropped (socket
closed, server restarted) is reopened once, transparently; if that fails too the caller gets
the error (``DirectoryUnreachable`` after translation).
"""

from __future__ import annotations

import queue
from collections.abc import Callable
from typing import TypeVar

from ldap3 import Connection
from ldap3.core import exceptions as lx

from credsync.connectors._ldap3 import Entry, Ldap3Client, Link
from credsync.connectors.base import DirectoryConfig

__all__ = ["Entry", "LdapClient"]

T = TypeVar("T")
VERIFY_CONNECTIONS = 4  # password checks in flight at once, at most


class LdapClient(Ldap3Client):
    """Blocking LDAP operations on one directory (see the module docstring)."""

    def __init__(self, config: DirectoryConfig) -> None:
        super().__init__(config)
        # Password checks may come several at a time (the engine overlaps them): a small pool
        # of verification connections, the most recently used first (so that checks one after
        # another keep using one warm connection).
        self._verifiers = [Link(self, bind=False) for _ in range(VERIFY_CONNECTIONS)]
        self._idle: queue.LifoQueue[Link] = queue.LifoQueue()
        for link in reversed(self._verifiers):
            self._idle.put(link)

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

    def run_admin(self, fn: Callable[[Connection], T]) -> T:
        """``fn`` on the admin connection (an operation the shared client has no method for:
        the restore of a deleted object, :mod:`._deleted`)."""
        return self._admin.run(fn)

    def close(self) -> None:
        super().close()
        for link in self._verifiers:
            link.close()
