"""Test output never shows a password: a failed ``assert a == b`` between two strings, one of
which looks like a password, says where they differ without printing either.

Tests compare what the vault or a directory holds with what they expect
(``assert sw.reveal(cred) == password``); pytest's report of a failure would print both, and
the left one is a stored secret (a generated one, not in the test's source). Other string
comparisons (states, messages, names) are reported as pytest does.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["looks_like_a_password", "pytest_assertrepr_compare"]

_CLASSES = (re.compile(r"[a-z]"), re.compile(r"[A-Z]"), re.compile(r"[0-9]"))
_OTHER = re.compile(r"[^A-Za-z0-9]")


def looks_like_a_password(text: str) -> bool:
    """8 to 256 characters, no white space, lower and upper case, a digit and another sign:
    the complexity rules every test password follows; a state, a name, a message or an id
    hardly ever does."""
    if not 8 <= len(text) <= 256 or any(c.isspace() for c in text):
        return False
    return all(c.search(text) for c in _CLASSES) and _OTHER.search(text) is not None


def pytest_assertrepr_compare(
    config: Any, op: str, left: object, right: object
) -> list[str] | None:
    if op not in ("==", "!=") or not (isinstance(left, str) and isinstance(right, str)):
        return None
    if not (looks_like_a_password(left) or looks_like_a_password(right)):
        return None
    at = next((i for i, (a, b) in enumerate(zip(left, right, strict=False)) if a != b), None)
    where = f"first difference at character {at}" if at is not None else "one starts the other"
    if op == "!=":
        where = "they are equal"
    return [
        f"two strings compared with {op}: values not printed (one looks like a password)",
        f"lengths {len(left)} and {len(right)}; {where}",
    ]
