"""The AD connector's DirSync pieces (see the connector's docstring, ``changes_since``): the
control, what a pass asks for, and the cursor: opaque text holding the DC's invocationId, the
base DN and the DirSync cookie, so that a cursor of another DC or another base is told apart
(and gives a full read) instead of being sent to a DC that would read it differently."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from ldap3.core.exceptions import LDAPOperationResult
from ldap3.protocol.microsoft import dir_sync_control

from credsync.connectors.ad._mapping import ACCOUNT_ATTRIBUTES
from credsync.errors import DirectoryDenied, PermanentConnectorError

__all__ = [
    "DIRSYNC_ATTRIBUTES",
    "DIRSYNC_COOKIE_ONLY",
    "DIRSYNC_FILTER",
    "DIRSYNC_OID",
    "decode_cursor",
    "dirsync_control",
    "encode_cursor",
    "refused",
]

DIRSYNC_OID = "1.2.840.113556.1.4.841"
DIRSYNC_FILTER = "(&(objectClass=user)(!(objectClass=computer)))"  # tombstones keep objectClass
DIRSYNC_COOKIE_ONLY = "(&(objectClass=user)(!(objectClass=user)))"  # matches no object
# What an account is read with, and what tells a delete and a move (a move changes name and
# parentGUID); not the computed flags, which DirSync can't return (the changed accounts are read
# again with them, by objectGUID).
DIRSYNC_ATTRIBUTES = (
    "isDeleted",
    "name",
    "parentGUID",
    *(a for a in ACCOUNT_ATTRIBUTES if a != "msDS-User-Account-Control-Computed"),
)

_PREFIX = "ad1:"


def encode_cursor(dc: str | None, base: str, cookie: bytes | None) -> str:
    state = {
        "dc": dc,
        "base": base.lower(),
        "cookie": base64.b64encode(cookie).decode() if cookie is not None else None,
    }
    raw = json.dumps(state, separators=(",", ":")).encode()
    return _PREFIX + base64.urlsafe_b64encode(raw).decode()


def decode_cursor(cursor: str, dc: str | None, base: str) -> bytes | None:
    """The DirSync cookie in ``cursor`` when it is ours, for this DC and base; else None."""
    if not cursor.startswith(_PREFIX):
        return None
    try:
        state = json.loads(base64.urlsafe_b64decode(cursor[len(_PREFIX) :]))
        if state.get("dc") != dc or state.get("base") != base.lower():
            return None
        return base64.b64decode(state["cookie"]) if state.get("cookie") else None
    except (ValueError, binascii.Error, TypeError, AttributeError):
        return None


def dirsync_control(cookie: bytes | None) -> Any:
    """The DirSync request control (critical), from ``cookie`` (None: from the start)."""
    return dir_sync_control(
        criticality=True,
        object_security=False,
        ancestors_first=True,
        public_data_only=False,
        incremental_values=True,
        max_length=2147483647,
        cookie=cookie,
    )


def refused(err: PermanentConnectorError) -> bool:
    """Whether a DirSync pass failed because the DC refused its cookie (an LDAP answer that is
    not "access denied"), not because the DC is away or refuses us."""
    return not isinstance(err, DirectoryDenied) and isinstance(err.__cause__, LDAPOperationResult)
