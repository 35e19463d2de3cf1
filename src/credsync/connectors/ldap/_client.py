"""The blocking side of the LDAP connector: the shared ldap3 client (:mod:`.._ldap3`), with
what only LDAP servers do: the root DSE, content synchronisation (RFC 4533), and the password
policy control on every modify.

:class:`LdapClient` is the connector's I/O seam (the connector takes one in its constructor).
Every method blocks; the connector calls them through ``asyncio.to_thread``. The connection
has a lock, so calls on it are serialised.

* The **admin** connection is bound as the configured bind DN and does every read and write
  (see :class:`~credsync.connectors._ldap3.Ldap3Client`: TLS always, reopened once when found
  dropped, response controls on a failure's exception).
* Password checks (binds as each user) and changes by Password Modify (with the entry read
  back) go through :attr:`LdapClient.wire`, which is not ldap3 and needs no thread (see
  :mod:`.._ldap_wire`), on the same endpoint and TLS context, with the password policy request
  control.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from ldap3 import DEREF_NEVER, SUBTREE, Connection
from ldap3.core import exceptions as lx
from ldap3.protocol.rfc4511 import Control

from credsync.connectors._ber import ber_tlv
from credsync.connectors._ldap3 import Entry, Ldap3Client, response_controls
from credsync.connectors.base import DirectoryConfig
from credsync.connectors.ldap._controls import (
    PPOLICY_OID,
    SYNC_DONE_OID,
    SYNC_INFO_OID,
    SYNC_REQUEST_OID,
    SYNC_STATE_OID,
)

__all__ = ["Entry", "LdapClient", "Refresh"]

REFRESH_REQUIRED = 4096  # RFC 4533 e-syncRefreshRequired: the cookie is too old
_PPOLICY_REQUEST = Control()  # built once: ldap3 would build it with pyasn1 for each call
_PPOLICY_REQUEST["controlType"] = PPOLICY_OID
_PPOLICY_REQUEST["criticality"] = False
_PPOLICY_CONTROL = ber_tlv(0x30, ber_tlv(0x04, PPOLICY_OID.encode()))  # the same, for the wire


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


class LdapClient(Ldap3Client):
    """Blocking LDAP operations on one server (see the module docstring)."""

    modify_controls = (_PPOLICY_REQUEST,)  # why a password was refused (ppolicy's error)

    def __init__(self, config: DirectoryConfig) -> None:
        super().__init__(config)
        self.wire = self.new_wire(_PPOLICY_CONTROL)

    def root_dse(self) -> dict[str, list[bytes]]:
        """The root DSE's supportedControl, supportedExtension, namingContexts, vendorName."""
        names = ["supportedControl", "supportedExtension", "namingContexts", "vendorName"]
        found = self.read("", names)
        return found[1] if found else {}

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
            answer.done = response_controls(conn.result).get(SYNC_DONE_OID)
            return answer

        return self._admin.run(go)

    def close(self) -> None:
        super().close()
        self.wire.close()
