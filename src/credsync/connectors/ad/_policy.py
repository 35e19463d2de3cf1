"""Active Directory's password complexity rule ("Password must meet complexity
requirements", on in the default domain policy and in Samba's), checked before a write.

From `Password must meet complexity requirements
<https://learn.microsoft.com/en-us/previous-versions/windows/it-pro/windows-10/security/threat-protection/security-policy-settings/password-must-meet-complexity-requirements>`_:
the password must not contain the user's sAMAccountName (when it is 3 characters or longer,
case-insensitively), nor any token of their displayName of 3 characters or more (tokens split at
commas, periods, dashes, underscores, spaces, tabs and number signs); and it must contain
characters from three of: upper case letters, lower case letters, digits (0-9) and
non-alphanumeric characters (Unicode letters that are neither upper nor lower case count as a
fifth category). The domain's minimum length (7 in the default domain policy) and its history
are the directory's own: a push that breaks them is refused with the directory's words.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

__all__ = ["password_refusal_for"]

_DELIMITERS = re.compile(r"[,.\-_ \t#]+")


def _categories(password: str) -> int:
    upper = any(c.isupper() for c in password)
    lower = any(c.islower() for c in password)
    digit = any(c.isdigit() for c in password)
    other = any(not c.isalnum() for c in password)
    letter = any(c.isalpha() and not c.isupper() and not c.islower() for c in password)
    return sum((upper, lower, digit, other, letter))


def password_refusal_for(password: str, names: Sequence[str]) -> tuple[str, str] | None:
    """(code, reason) when AD's complexity rule refuses ``password`` for an account with
    ``names`` (its sAMAccountName and display name; a ``DOMAIN\\name`` or UPN gives its name
    part); None when it complies. Codes: ``classes``, ``account_name``, ``display_name``. The
    reason never quotes the password (it names the name part it holds)."""
    if _categories(password) < 3:
        return "classes", (
            "it has fewer than 3 of upper case, lower case, digits and symbols, which Active "
            "Directory's complexity rule requires"
        )
    lowered = password.casefold()
    for name in names:
        account = name.split("\\")[-1].split("@")[0]
        if len(account) >= 3 and account.casefold() in lowered:
            return "account_name", (
                f"it contains the account name {account!r}, which Active Directory's complexity "
                "rule forbids"
            )
    for name in names:
        for token in _DELIMITERS.split(name):
            if len(token) >= 3 and token.casefold() in lowered:
                return "display_name", (
                    f"it contains {token!r}, a part of the user's name, which Active Directory's "
                    "complexity rule forbids"
                )
    return None
