"""Checks for text that comes from users and files: each failure names the field and the rule.

``what`` is how a message names the input ("client name"); ``field``, when given, is the
input's name in the service's terms (``InvalidInput.field``: "title"), for the boundaries to
point at their own field.
"""

from __future__ import annotations

import re
import unicodedata

from credsync.errors import InvalidInput
from credsync.types import Secret, SyncMode

__all__ = [
    "clean_name",
    "clean_secret",
    "clean_tags",
    "clean_text",
    "parse_sync_mode",
]

MAX_SECRET_CHARS = 1024
MAX_PEM_SECRET_CHARS = 16 * 1024  # an app's certificate and private key (Entra directories)
MAX_NOTES_CHARS = 20_000
MAX_TAGS = 32
_TAG = re.compile(r"^[\w][\w.:/@+-]{0,63}$")
# Unicode category Cc: C0 controls, DEL and C1 controls.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
_CONTROL_MULTILINE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def _check_utf8(value: str, what: str, field: str | None) -> None:
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
    _check_utf8(value, what, field)
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


def name_key(name: str) -> str:
    """The case-folded form under which names must be unique."""
    return unicodedata.normalize("NFKC", name).casefold()


def is_pem(raw: str) -> bool:
    """A PEM document (certificates, keys): the one kind of secret with line breaks."""
    return raw.startswith("-----BEGIN ") and "\n-----END " in raw


def clean_secret(value: Secret, what: str = "password", *, field: str = "password") -> Secret:
    """A password: 1 to 1,024 characters, no NUL, no line break; or a PEM document (an app's
    certificate and key) of up to 16 KiB."""
    raw = value.reveal()
    _check_utf8(raw, what, field)
    if not raw:
        raise InvalidInput(f"{what} must not be empty", field=field)
    if is_pem(raw):
        if len(raw) > MAX_PEM_SECRET_CHARS or "\x00" in raw or "\r" in raw:
            raise InvalidInput(
                f"{what} (a PEM document) is too long or holds a NUL or carriage return "
                f"(at most {MAX_PEM_SECRET_CHARS} characters)",
                field=field,
            )
        return value
    if len(raw) > MAX_SECRET_CHARS:
        raise InvalidInput(
            f"{what} is too long (at most {MAX_SECRET_CHARS} characters)", field=field
        )
    if any(ch in "\x00\r\n" for ch in raw):
        raise InvalidInput(f"{what} contains a NUL or line break", field=field)
    return value


def clean_tags(tags: list[str] | tuple[str, ...] | None) -> tuple[str, ...]:
    out: list[str] = []
    for raw in tags or ():
        _check_utf8(raw, "tag", "tags")
        tag = raw.strip().lower()
        if not tag:
            continue
        if not _TAG.match(tag):
            raise InvalidInput(
                f"tag {tag!r} is not valid: letters, digits and . : / @ + - _ only, "
                "at most 64 characters, starting with a letter or digit",
                field="tags",
            )
        if tag not in out:
            out.append(tag)
    if len(out) > MAX_TAGS:
        raise InvalidInput(f"too many tags ({len(out)}, at most {MAX_TAGS})", field="tags")
    return tuple(sorted(out))


def parse_sync_mode(value: str, *, allow_inherit: bool = False) -> SyncMode | None:
    text = value.strip().lower()
    if allow_inherit and text in ("inherit", "default", ""):
        return None
    try:
        return SyncMode(text)
    except ValueError:
        choices = "off, report, enforce" + (", inherit" if allow_inherit else "")
        raise InvalidInput(
            f"sync mode must be one of {choices}, not {value!r}", field="sync_mode"
        ) from None
