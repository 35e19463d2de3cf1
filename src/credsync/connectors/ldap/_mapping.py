"""An LDAP user entry (ldap3's raw attribute values) -> :class:`~credsync.connectors.base.Account`.

Pure functions over ``dict[str, list[bytes]]`` and the time given, so the mapping is tested
without a server. The password policy's operational attributes (ppolicy, draft-behera) are read
as OpenLDAP 2.5's ppolicy overlay acts on them (``servers/slapd/overlays/ppolicy.c``):

* ``id``: entryUUID; ``username``: the naming attribute (``uid`` by default; the first RDN's
  value when the entry has none); ``upn``: ``mail`` (what people sign in with where the
  directory has e-mail addresses; None without one); ``display_name``: displayName, else cn.
* ``enabled``: False when pwdAccountLockedTime is ``000001010000Z`` (locked by an administrator
  until one unlocks it) or the entry is outside pwdStartTime..pwdEndTime.
* ``locked_out``: pwdAccountLockedTime is a time, in effect now (not in the future) and, when
  the policy is known, not older than its pwdLockoutDuration (0: until unlocked); or
  pwdAccountTmpLockoutEnd (pwdMinDelay) is still ahead. The server reacts to either only when
  the policy has pwdLockout TRUE: with a known policy without it, neither counts.
* ``must_change_password``: pwdReset TRUE (when the policy is known: and it has pwdMustChange,
  without which the server ignores pwdReset); ``password_expired``: that, or pwdChangedTime
  older than the policy's pwdMaxAge (expired; grace binds may remain).
* ``password_stamp``: pwdChangedTime exactly as the server wrote it (``20250102030405Z``: one
  second resolution); ``password_changed_at``: the same moment as a UTC datetime. None for
  both without ppolicy (the server keeps no pwdChangedTime) or before a first change.

Which policy applies: the entry's pwdPolicySubentry, else the server's default when the
connector was told its DN (nobody but cn=config can read ``olcPPolicyDefault``); without one
the mapping assumes lockouts are in effect and computes no expiry by age.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from credsync.connectors.base import Account

__all__ = [
    "LOCKED_FOR_GOOD",
    "POLICY_ATTRIBUTES",
    "Policy",
    "account_attributes",
    "entry_uuid",
    "parse_generalized_time",
    "policy_dn_of",
    "to_account",
]

LOCKED_FOR_GOOD = "000001010000Z"
POLICY_ATTRIBUTES = (
    "pwdMaxAge",
    "pwdLockout",
    "pwdLockoutDuration",
    "pwdMustChange",
    "pwdMaxFailure",
    "pwdGraceAuthNLimit",
)
_ENTRY_ATTRIBUTES = (
    "entryUUID",
    "cn",
    "displayName",
    "mail",
    "modifyTimestamp",
    "entryCSN",
    "pwdChangedTime",
    "pwdAccountLockedTime",
    "pwdAccountTmpLockoutEnd",
    "pwdReset",
    "pwdPolicySubentry",
    "pwdStartTime",
    "pwdEndTime",
)
_TIME = re.compile(r"^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})?(\d{2})?(?:[.,](\d{1,9}))?(Z|[+-]\d{4})$")

RawEntry = Mapping[str, Sequence[bytes]]


def account_attributes(naming_attribute: str) -> list[str]:
    """The attributes an account is read with (its naming attribute first)."""
    names = [naming_attribute, *_ENTRY_ATTRIBUTES]
    return list(dict.fromkeys(n for n in names))


def parse_generalized_time(text: str | None) -> datetime | None:
    """A GeneralizedTime (``20250102030405Z``, ``20250102030405.123456Z``, with an offset) as
    a UTC datetime; None for None, ``000001010000Z`` or anything unreadable."""
    if not text:
        return None
    found = _TIME.match(text.strip())
    if not found:
        return None
    year, month, day, hour, minute, second, fraction, zone = found.groups()
    try:
        moment = datetime(
            int(year),
            int(month),
            int(day),
            int(hour),
            int(minute or 0),
            int(second or 0),
            int((fraction or "0").ljust(6, "0")[:6]),
            tzinfo=UTC,
        )
    except ValueError:
        return None  # year 0000 (000001010000Z), 30 February...
    if zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        moment -= sign * timedelta(hours=int(zone[1:3]), minutes=int(zone[3:5]))
    return moment


def _text(entry: RawEntry, name: str) -> str | None:
    for key, values in entry.items():  # servers may answer in another case than asked
        if key.lower() == name.lower():
            return bytes(values[0]).decode("utf-8") if values else None
    return None


def _int(entry: RawEntry, name: str) -> int:
    text = _text(entry, name)
    try:
        return int(text) if text else 0
    except ValueError:
        return 0


def _bool(entry: RawEntry, name: str) -> bool:
    return (_text(entry, name) or "").upper() == "TRUE"


@dataclass(frozen=True)
class Policy:
    """What the mapping needs of a pwdPolicy entry (durations in seconds; 0: none)."""

    dn: str
    max_age: int = 0
    lockout: bool = False
    lockout_duration: int = 0
    must_change: bool = False
    max_failure: int = 0

    @classmethod
    def from_entry(cls, dn: str, entry: RawEntry) -> Policy:
        return cls(
            dn=dn,
            max_age=_int(entry, "pwdMaxAge"),
            lockout=_bool(entry, "pwdLockout"),
            lockout_duration=_int(entry, "pwdLockoutDuration"),
            must_change=_bool(entry, "pwdMustChange"),
            max_failure=_int(entry, "pwdMaxFailure"),
        )


def entry_uuid(entry: RawEntry) -> str | None:
    return _text(entry, "entryUUID")


def policy_dn_of(entry: RawEntry, default: str | None) -> str | None:
    """The DN of the policy that applies to the entry (see the module docstring)."""
    return _text(entry, "pwdPolicySubentry") or default


def _first_rdn_value(dn: str) -> str:
    rdn = dn.split(",", 1)[0]
    return rdn.split("=", 1)[1] if "=" in rdn else dn


def _locked(entry: RawEntry, policy: Policy | None, now: datetime) -> tuple[bool, bool]:
    """(locked for good by an administrator, locked out now)."""
    if policy is not None and not policy.lockout:
        return False, False
    stamp = _text(entry, "pwdAccountLockedTime")
    temporary = parse_generalized_time(_text(entry, "pwdAccountTmpLockoutEnd"))
    locked = temporary is not None and temporary > now
    if stamp == LOCKED_FOR_GOOD:
        return True, locked
    if stamp:
        since = parse_generalized_time(stamp)
        if since is None or policy is None or policy.lockout_duration == 0:
            locked = locked or since is None or since <= now
        else:
            locked = locked or since <= now < since + timedelta(seconds=policy.lockout_duration)
    return False, locked


def to_account(
    dn: str,
    entry: RawEntry,
    *,
    naming_attribute: str,
    policy: Policy | None,
    now: datetime,
) -> Account:
    """The account of an entry that has an entryUUID (callers skip those without)."""
    uuid_text = entry_uuid(entry)
    if not uuid_text:
        raise ValueError(f"{dn} has no entryUUID")
    disabled, locked = _locked(entry, policy, now)
    starts = parse_generalized_time(_text(entry, "pwdStartTime"))
    ends = parse_generalized_time(_text(entry, "pwdEndTime"))
    outside = (starts is not None and now < starts) or (ends is not None and ends <= now)
    stamp = _text(entry, "pwdChangedTime")
    changed_at = parse_generalized_time(stamp)
    must_change = _bool(entry, "pwdReset") and (policy is None or policy.must_change)
    aged = (
        policy is not None
        and policy.max_age > 0
        and changed_at is not None
        and now - changed_at > timedelta(seconds=policy.max_age)
    )
    return Account(
        id=uuid_text.lower(),
        username=_text(entry, naming_attribute) or _first_rdn_value(dn),
        upn=_text(entry, "mail"),
        display_name=_text(entry, "displayName") or _text(entry, "cn"),
        dn=dn,
        enabled=not (disabled or outside),
        locked_out=locked,
        password_expired=must_change or aged,
        must_change_password=must_change,
        password_stamp=stamp,
        password_changed_at=changed_at,
    )
