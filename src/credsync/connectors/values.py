"""Cleaners for kinds' settings: each takes what a user typed and returns it checked and in
its canonical form, or raises :class:`~credsync.errors.InvalidInput` saying what is wrong
(:meth:`credsync.connectors.kinds.Kind.parse` adds which setting it was).

They know protocols (an LDAP URL, an https endpoint, a GUID), not kinds: a kind's ``kind.py``
picks the ones its settings need.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import urlsplit

from credsync.checks import clean_name, clean_text
from credsync.errors import InvalidInput

__all__ = [
    "attribute_name",
    "dn",
    "guid",
    "guid_or_domain",
    "https_url",
    "ldap_filter",
    "ldap_url",
    "netbios_name",
    "smb_url",
    "text",
]

Cleaner = Callable[[str], str]

_GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-zA-Z0-9-]{1,63}\.)+[a-zA-Z]{2,63}$")
# An attribute description (RFC 4512 descr or numericoid), without options.
# A NetBIOS computer name: 1-15 characters, none of the ones Windows forbids in it.
_NETBIOS = re.compile(r"^[A-Za-z0-9!#$%&'()^_{}~.-]{1,15}$")
_ATTRIBUTE = re.compile(r"^([A-Za-z][A-Za-z0-9-]{0,127}|[0-9]+(\.[0-9]+)+)$")


def text(what: str, max_len: int = 255, *, required: bool = False) -> Cleaner:
    """One line of text (may be empty unless ``required``)."""

    def clean(value: str) -> str:
        return clean_name(value, what, max_len) if required else clean_text(value, what, max_len)

    return clean


def dn(what: str = "base DN") -> Cleaner:
    """A distinguished name (checked for what a user gets wrong: empty, unbalanced)."""

    def clean(value: str) -> str:
        value = clean_name(value, what, 2048)
        if "=" not in value:
            raise InvalidInput(
                f"{what} {value!r} is not a distinguished name (such as DC=contoso,DC=com)"
            )
        return value

    return clean


def _split(url: str, what: str) -> tuple[str, str, str | None, int | None, str, str]:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise InvalidInput(f"{what} {url!r} is not valid: {exc}") from None
    extras = "".join(
        x for x in (parts.query, parts.fragment, parts.username or "", parts.password or "") if x
    )
    return parts.scheme, parts.path, parts.hostname, port, extras, url


def ldap_url(what: str = "directory url") -> Cleaner:
    """``ldaps://HOST[:PORT]`` or ``ldap://HOST[:PORT]`` (which always uses StartTLS), with the
    port made explicit."""

    def clean(value: str) -> str:
        url = clean_name(value, what, 2048)
        scheme, path, host, port, extras, _ = _split(url, what)
        if scheme not in ("ldaps", "ldap") or not host:
            raise InvalidInput(
                f"{what} {url!r} must be ldaps://HOST[:PORT] or ldap://HOST[:PORT] "
                "(ldap:// always uses StartTLS)"
            )
        if path not in ("", "/") or extras:
            raise InvalidInput(f"{what} {url!r} must be only scheme, host and port")
        default = 636 if scheme == "ldaps" else 389
        shown = f"[{host}]" if ":" in host else host
        return f"{scheme}://{shown}:{port or default}"

    return clean


def smb_url(what: str = "directory url") -> Cleaner:
    """``smb://HOST[:PORT]`` (SMB over TCP, 445 by default), with the port made explicit."""

    def clean(value: str) -> str:
        url = clean_name(value, what, 2048)
        scheme, path, host, port, extras, _ = _split(url, what)
        if scheme != "smb" or not host:
            raise InvalidInput(f"{what} {url!r} must be smb://HOST[:PORT]")
        if path not in ("", "/") or extras:
            raise InvalidInput(f"{what} {url!r} must be only scheme, host and port")
        shown = f"[{host}]" if ":" in host else host
        return f"smb://{shown}:{port or 445}"

    return clean


def netbios_name(what: str) -> Cleaner:
    """A NetBIOS computer name (at most 15 characters), upper-cased."""

    def clean(value: str) -> str:
        name = clean_name(value, what, 64)
        if not _NETBIOS.match(name) or name.strip(".") != name:
            raise InvalidInput(
                f"{what} {name!r} is not a NetBIOS name (1 to 15 letters, digits or - _ . "
                "such as FILESRV1)"
            )
        return name.upper()

    return clean


def https_url(what: str, *, strip_path: tuple[str, ...] = ()) -> Cleaner:
    """An https:// endpoint: scheme, host, port and at most a path prefix (``strip_path``
    suffixes removed); no query, no credentials."""

    def clean(value: str) -> str:
        url = clean_name(value, what, 2048)
        scheme, path, host, port, extras, _ = _split(url, what)
        if scheme != "https" or not host:
            raise InvalidInput(
                f"{what} {url!r} must be https://HOST[:PORT] (plain http is refused)"
            )
        if extras:
            raise InvalidInput(f"{what} {url!r} must be only scheme, host, port and path")
        path = path.rstrip("/")
        for suffix in strip_path:
            path = path.removesuffix(suffix)
        shown = f"[{host}]" if ":" in host else host
        return f"https://{shown}{f':{port}' if port else ''}{path}"

    return clean


def guid(what: str, example: str) -> Cleaner:
    """A GUID, lower-cased."""

    def clean(value: str) -> str:
        found = value.strip()
        if not _GUID.match(found):
            raise InvalidInput(f"{what} {value!r} must be {example}")
        return found.lower()

    return clean


def guid_or_domain(what: str, example: str) -> Cleaner:
    """A GUID or a DNS domain name, lower-cased."""

    def clean(value: str) -> str:
        found = value.strip()
        if _GUID.match(found) or _DOMAIN.match(found):
            return found.lower()
        raise InvalidInput(f"{what} {value!r} must be {example}")

    return clean


def ldap_filter(what: str = "user filter") -> Cleaner:
    """An LDAP search filter (RFC 4515): parenthesised, with balanced parentheses."""

    def clean(value: str) -> str:
        found = clean_name(value, what, 1024)
        depth = 0
        for char in found:
            depth += {"(": 1, ")": -1}.get(char, 0)
            if depth < 0:
                break
        if not (found.startswith("(") and found.endswith(")")) or depth != 0:
            raise InvalidInput(
                f"{what} {found!r} must be an LDAP filter in parentheses with balanced "
                "parentheses, such as (objectClass=inetOrgPerson)"
            )
        return found

    return clean


def attribute_name(what: str) -> Cleaner:
    """An LDAP attribute name (``uid``, ``sAMAccountName``) or OID."""

    def clean(value: str) -> str:
        found = value.strip()
        if not _ATTRIBUTE.match(found):
            raise InvalidInput(f"{what} {value!r} is not an LDAP attribute name (such as uid)")
        return found

    return clean
