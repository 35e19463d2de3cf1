"""A local account as credsync sees it: SAMR's UserAllInformation to an Account.

- ``id``: the account's SID (the machine's SID and the RID): stable across renames, and
  unique even if a client's machines share names. :func:`rid_of` takes it apart again.
- ``username``: the SAM account name; ``domain``: the machine's NetBIOS name, so that a
  credential's ``MACHINE\\user`` matches (:meth:`Account.names`).
- ``password_stamp``: PasswordLastSet as its integer (a FILETIME; Samba keeps it to the
  second, Windows to 100 ns); ``password_changed_at`` the same moment in UTC. 0 means "must
  change at next logon" (no moment: no ``password_changed_at``).
- flags (SAMR's USER_* values): disabled (0x1), locked out (USER_ACCOUNT_AUTO_LOCKED,
  0x400), expired (USER_PASSWORD_EXPIRED 0x20000, PasswordLastSet 0, or PasswordMustChange
  in the past); ``protected``: the built-in Administrator (RID 500).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from credsync.connectors.base import Account
from credsync.connectors.local_accounts._client import NEVER, UserState

__all__ = [
    "ACCOUNT_DISABLED",
    "AUTO_LOCKED",
    "account_id",
    "from_filetime",
    "rid_of",
    "to_account",
]

ACCOUNT_DISABLED = 0x00000001
AUTO_LOCKED = 0x00000400
DONT_EXPIRE_PASSWORD = 0x00000200
PASSWORD_EXPIRED = 0x00020000
ADMINISTRATOR_RID = 500
_EPOCH = datetime(1601, 1, 1, tzinfo=UTC)


def from_filetime(value: int) -> datetime | None:
    if value <= 0 or value >= NEVER:
        return None
    return _EPOCH + timedelta(microseconds=value // 10)


def account_id(domain_sid: str, rid: int) -> str:
    return f"{domain_sid}-{rid}"


def rid_of(account_id_: str, domain_sid: str) -> int | None:
    """The RID in ``account_id_`` when it is an account of the machine ``domain_sid``."""
    prefix = domain_sid + "-"
    if not domain_sid or not account_id_.upper().startswith(prefix.upper()):
        return None
    rest = account_id_[len(prefix) :]
    return int(rest) if rest.isdigit() else None


def to_account(state: UserState, *, domain_sid: str, machine: str, now: datetime) -> Account:
    changed = from_filetime(state.password_last_set)
    must_change = state.password_last_set == 0
    must_by = from_filetime(state.password_must_change)
    expired = (
        must_change
        or bool(state.uac & PASSWORD_EXPIRED)
        or (must_by is not None and must_by <= now and not state.uac & DONT_EXPIRE_PASSWORD)
    )
    return Account(
        id=account_id(domain_sid, state.rid),
        username=state.name,
        domain=machine,
        display_name=state.full_name or None,
        enabled=not state.uac & ACCOUNT_DISABLED,
        locked_out=bool(state.uac & AUTO_LOCKED),
        password_expired=expired,
        must_change_password=must_change,
        password_stamp=str(state.password_last_set),
        password_changed_at=changed,
        protected=state.rid == ADMINISTRATOR_RID,
    )
