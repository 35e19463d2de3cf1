"""Graph user JSON -> :class:`~credsync.connectors.base.Account` (and nothing else leaves).

Names: ``username`` and ``upn`` are both the userPrincipalName, and ``domain`` is None, so
:meth:`Account.names` is the UPN alone. A cloud user has no NetBIOS name to match
``DOMAIN\\name`` against; an on-premises-synced user's ``onPremisesSamAccountName`` and
``onPremisesDomainName`` exist, but such a user is matched through its Active Directory
connector, where those names live. mailNickname is not a sign-in name and is not offered.

``password_stamp`` is lastPasswordChangeDateTime exactly as Graph wrote it (second precision,
trailing ``Z``), so stamps compare as text; ``password_changed_at`` is the same moment parsed.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from credsync.connectors.base import Account

__all__ = [
    "FIELDS",
    "PAGE_SIZE",
    "SELECT",
    "complete",
    "page_size",
    "parse_time",
    "policies_with",
    "to_account",
]

#: every property an Account needs, asked for with $select on every read
FIELDS = (
    "id",
    "userPrincipalName",
    "displayName",
    "accountEnabled",
    "lastPasswordChangeDateTime",
    "onPremisesSyncEnabled",
    "passwordPolicies",
    "passwordProfile",
    "usageLocation",
)
SELECT = ",".join(FIELDS)
PAGE_SIZE = 999  # Graph's largest $top for users


def page_size(text: str) -> int:
    """The ``page_size`` option: users per page of a listing, 1-999 (default 999)."""
    try:
        size = int(text)
    except ValueError:
        return PAGE_SIZE
    return min(max(size, 1), PAGE_SIZE)


def complete(user: Mapping[str, Any]) -> bool:
    """Whether ``user`` carries every property :func:`to_account` needs (a key whose value is
    null counts: Graph says "none"); delta pages may hold only what changed."""
    return (
        "userPrincipalName" in user
        and "accountEnabled" in user
        and "lastPasswordChangeDateTime" in user
        and "passwordProfile" in user
    )


def parse_time(text: str) -> datetime | None:
    """Graph's ``2026-11-22T07:41:03Z`` (fractions of a second allowed) as an aware UTC
    datetime; None when it is not a timestamp."""
    try:
        parsed = datetime.fromisoformat(text)  # Python 3.11 reads the trailing Z
    except ValueError:
        return None
    zone = parsed.tzinfo
    if zone is UTC:  # Graph's own ``Z``: nothing to convert
        return parsed
    if zone is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def to_account(user: Mapping[str, Any]) -> Account:
    """One user's JSON as an Account. Every field given by position, in ``Account``'s order
    (tests/connectors/graph/test_units.py checks each one by name): a full pass makes
    100,000 of them, and keyword arguments cost a third more than the rest of the mapping."""
    get = user.get
    upn = str(get("userPrincipalName") or user["id"])
    profile = get("passwordProfile") or {}
    must_change = bool(
        profile.get("forceChangePasswordNextSignIn")
        or profile.get("forceChangePasswordNextSignInWithMfa")
    )
    stamp = get("lastPasswordChangeDateTime") or None
    if stamp is not None:
        stamp = str(stamp)
    return Account(
        str(user["id"]),  # id
        upn,  # username
        upn,  # upn
        None,  # domain
        get("displayName"),  # display_name
        None,  # dn
        get("accountEnabled") is not False,  # enabled
        False,  # locked_out
        must_change,  # password_expired
        must_change,  # must_change_password
        stamp,  # password_stamp
        parse_time(stamp) if stamp is not None else None,  # password_changed_at
        get("onPremisesSyncEnabled") is True,  # synced_from_on_premises
        False,  # protected
    )


def policies_with(current: str | None, policy: str) -> str:
    """Graph's comma-separated passwordPolicies with ``policy`` added (others kept, in order)."""
    parts = [p.strip() for p in (current or "").split(",") if p.strip()]
    if policy.casefold() not in (p.casefold() for p in parts):
        parts.append(policy)
    return ", ".join(parts)
