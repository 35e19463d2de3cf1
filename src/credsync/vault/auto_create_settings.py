"""Auto-create's settings per directory: what they hold, how what a user gave is checked
(:func:`parse_settings`: InvalidInput names the field), and how they are stored (JSON text,
:mod:`credsync.storage.auto_create`). What they mean: :mod:`credsync.vault.auto_create`."""

from __future__ import annotations

import datetime as dt
import json
import re
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from typing_extensions import TypedDict

from credsync.connectors.base import AccountScope
from credsync.errors import InvalidInput
from credsync.storage import auto_create as rows
from credsync.types import SyncMode
from credsync.vault._time import as_utc
from credsync.vault.folders import clean_path
from credsync.vault.models import Timestamp, iso
from credsync.vault.validate import clean_tags, parse_sync_mode

__all__ = [
    "DEFAULT_TITLE",
    "EXCLUDED_NAMES",
    "FIELDS",
    "PLACEHOLDERS",
    "AutoCreateJson",
    "AutoCreateSettings",
    "Trigger",
    "check_title",
    "load_settings",
    "parse_settings",
]

Trigger = Literal["capture", "first_seen"]
TRIGGERS: tuple[Trigger, ...] = ("capture", "first_seen")
DEFAULT_TITLE = "{displayName} ({sAMAccountName})"
# What a title template may use, and where each comes from.
PLACEHOLDERS: dict[str, str] = {
    "displayName": "the account's display name (its name when it has none)",
    "sAMAccountName": "the account's name (sAMAccountName; the username elsewhere)",
    "username": "the account's name (the same as sAMAccountName)",
    "userPrincipalName": "the account's UPN (empty when it has none)",
    "domain": "the account's domain (empty when unknown)",
}
# Never made into credentials, whatever the scope (AD's built-in accounts; machine accounts).
EXCLUDED_NAMES = frozenset({"krbtgt", "guest", "defaultaccount"})
MAX_PER_RUN_DEFAULT = 50
MAX_PER_RUN_HIGH = 10_000
MAX_DNS = 50


class AutoCreateJson(TypedDict):
    """A directory's auto-create settings (``credsync directory auto-create NAME --json``)."""

    directory: str
    enabled: bool
    ous: list[str]
    groups: list[str]
    include_disabled: bool
    name_filter: str | None
    folder: str | None
    title: str
    tags: list[str]
    sync_mode: str | None
    """The new credentials' mode once they hold a password (null: the client's default)."""
    trigger: Trigger
    max_per_run: int
    version: int
    """0 until the settings are first saved."""
    updated_at: Timestamp | None


@dataclass(frozen=True)
class AutoCreateSettings:
    enabled: bool = False
    ous: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    include_disabled: bool = False
    name_filter: str | None = None
    folder: str | None = None
    title: str = DEFAULT_TITLE
    tags: tuple[str, ...] = ()
    sync_mode: SyncMode | None = None
    trigger: Trigger = "capture"
    max_per_run: int = MAX_PER_RUN_DEFAULT
    version: int = 0
    updated_at: dt.datetime | None = field(default=None, compare=False)

    @property
    def scope(self) -> AccountScope:
        """What the directory itself selects (the connector's part)."""
        return AccountScope(self.ous, self.groups, self.include_disabled)

    def stored(self) -> str:
        """The JSON text kept in ``auto_create_settings``."""
        data = self.to_json("")
        for name in ("directory", "version", "updated_at"):
            data.pop(name)  # type: ignore[misc]
        return json.dumps(data, sort_keys=True)

    def to_json(self, directory: str) -> AutoCreateJson:
        return AutoCreateJson(
            directory=directory,
            enabled=self.enabled,
            ous=list(self.ous),
            groups=list(self.groups),
            include_disabled=self.include_disabled,
            name_filter=self.name_filter,
            folder=self.folder,
            title=self.title,
            tags=list(self.tags),
            sync_mode=self.sync_mode.value if self.sync_mode else None,
            trigger=self.trigger,
            max_per_run=self.max_per_run,
            version=self.version,
            updated_at=iso(self.updated_at),
        )


# -- checking what was given ---------------------------------------------------------------------
def _flag(value: Any, name: str) -> bool:
    if isinstance(value, bool):
        return value
    raise InvalidInput(f"{name} must be true or false, not {value!r}", field=name)


def _dns(value: Any, name: str) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, list | tuple):
        raise InvalidInput(f"{name} must be a list of distinguished names", field=name)
    out: list[str] = []
    for raw in value:
        text = raw.strip() if isinstance(raw, str) else ""
        if "=" not in text or len(text) > 2048 or any(c in text for c in "\0\r\n"):
            raise InvalidInput(
                f"{name}: {raw!r} is not a distinguished name (such as OU=Staff,DC=contoso,DC=com)",
                field=name,
            )
        if text.casefold() not in (o.casefold() for o in out):
            out.append(text)
    if len(out) > MAX_DNS:
        raise InvalidInput(f"{name}: at most {MAX_DNS}", field=name)
    return tuple(out)


def _text(value: Any, name: str, limit: int) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > limit or any(c in value for c in "\0\r\n"):
        raise InvalidInput(f"{name} must be text of at most {limit} characters", field=name)
    return value.strip() or None


def check_title(template: str) -> str:
    """The title template, its placeholders known and its braces balanced."""
    text = _text(template, "title", 255)
    if text is None:
        raise InvalidInput("title must not be empty", field="title")
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError as exc:
        raise InvalidInput(
            f"title {text!r} is not a template: {exc} (write {{{{ and }}}} for braces)",
            field="title",
        ) from None
    for _, name, spec, conversion in parsed:
        if name is None:
            continue
        if name not in PLACEHOLDERS or spec or conversion:
            known = ", ".join("{" + p + "}" for p in PLACEHOLDERS)
            raise InvalidInput(
                f"title: unknown placeholder {{{name}}} (known: {known})", field="title"
            )
    return text


def _name_filter(value: Any) -> str | None:
    text = _text(value, "name_filter", 255)
    if text is not None and re.search(r"\[[^\]]*$", text):
        raise InvalidInput(f"name_filter {text!r} has an unclosed [", field="name_filter")
    return text


def _max_per_run(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput("max_per_run must be a whole number", field="max_per_run")
    if not 1 <= value <= MAX_PER_RUN_HIGH:
        raise InvalidInput(
            f"max_per_run must be between 1 and {MAX_PER_RUN_HIGH}, not {value}",
            field="max_per_run",
        )
    return value


def _trigger(value: Any) -> Trigger:
    for trigger in TRIGGERS:
        if value == trigger:
            return trigger
    raise InvalidInput(
        f"trigger must be one of {', '.join(TRIGGERS)}, not {value!r}", field="trigger"
    )


def _sync_mode(value: Any) -> SyncMode | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidInput("sync_mode must be text", field="sync_mode")
    mode = parse_sync_mode(value.replace("-", "_"), allow_inherit=True)
    if mode is SyncMode.OFF:
        raise InvalidInput(
            "sync_mode of auto-created credentials can't be off (they would never be checked)",
            field="sync_mode",
        )
    return mode


_FIELDS: dict[str, Callable[[Any], Any]] = {
    "enabled": lambda v: _flag(v, "enabled"),
    "ous": lambda v: _dns(v, "ous"),
    "groups": lambda v: _dns(v, "groups"),
    "include_disabled": lambda v: _flag(v, "include_disabled"),
    "name_filter": _name_filter,
    "folder": lambda v: clean_path(v) if _text(v, "folder", 500) else None,
    "title": check_title,
    "tags": lambda v: clean_tags(v if isinstance(v, list | tuple) else [v]),
    "sync_mode": _sync_mode,
    "trigger": _trigger,
    "max_per_run": _max_per_run,
}
FIELDS = tuple(_FIELDS)


def parse_settings(
    given: Mapping[str, Any], current: AutoCreateSettings | None = None
) -> AutoCreateSettings:
    """``current`` with what was given changed (a name not given stays as it is; ``None``
    for name_filter, folder or sync_mode clears it). InvalidInput names the field."""
    unknown = sorted(set(given) - set(_FIELDS))
    if unknown:
        raise InvalidInput(
            f"{unknown[0]} is not an auto-create setting (they are: {', '.join(_FIELDS)})",
            field=unknown[0],
        )
    changes: dict[str, Any] = {name: _FIELDS[name](value) for name, value in given.items()}
    return replace(current or AutoCreateSettings(), **changes)


def load_settings(row: rows.SettingsRow | None) -> AutoCreateSettings:
    if row is None:
        return AutoCreateSettings()
    data = json.loads(row.settings)
    settings = parse_settings(data)
    return replace(settings, version=row.version, updated_at=as_utc(row.updated_at))
