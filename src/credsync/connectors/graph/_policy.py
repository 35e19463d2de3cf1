"""Entra ID's password rule for cloud users, checked before a write where it is known.

From `Microsoft Entra password policies
<https://learn.microsoft.com/en-us/entra/identity/authentication/concept-sspr-policy>`_:
8 to 256 characters; the characters allowed are A-Z, a-z, 0-9 and
``@ # $ % ^ & * - _ ! + = [ ] { } | \\ : ' , . ? / ` ~ " ( ) ; < >`` and the space
("Characters not allowed: Unicode characters"); and 3 of lower case, upper case, digits and
symbols (unless the user's passwordPolicies has DisableStrongPassword, which we don't
assume). Active Directory accepts what this refuses (7 characters by default, any Unicode): a
relayed password that breaks it would be refused by Graph with "The specified password does
not comply with password complexity requirements".
"""

from __future__ import annotations

import string

__all__ = ["SYMBOLS", "password_refusal"]

SYMBOLS = "@#$%^&*-_!+=[]{}|\\:',.?/`~\"();<> "
_ALLOWED = frozenset(string.ascii_letters + string.digits + SYMBOLS)


def password_refusal(password: str) -> tuple[str, str] | None:
    """(code, reason) when Entra would refuse ``password``; None when it complies. Codes:
    ``non_ascii``, ``too_short``, ``too_long``, ``classes``. The reason never quotes the
    password."""
    odd = [c for c in password if c not in _ALLOWED]
    if odd:
        unicode = any(ord(c) > 127 for c in odd)
        what = "non-ASCII (Unicode) characters" if unicode else "characters Entra does not allow"
        return "non_ascii", f"it has {what}, which Office 365 refuses"
    if len(password) < 8:
        return "too_short", f"it has {len(password)} characters; Office 365 needs at least 8"
    if len(password) > 256:
        return "too_long", f"it has {len(password)} characters; Office 365 allows at most 256"
    classes = (
        any(c.islower() for c in password),
        any(c.isupper() for c in password),
        any(c.isdigit() for c in password),
        any(c in SYMBOLS for c in password),
    )
    if sum(classes) < 3:
        return "classes", (
            "it has fewer than 3 of lower case, upper case, digits and symbols, which Office "
            "365 requires"
        )
    return None
