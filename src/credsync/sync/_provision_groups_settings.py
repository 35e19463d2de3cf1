"""A directory's group export settings (``group_export_settings``): what they are, their
defaults, how a change is checked, stored and audited.

* ``matching``: ``type_and_email`` (the default: a directory group of the same name matches
  only when its type and e-mail are the vault group's too) or ``name`` (the same name is
  enough, whatever its type and e-mail);
* ``create_missing`` (default on): when none matches, create one; off: create one only when
  the directory has no group of that name at all;
* ``remove_duplicates`` (default off): list the other directory groups with the same name
  that no vault group owns, for removal after a confirmation;
* ``membership_source``: ``vault`` (the default: the directory's members are made the vault
  group's) or ``directory`` (the vault group's members are made the directory's).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from typing_extensions import TypedDict

from credsync.errors import Conflict, InvalidInput
from credsync.storage import Database
from credsync.storage import group_export as rows
from credsync.sync._provision_groups_plan import Rules
from credsync.vault._time import as_utc, iso, utcnow
from credsync.vault.audit import AuditLog
from credsync.vault.auth import Actor

__all__ = ["FIELDS", "ExportSettings", "GroupExportSettingsJson", "load", "save"]

MATCHING = ("type_and_email", "name")
SOURCES = ("vault", "directory")
FIELDS = ("matching", "create_missing", "remove_duplicates", "membership_source")


class GroupExportSettingsJson(TypedDict):
    directory: str
    matching: str
    create_missing: bool
    remove_duplicates: bool
    membership_source: str
    version: int
    updated_at: str | None
    updated_by: str | None


@dataclass(frozen=True)
class ExportSettings:
    directory: str
    rules: Rules
    version: int = 0  # 0: never saved (the defaults)
    updated_at: str | None = None
    updated_by: str | None = None

    def to_json(self) -> GroupExportSettingsJson:
        return GroupExportSettingsJson(
            directory=self.directory,
            matching=self.rules.matching,
            create_missing=self.rules.create_missing,
            remove_duplicates=self.rules.remove_duplicates,
            membership_source=self.rules.membership_source,
            version=self.version,
            updated_at=self.updated_at,
            updated_by=self.updated_by,
        )


DEFAULT = Rules(
    matching="type_and_email",
    create_missing=True,
    remove_duplicates=False,
    membership_source="vault",
)


def _rules(row: rows.SettingsRow | None) -> Rules:
    if row is None:
        return DEFAULT
    return Rules(
        matching="name" if row.matching == "name" else "type_and_email",
        create_missing=row.create_missing,
        remove_duplicates=row.remove_duplicates,
        membership_source="directory" if row.membership_source == "directory" else "vault",
    )


def load(conn: Any, directory_id: str, directory_name: str) -> ExportSettings:
    row = rows.settings_of(conn, directory_id)
    if row is None:
        return ExportSettings(directory_name, DEFAULT)
    return ExportSettings(
        directory_name, _rules(row), row.version, iso(as_utc(row.updated_at)), row.updated_by
    )


def _flag(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "on", "yes", "1"):
        return True
    if isinstance(value, str) and value.strip().lower() in ("false", "off", "no", "0"):
        return False
    raise InvalidInput(f"{name} is on or off, not {value!r}", field=name)


def _changed(current: Rules, changes: Mapping[str, Any]) -> Rules:
    values: dict[str, Any] = {
        "matching": current.matching,
        "create_missing": current.create_missing,
        "remove_duplicates": current.remove_duplicates,
        "membership_source": current.membership_source,
    }
    for name, value in changes.items():
        if value is None:
            continue
        if name not in FIELDS:
            raise InvalidInput(
                f"{name!r} is not a group export setting ({', '.join(FIELDS)})", field=name
            )
        if name == "matching":
            if value not in MATCHING:
                raise InvalidInput(
                    f"matching is one of {', '.join(MATCHING)}, not {value!r}", field=name
                )
        elif name == "membership_source":
            if value not in SOURCES:
                raise InvalidInput(
                    f"the membership's source of truth is one of {', '.join(SOURCES)}, "
                    f"not {value!r}",
                    field=name,
                )
        else:
            value = _flag(name, value)
        values[name] = value
    return Rules(**values)


def save(
    db: Database,
    audit: AuditLog,
    actor: Actor,
    client_id: str,
    directory_id: str,
    directory_name: str,
    changes: Mapping[str, Any],
) -> ExportSettings:
    """Store the changed settings (a new version; audited ``directory.group_export``);
    nothing changed writes nothing."""
    with db.write() as conn:
        current = load(conn, directory_id, directory_name)
        wanted = _changed(current.rules, changes)
        if wanted == current.rules and current.version:
            return current
        row = rows.SettingsRow(
            directory_id, client_id, wanted.matching, wanted.create_missing,
            wanted.remove_duplicates, wanted.membership_source, current.version + 1,
            utcnow(), actor.name,
        )  # fmt: skip
        if not rows.save(conn, row):
            raise Conflict("the group export settings were changed meanwhile: try again")
        details = {name: getattr(wanted, name) for name in FIELDS}
        audit.append(
            conn,
            actor,
            "directory.group_export",
            target_type="directory",
            target_id=directory_id,
            client_id=client_id,
            details={"directory": directory_name, **details},
        )
        return load(conn, directory_id, directory_name)
