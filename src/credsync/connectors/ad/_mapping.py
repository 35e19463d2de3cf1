"""An AD user entry (ldap3's raw attribute values) -> :class:`~credsync.connectors.base.Account`.

Pure functions over ``dict[str, list[bytes]]``, so the mapping is tested without a directory.
We read raw values (connections use ``get_info=NONE``, so ldap3 has no schema to format with):

* ``id``: objectGUID as canonical UUID text (AD stores the GUID little-endian: ``bytes_le``).
* ``enabled``: userAccountControl bit 0x2 (ACCOUNTDISABLE) clear.
* ``locked_out``: msDS-User-Account-Control-Computed bit 0x10 (UF_LOCKOUT), which Samba and
  Windows compute with the lockout duration applied; when that attribute is missing, a
  non-zero lockoutTime.
* ``password_expired``: computed bit 0x800000 (UF_PASSWORD_EXPIRED) or pwdLastSet == 0;
  ``must_change_password`` is pwdLastSet == 0 (AD's "must change at next logon").
* ``password_stamp``: pwdLastSet as its integer text (exactly comparable);
  ``password_changed_at``: the same FILETIME as a UTC datetime (None for 0).
* ``protected``: adminCount == 1 (the account is or was in a privileged group).

After a password reset the account is read back with :data:`RESET_ATTRIBUTES` only
(:func:`after_reset`): what a reset can change, without the computed attribute, which the DC
works out entry by entry from the effective password policy (the dearest attribute to read).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from credsync.connectors.base import Account, AccountScope

__all__ = [
    "ACCOUNT_ATTRIBUTES",
    "RESET_ATTRIBUTES",
    "USER_FILTER",
    "after_reset",
    "escape_value",
    "filetime_to_datetime",
    "guid_filter_value",
    "guid_text",
    "scoped_filter",
    "to_account",
]

# Only what :func:`to_account` reads: each attribute more costs the DC and ldap3's decoder
# (the entry's DN comes with every entry: distinguishedName is not asked for).
ACCOUNT_ATTRIBUTES = (
    "objectGUID",
    "sAMAccountName",
    "userPrincipalName",
    "displayName",
    "userAccountControl",
    "pwdLastSet",
    "lockoutTime",
    "msDS-User-Account-Control-Computed",
    "adminCount",
)
# What a password reset can change, read back with it (see :func:`after_reset`).
RESET_ATTRIBUTES = ("objectGUID", "pwdLastSet", "userAccountControl", "lockoutTime")
# People, not computers (computer objects are of objectClass user too), nor trust accounts.
USER_FILTER = "(&(objectCategory=person)(objectClass=user)(!(objectClass=computer)))"

IN_CHAIN = "1.2.840.113556.1.4.1941"  # LDAP_MATCHING_RULE_IN_CHAIN: nested membership
BIT_AND = "1.2.840.113556.1.4.803"  # LDAP_MATCHING_RULE_BIT_AND

UF_ACCOUNTDISABLE = 0x2
UF_LOCKOUT = 0x10
UF_PASSWORD_EXPIRED = 0x800000
_EPOCH_1601 = datetime(1601, 1, 1, tzinfo=UTC)
_NEVER = (0, 0x7FFFFFFFFFFFFFFF)

RawEntry = Mapping[str, Sequence[bytes]]


def guid_text(raw: bytes) -> str:
    return str(uuid.UUID(bytes_le=bytes(raw)))


def guid_filter_value(account_id: str) -> str:
    """The objectGUID as an escaped LDAP filter value (``\\xx`` per byte)."""
    return "".join(f"\\{b:02x}" for b in uuid.UUID(account_id).bytes_le)


def escape_value(value: str) -> str:
    """Text as an LDAP filter value (RFC 4515: ``*``, ``(``, ``)``, ``\\`` and NUL escaped)."""
    out = value.replace("\\", "\\5c")
    for char, code in (("*", "\\2a"), ("(", "\\28"), (")", "\\29"), ("\0", "\\00")):
        out = out.replace(char, code)
    return out


def scoped_filter(scope: AccountScope, ids: Sequence[str] | None = None) -> str:
    """The users ``scope`` selects: people, not the directory's critical system objects,
    enabled unless disabled ones are included, members (nested) of any of its groups;
    ``ids``: only those objectGUIDs."""
    terms = [USER_FILTER, "(!(isCriticalSystemObject=TRUE))"]
    if not scope.include_disabled:
        terms.append(f"(!(userAccountControl:{BIT_AND}:={UF_ACCOUNTDISABLE}))")
    if scope.groups:
        groups = "".join(f"(memberOf:{IN_CHAIN}:={escape_value(g)})" for g in scope.groups)
        terms.append(f"(|{groups})")
    if ids is not None:
        terms.append("(|" + "".join(f"(objectGUID={guid_filter_value(i)})" for i in ids) + ")")
    return "(&" + "".join(terms) + ")"


def filetime_to_datetime(value: int) -> datetime | None:
    """A FILETIME (100 ns since 1601-01-01 UTC) as a UTC datetime; None for 0 / "never"."""
    if value in _NEVER or value < 0:
        return None
    return _EPOCH_1601 + timedelta(microseconds=value // 10)


def _text(entry: RawEntry, name: str) -> str | None:
    values = entry.get(name) or []
    return bytes(values[0]).decode("utf-8") if values else None


def _int(entry: RawEntry, name: str) -> int | None:
    text = _text(entry, name)
    return int(text) if text not in (None, "") else None


def to_account(dn: str, entry: RawEntry, *, domain: str | None) -> Account:
    uac = _int(entry, "userAccountControl") or 0
    computed = _int(entry, "msDS-User-Account-Control-Computed")
    pwd_last_set = _int(entry, "pwdLastSet")
    lockout_time = _int(entry, "lockoutTime") or 0
    must_change = pwd_last_set == 0
    if computed is not None:
        locked = bool(computed & UF_LOCKOUT)
        expired = bool(computed & UF_PASSWORD_EXPIRED) or must_change
    else:
        locked = lockout_time != 0
        expired = must_change
    name = _text(entry, "sAMAccountName")
    upn = _text(entry, "userPrincipalName")
    return Account(
        id=guid_text(entry["objectGUID"][0]),
        username=name or upn or dn,
        upn=upn,
        domain=domain,
        display_name=_text(entry, "displayName"),
        dn=_text(entry, "distinguishedName") or dn,
        enabled=not uac & UF_ACCOUNTDISABLE,
        locked_out=locked,
        password_expired=expired,
        must_change_password=must_change,
        password_stamp=str(pwd_last_set) if pwd_last_set is not None else None,
        password_changed_at=filetime_to_datetime(pwd_last_set or 0),
        protected=_int(entry, "adminCount") == 1,
    )


def after_reset(account: Account, entry: RawEntry) -> Account:
    """``account`` as a password reset left it, from :data:`RESET_ATTRIBUTES` read back with
    the reset: its new pwdLastSet (the stamp the push records as confirmed: the DC's own, never
    guessed), whether it is enabled, and a lockout ended only if lockoutTime was cleared (a
    reset unlocks nothing). A password just set has not expired, unless it must be changed
    (pwdLastSet 0). The caller checks the entry's objectGUID is the account's."""
    pwd_last_set = _int(entry, "pwdLastSet")
    must_change = pwd_last_set == 0
    return replace(
        account,
        enabled=not (_int(entry, "userAccountControl") or 0) & UF_ACCOUNTDISABLE,
        locked_out=account.locked_out and (_int(entry, "lockoutTime") or 0) != 0,
        password_expired=must_change,
        must_change_password=must_change,
        password_stamp=str(pwd_last_set) if pwd_last_set is not None else None,
        password_changed_at=filetime_to_datetime(pwd_last_set or 0),
        password_changed_by=None,
    )
