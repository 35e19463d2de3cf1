"""Checks for text that comes from users and files: each failure names the field and the rule
(``field=``: the input in the service's terms, see :mod:`credsync.checks`)."""

from __future__ import annotations

import re
import unicodedata

from credsync.checks import check_utf8 as _check_utf8
from credsync.checks import clean_name, clean_text
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
MAX_PEM_SECRET_CHARS = 16 * 1024  # an app's certificate and private key (in PEM)
MAX_NOTES_CHARS = 20_000
MAX_TAGS = 32
_TAG = re.compile(r"^[\w][\w.:/@+-]{0,63}$")


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
        return SyncMode.parse(text)
    except ValueError:
        choices = "off, report, enforce, two-way" + (", inherit" if allow_inherit else "")
        raise InvalidInput(
            f"sync mode must be one of {choices}, not {value!r}", field="sync_mode"
        ) from None
