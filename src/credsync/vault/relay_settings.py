"""A relay's settings: what they hold, how what a user gave is checked
(:func:`parse_settings`: InvalidInput names the field) and how they are stored (JSON text in
``relays.settings``). What a relay does with them: :mod:`credsync.vault.relays`."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal

from typing_extensions import TypedDict

from credsync.connectors.identities import IdentityScope
from credsync.errors import InvalidInput

__all__ = [
    "DEFAULT_MATCH",
    "FIELDS",
    "RULES",
    "MatchRule",
    "RelaySettings",
    "RelaySettingsJson",
    "load_settings",
    "parse_settings",
]

MatchRule = Literal["link", "immutable_id", "upn", "mail"]
RULES: tuple[MatchRule, ...] = ("link", "immutable_id", "upn", "mail")
DEFAULT_MATCH: tuple[MatchRule, ...] = RULES
MAX_ITEMS = 50
# An LDAP attribute name (RFC 4512 descr): a letter, then letters, digits and hyphens.
_ATTRIBUTE = re.compile(r"^[A-Za-z][A-Za-z0-9-]{0,62}$")
_DOMAIN = re.compile(
    r"^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?)*$"
)


class RelaySettingsJson(TypedDict):
    scope_ous: list[str]
    scope_groups: list[str]
    enabled_only: bool
    filters: list[str]
    """``attribute=value`` (every one must hold)."""
    suffix_map: dict[str, str]
    """Source UPN suffix -> target UPN suffix (``contoso.local`` -> ``contoso.com``)."""
    match: list[MatchRule]
    never_expires: bool
    mirror_disable: bool
    allow_admins: list[str]
    """Target UPNs that may be matched although they hold an admin role."""


@dataclass(frozen=True)
class RelaySettings:
    scope_ous: tuple[str, ...] = ()
    scope_groups: tuple[str, ...] = ()
    enabled_only: bool = False
    filters: tuple[tuple[str, str], ...] = ()
    suffix_map: tuple[tuple[str, str], ...] = ()
    match: tuple[MatchRule, ...] = DEFAULT_MATCH
    never_expires: bool = False
    mirror_disable: bool = False
    allow_admins: tuple[str, ...] = ()

    @property
    def scope(self) -> IdentityScope:
        """What the source directory selects."""
        return IdentityScope(self.scope_ous, self.scope_groups, self.enabled_only, self.filters)

    def map_upn(self, upn: str | None) -> str | None:
        """The UPN with its suffix mapped (unmapped suffixes kept), lower-case."""
        if not upn or "@" not in upn:
            return upn.casefold() if upn else None
        name, _, suffix = upn.rpartition("@")
        mapped = dict(self.suffix_map).get(suffix.casefold(), suffix.casefold())
        return f"{name.casefold()}@{mapped}"

    def allows_admin(self, upn: str | None) -> bool:
        return bool(upn) and (upn or "").casefold() in self.allow_admins

    def to_json(self) -> RelaySettingsJson:
        return RelaySettingsJson(
            scope_ous=list(self.scope_ous),
            scope_groups=list(self.scope_groups),
            enabled_only=self.enabled_only,
            filters=[f"{a}={v}" for a, v in self.filters],
            suffix_map=dict(self.suffix_map),
            match=list(self.match),
            never_expires=self.never_expires,
            mirror_disable=self.mirror_disable,
            allow_admins=list(self.allow_admins),
        )

    def stored(self) -> str:
        return json.dumps(self.to_json(), sort_keys=True)


# -- checking what was given ---------------------------------------------------------------------
def _flag(value: Any, name: str) -> bool:
    if isinstance(value, bool):
        return value
    raise InvalidInput(f"{name} must be true or false, not {value!r}", field=name)


def _texts(value: Any, name: str) -> list[str]:
    if isinstance(value, str) or not isinstance(value, list | tuple):
        raise InvalidInput(f"{name} must be a list", field=name)
    out: list[str] = []
    for raw in value:
        if not isinstance(raw, str) or any(c in raw for c in "\0\r\n") or len(raw) > 2048:
            raise InvalidInput(f"{name}: {raw!r} is not acceptable text", field=name)
        out.append(raw.strip())
    if len(out) > MAX_ITEMS:
        raise InvalidInput(f"{name}: at most {MAX_ITEMS}", field=name)
    return out


def _dns(value: Any, name: str) -> tuple[str, ...]:
    out: list[str] = []
    for text in _texts(value, name):
        if "=" not in text:
            raise InvalidInput(
                f"{name}: {text!r} is not a distinguished name (such as "
                "OU=Staff,DC=contoso,DC=com)",
                field=name,
            )
        if text.casefold() not in (o.casefold() for o in out):
            out.append(text)
    return tuple(out)


def _pairs(value: Any, name: str) -> list[tuple[str, str]]:
    """``a=b`` texts (or a mapping) as pairs."""
    if isinstance(value, Mapping):
        value = [f"{k}={v}" for k, v in value.items()]
    out: list[tuple[str, str]] = []
    for text in _texts(value, name):
        left, sep, right = text.partition("=")
        if not sep or not left.strip() or not right.strip():
            raise InvalidInput(f"{name}: {text!r} is not of the form NAME=VALUE", field=name)
        out.append((left.strip(), right.strip()))
    return out


def _filters(value: Any) -> tuple[tuple[str, str], ...]:
    out: list[tuple[str, str]] = []
    for attribute, wanted in _pairs(value, "filters"):
        if not _ATTRIBUTE.match(attribute):
            raise InvalidInput(
                f"filters: {attribute!r} is not an attribute name (such as department or "
                "extensionAttribute1)",
                field="filters",
            )
        out.append((attribute, wanted))
    return tuple(out)


def _suffix(text: str) -> str:
    suffix = text.strip().lstrip("@").casefold()
    if not _DOMAIN.match(suffix):
        raise InvalidInput(
            f"suffix_map: {text!r} is not a UPN suffix (a domain such as contoso.com)",
            field="suffix_map",
        )
    return suffix


def _suffix_map(value: Any) -> tuple[tuple[str, str], ...]:
    mapped: dict[str, str] = {}
    for left, right in _pairs(value, "suffix_map"):
        source = _suffix(left)
        if source in mapped:
            raise InvalidInput(f"suffix_map: {source} is mapped twice", field="suffix_map")
        mapped[source] = _suffix(right)
    return tuple(mapped.items())


def _match(value: Any) -> tuple[MatchRule, ...]:
    if isinstance(value, str):
        value = [v for v in value.split(",") if v.strip()]
    out: list[MatchRule] = []
    for text in _texts(value, "match"):
        wanted = text.strip().lower().replace("-", "_")
        rule = next((r for r in RULES if r == wanted), None)
        if rule is None:
            raise InvalidInput(
                f"match: unknown rule {text!r} (the rules: {', '.join(RULES)})", field="match"
            )
        if rule in out:
            raise InvalidInput(f"match: {rule} is given twice", field="match")
        out.append(rule)
    if not out:
        raise InvalidInput("match: give at least one rule", field="match")
    return tuple(out)


def _upns(value: Any) -> tuple[str, ...]:
    out: list[str] = []
    for text in _texts(value, "allow_admins"):
        name, at, suffix = text.partition("@")
        if not at or not name or not suffix:
            raise InvalidInput(
                f"allow_admins: {text!r} is not a user principal name (such as admin@contoso.com)",
                field="allow_admins",
            )
        if text.casefold() not in out:
            out.append(text.casefold())
    return tuple(out)


_FIELDS: dict[str, Callable[[Any], Any]] = {
    "scope_ous": lambda v: _dns(v, "scope_ous"),
    "scope_groups": lambda v: _dns(v, "scope_groups"),
    "enabled_only": lambda v: _flag(v, "enabled_only"),
    "filters": _filters,
    "suffix_map": _suffix_map,
    "match": _match,
    "never_expires": lambda v: _flag(v, "never_expires"),
    "mirror_disable": lambda v: _flag(v, "mirror_disable"),
    "allow_admins": _upns,
}
FIELDS = tuple(_FIELDS)


def parse_settings(given: Mapping[str, Any], current: RelaySettings | None = None) -> RelaySettings:
    """``current`` with what was given changed (a name not given stays as it is).
    InvalidInput names the field."""
    unknown = sorted(set(given) - set(_FIELDS))
    if unknown:
        raise InvalidInput(
            f"{unknown[0]} is not a relay setting (they are: {', '.join(_FIELDS)})",
            field=unknown[0],
        )
    changes = {name: _FIELDS[name](value) for name, value in given.items()}
    return replace(current or RelaySettings(), **changes)


def load_settings(text: str) -> RelaySettings:
    return parse_settings(json.loads(text))
