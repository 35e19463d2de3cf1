"""Checks for one-line and multi-line text that comes from users, files and directories.

Below every layer that takes input (the vault's services, the connectors' settings): each
failure is an :class:`~credsync.errors.InvalidInput` naming what was wrong and the rule.
``what`` is how a message names the input ("client name"); ``field``, when given, is the
input's name in the service's terms (``InvalidInput.field``: "title"), for the boundaries to
point at their own field.
"""

from __future__ import annotations

import re

from credsync.errors import InvalidInput

__all__ = ["check_utf8", "clean_name", "clean_text"]

# Unicode category Cc: C0 controls, DEL and C1 controls.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
_CONTROL_MULTILINE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def check_utf8(value: str, what: str, field: str | None = None) -> None:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInput(f"{what} is not valid UTF-8 text", field=field) from None


def clean_text(
    value: str | None,
    what: str,
    max_len: int,
    *,
    multiline: bool = False,
    field: str | None = None,
) -> str:
    """Free text (username, url, notes): may be empty; no control characters but newlines/tabs
    in multi-line fields; at most ``max_len`` characters."""
    if value is None:
        return ""
    check_utf8(value, what, field)
    if len(value) > max_len:
        raise InvalidInput(
            f"{what} is too long ({len(value)} characters, at most {max_len})", field=field
        )
    found = (_CONTROL_MULTILINE if multiline else _CONTROL).search(value)
    if found:
        raise InvalidInput(
            f"{what} contains a control character (U+{ord(found.group()):04X})", field=field
        )
    return value if multiline else value.strip()


def clean_name(value: str | None, what: str, max_len: int, *, field: str | None = None) -> str:
    """A required one-line name: trimmed, not empty, printable."""
    text = clean_text(value, what, max_len, field=field)
    if not text:
        raise InvalidInput(f"{what} must not be empty", field=field)
    return text
