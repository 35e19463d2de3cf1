"""The LDAP controls and messages the connector speaks that ldap3 leaves undecoded, in BER.

Pure functions over bytes, tested without a server. Malformed values raise ``ValueError``.

**Password policy** (draft-behera-ldap-password-policy-10, OID ``1.3.6.1.4.1.42.2.27.8.5.1``):
the request control has no value; the server answers a bind, a modify or a Password Modify
with::

    PasswordPolicyResponseValue ::= SEQUENCE {
        warning [0] CHOICE {
            timeBeforeExpiration [0] INTEGER (0 .. maxInt),
            graceAuthNsRemaining [1] INTEGER (0 .. maxInt) } OPTIONAL,
        error   [1] ENUMERATED { passwordExpired (0), accountLocked (1), changeAfterReset (2),
                                 passwordModNotAllowed (3), mustSupplyOldPassword (4),
                                 insufficientPasswordQuality (5), passwordTooShort (6),
                                 passwordTooYoung (7), passwordInHistory (8) } OPTIONAL }

**Content synchronisation** (RFC 4533), refreshOnly::

    syncRequestValue ::= SEQUENCE { mode ENUMERATED { refreshOnly (1), refreshAndPersist (3) },
                                    cookie syncCookie OPTIONAL, reloadHint BOOLEAN DEFAULT FALSE }
    syncStateValue   ::= SEQUENCE { state ENUMERATED { present (0), add (1), modify (2),
                                    delete (3) }, entryUUID syncUUID, cookie syncCookie OPTIONAL }
    syncInfoValue    ::= CHOICE { newcookie [0] syncCookie,
                                  refreshDelete  [1] SEQUENCE { cookie OPTIONAL,
                                                     refreshDone BOOLEAN DEFAULT TRUE },
                                  refreshPresent [2] SEQUENCE { cookie OPTIONAL,
                                                     refreshDone BOOLEAN DEFAULT TRUE },
                                  syncIdSet      [3] SEQUENCE { cookie OPTIONAL,
                                                     refreshDeletes BOOLEAN DEFAULT FALSE,
                                                     syncUUIDs SET OF syncUUID } }
    syncDoneValue    ::= SEQUENCE { cookie syncCookie OPTIONAL,
                                    refreshDeletes BOOLEAN DEFAULT FALSE }

(syncUUID is the entryUUID's 16 bytes; syncCookie is opaque.)
"""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass

from credsync.connectors._ber import ber_elements, ber_tlv

__all__ = [
    "PPOLICY_OID",
    "SYNC_DONE_OID",
    "SYNC_INFO_OID",
    "SYNC_REQUEST_OID",
    "SYNC_STATE_OID",
    "PolicyError",
    "PolicyResponse",
    "SyncDone",
    "SyncInfo",
    "SyncState",
    "SyncStateValue",
    "ber_elements",
    "ber_tlv",
    "decode_policy_response",
    "decode_sync_done",
    "decode_sync_info",
    "decode_sync_state",
    "sync_request",
]

PPOLICY_OID = "1.3.6.1.4.1.42.2.27.8.5.1"
SYNC_REQUEST_OID = "1.3.6.1.4.1.4203.1.9.1.1"
SYNC_STATE_OID = "1.3.6.1.4.1.4203.1.9.1.2"
SYNC_DONE_OID = "1.3.6.1.4.1.4203.1.9.1.3"
SYNC_INFO_OID = "1.3.6.1.4.1.4203.1.9.1.4"

_SEQUENCE, _SET, _OCTETS, _BOOLEAN, _ENUMERATED = 0x30, 0x31, 0x04, 0x01, 0x0A


# --- BER, as little as we need ------------------------------------------------------------------
def _only(data: bytes, tag: int) -> bytes:
    """The value of the single element of ``data``, which must have ``tag``."""
    found = list(ber_elements(data))
    if len(found) != 1 or found[0][0] != tag:
        raise ValueError(f"BER: expected one element with tag 0x{tag:02x}")
    return found[0][1]


def _int(value: bytes) -> int:
    if not value:
        raise ValueError("BER: empty integer")
    return int.from_bytes(value, "big", signed=True)


def _uuid(raw: bytes) -> str:
    if len(raw) != 16:
        raise ValueError("syncUUID is not 16 octets")
    return str(uuid.UUID(bytes=raw))


# --- password policy ------------------------------------------------------------------------
class PolicyError(enum.IntEnum):
    PASSWORD_EXPIRED = 0
    ACCOUNT_LOCKED = 1
    CHANGE_AFTER_RESET = 2
    PASSWORD_MOD_NOT_ALLOWED = 3
    MUST_SUPPLY_OLD_PASSWORD = 4
    INSUFFICIENT_PASSWORD_QUALITY = 5
    PASSWORD_TOO_SHORT = 6
    PASSWORD_TOO_YOUNG = 7
    PASSWORD_IN_HISTORY = 8

    @property
    def words(self) -> str:
        """The draft's name: ``passwordTooShort``."""
        head, *rest = self.name.lower().split("_")
        return head + "".join(part.capitalize() for part in rest)


@dataclass(frozen=True)
class PolicyResponse:
    error: PolicyError | None = None
    time_before_expiration: int | None = None  # seconds
    grace_remaining: int | None = None  # grace binds left after this one


def decode_policy_response(value: bytes) -> PolicyResponse:
    error = expiration = grace = None
    for tag, inner in ber_elements(_only(value, _SEQUENCE)):
        if tag == 0xA0:  # warning
            for choice, number in ber_elements(inner):
                if choice == 0x80:
                    expiration = _int(number)
                elif choice == 0x81:
                    grace = _int(number)
        elif tag == 0x81:  # error
            code = _int(inner)
            error = PolicyError(code) if code in PolicyError._value2member_map_ else None
    return PolicyResponse(error, expiration, grace)


# --- content synchronisation (RFC 4533) ---------------------------------------------------------
class SyncState(enum.IntEnum):
    PRESENT = 0
    ADD = 1
    MODIFY = 2
    DELETE = 3


@dataclass(frozen=True)
class SyncStateValue:
    state: SyncState
    entry_uuid: str
    cookie: bytes | None = None


@dataclass(frozen=True)
class SyncInfo:
    """An intermediate Sync Info message. ``kind``: ``new_cookie``, ``refresh_delete``,
    ``refresh_present`` or ``id_set``; ``deletes`` is an id set's refreshDeletes (its ids were
    deleted; otherwise they are present)."""

    kind: str
    cookie: bytes | None = None
    uuids: tuple[str, ...] = ()
    deletes: bool = False
    refresh_done: bool = True


@dataclass(frozen=True)
class SyncDone:
    cookie: bytes | None
    refresh_deletes: bool  # False: a present phase (entries not sent as present are gone)


def sync_request(cookie: bytes | None) -> bytes:
    """A refreshOnly Sync Request control value, with the cookie when there is one."""
    body = ber_tlv(_ENUMERATED, b"\x01")
    if cookie:
        body += ber_tlv(_OCTETS, cookie)
    return ber_tlv(_SEQUENCE, body)


def decode_sync_state(value: bytes) -> SyncStateValue:
    parts = list(ber_elements(_only(value, _SEQUENCE)))
    if len(parts) < 2 or parts[0][0] != _ENUMERATED or parts[1][0] != _OCTETS:
        raise ValueError("syncStateValue: no state and entryUUID")
    cookie = parts[2][1] if len(parts) > 2 and parts[2][0] == _OCTETS else None
    return SyncStateValue(SyncState(_int(parts[0][1])), _uuid(parts[1][1]), cookie)


def _bool(value: bytes) -> bool:
    return value != b"\x00"


def decode_sync_info(value: bytes) -> SyncInfo:
    ((tag, inner),) = list(ber_elements(value)) or [(0, b"")]
    if tag == 0x80:
        return SyncInfo("new_cookie", cookie=inner)
    if tag not in (0xA1, 0xA2, 0xA3):
        raise ValueError(f"syncInfoValue: unknown choice 0x{tag:02x}")
    cookie: bytes | None = None
    flag: bool | None = None
    uuids: list[str] = []
    for part, body in ber_elements(inner):
        if part == _OCTETS:
            cookie = body
        elif part == _BOOLEAN:
            flag = _bool(body)
        elif part == _SET and tag == 0xA3:
            uuids.extend(_uuid(raw) for kind, raw in ber_elements(body) if kind == _OCTETS)
    if tag == 0xA3:
        return SyncInfo("id_set", cookie=cookie, uuids=tuple(uuids), deletes=bool(flag))
    kind = "refresh_delete" if tag == 0xA1 else "refresh_present"
    return SyncInfo(kind, cookie=cookie, refresh_done=True if flag is None else flag)


def decode_sync_done(value: bytes) -> SyncDone:
    cookie: bytes | None = None
    deletes = False
    for tag, body in ber_elements(_only(value, _SEQUENCE)):
        if tag == _OCTETS:
            cookie = body
        elif tag == _BOOLEAN:
            deletes = _bool(body)
    return SyncDone(cookie, deletes)
