"""The LDAP side of the AD connector: the shared ldap3 client (:mod:`.._ldap3`) and the shared
wire for password checks (:mod:`.._ldap_wire`).

:class:`LdapClient` is the connector's I/O seam (the connector takes one in its constructor).
Its ldap3 methods block (the connector calls them through ``asyncio.to_thread``); its
:attr:`~LdapClient.wire` is async and needs no thread.

* The **admin** connections are bound as the configured bind identity and do every read and
  write (see :class:`~credsync.connectors._ldap3.Ldap3Client`).
* A **password check** is one simple bind as the user on a connection of the wire, kept open
  and rebound as the next user (one per check in flight, so that the engine's overlapping
  checks go side by side): a few LDAP messages written and read in the event loop, where ldap3
  in a thread took twice the CPU per check (the thread hop and pyasn1) that the DC's own
  process needs on a small machine. A check is sent once: a connection found dropped while
  idle is replaced before anything is sent, never after (the DC may have counted the bind).

All use TLS: ``ldaps://`` from the first byte, ``ldap://`` only with StartTLS before the bind
(AD refuses simple binds in clear text, and so do we). An admin connection found dropped
(socket closed, server restarted) is reopened once, transparently; if that fails too the
caller gets the error (``DirectoryUnreachable`` after translation).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from ldap3 import Connection

from credsync.connectors._ldap3 import Entry, Ldap3Client
from credsync.connectors.base import DirectoryConfig

__all__ = ["Entry", "LdapClient"]

T = TypeVar("T")


class LdapClient(Ldap3Client):
    """LDAP operations on one directory (see the module docstring)."""

    def __init__(self, config: DirectoryConfig) -> None:
        super().__init__(config)
        self.wire = self.new_wire()

    def run_admin(self, fn: Callable[[Connection], T]) -> T:
        """``fn`` on the admin connection (an operation the shared client has no method for:
        the restore of a deleted object, :mod:`._deleted`)."""
        return self._admin.run(fn)

    def close(self) -> None:
        super().close()
        self.wire.close()
