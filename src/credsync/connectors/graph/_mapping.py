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
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def to_account(user: Mapping[str, Any]) -> Account:
    upn = str(user.get("userPrincipalName") or user["id"])
    profile = user.get("passwordProfile") or {}
    must_change = bool(
        profile.get("forceChangePasswordNextSignIn")
        or profile.get("forceChangePasswordNextSignInWithMfa")
    )
    stamp = user.get("lastPasswordChangeDateTime") or None
    return Account(
        id=str(user["id"]),
        username=upn,
        upn=upn,
        domain=None,
        display_name=user.get("displayName"),
        enabled=user.get("accountEnabled") is not False,
        locked_out=False,
        password_expired=must_change,
        must_change_password=must_change,
        password_stamp=str(stamp) if stamp is not None else None,
        password_changed_at=parse_time(str(stamp)) if stamp is not None else None,
        synced_from_on_premises=user.get("onPremisesSyncEnabled") is True,
        protected=False,
    )


def policies_with(current: str | None, policy: str) -> str:
    """Graph's comma-separated passwordPolicies with ``policy`` added (others kept, in order)."""
    parts = [p.strip() for p in (current or "").split(",") if p.strip()]
    if policy.casefold() not in (p.casefold() for p in parts):
        parts.append(policy)
    return ", ".join(parts)
