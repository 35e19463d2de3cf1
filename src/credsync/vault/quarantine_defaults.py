"""The vault-wide quarantine thresholds (issue 18): ``push_cap``, ``push_cap_percent``,
``change_cap``, ``change_cap_percent``, ``inbound_cap`` and ``inbound_cap_percent`` for every
directory that sets none of its own.

A threshold's value for a directory comes from, first found: the directory's own option
(``credsync directory set --option``), the vault-wide value set here, the built-in default
(:data:`credsync.vault.directory_input.COMMON_OPTIONS`). See :mod:`credsync.sync.quarantine`
for what the thresholds hold.

Showing them needs ``vault.read`` (every directory's page shows its effective thresholds
anyway); setting them needs ``admin``, as the vault's other settings (the mail server), and
is audited ``quarantine.defaults_set`` with the values given. The bounds are the options':
whole numbers, ``push_cap`` and ``change_cap`` at least 1, the percentages 0 to 100; a
refused value raises InvalidInput naming its field.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy.engine import Connection
from typing_extensions import TypedDict

from credsync.errors import InvalidInput
from credsync.storage import Database
from credsync.storage import quarantine_defaults as rows
from credsync.vault._time import as_utc, utcnow
from credsync.vault.audit import AuditLog
from credsync.vault.auth import Actor, Permission
from credsync.vault.directory_input import COMMON_OPTIONS
from credsync.vault.models import iso

__all__ = [
    "BUILT_IN",
    "THRESHOLDS",
    "QuarantineDefaults",
    "QuarantineDefaultsJson",
    "ThresholdJson",
    "vault_defaults",
]

THRESHOLDS = (
    "push_cap",
    "push_cap_percent",
    "change_cap",
    "change_cap_percent",
    "inbound_cap",
    "inbound_cap_percent",
)
_SPECS = {o.name: o for o in COMMON_OPTIONS if o.name in THRESHOLDS}
BUILT_IN = {name: _SPECS[name].default for name in THRESHOLDS}


class ThresholdJson(TypedDict):
    """One threshold: ``vault`` (the vault-wide value, None: not set), ``built_in``, and
    ``value``: what a directory without its own option uses."""

    value: int
    vault: int | None
    built_in: int
    updated_at: str | None
    updated_by: str | None


class QuarantineDefaultsJson(TypedDict):
    push_cap: ThresholdJson
    push_cap_percent: ThresholdJson
    change_cap: ThresholdJson
    change_cap_percent: ThresholdJson
    inbound_cap: ThresholdJson
    inbound_cap_percent: ThresholdJson


def vault_defaults(conn: Connection) -> dict[str, int]:
    """The thresholds set vault-wide (a threshold not set is absent)."""
    return {name: row.value for name, row in rows.get(conn).items() if name in THRESHOLDS}


def _clean(values: Mapping[str, object]) -> dict[str, int | None]:
    out: dict[str, int | None] = {}
    for name, value in values.items():
        if name not in THRESHOLDS:
            raise InvalidInput(
                f"{name!r} is not a quarantine threshold (one of {', '.join(THRESHOLDS)})",
                field=name,
            )
        if value is None:
            out[name] = None
            continue
        spec = _SPECS[name]
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidInput(f"{name} must be a whole number, not {value!r}", field=name)
        if not spec.low <= value <= spec.high:
            raise InvalidInput(f"{name} must be {spec.low} to {spec.high}, not {value}", field=name)
        out[name] = value
    if not out:
        raise InvalidInput(
            f"nothing to set: give at least one of {', '.join(THRESHOLDS)}", field=THRESHOLDS[0]
        )
    return out


class QuarantineDefaults:
    def __init__(self, db: Database, audit: AuditLog) -> None:
        self._db = db
        self._audit = audit

    def show(self, actor: Actor) -> QuarantineDefaultsJson:
        actor.require(Permission.VAULT_READ)
        with self._db.read() as conn:
            found = rows.get(conn)
        return _json(found)

    def set(self, actor: Actor, values: Mapping[str, object]) -> QuarantineDefaultsJson:
        """Set the thresholds given (None: back to the built-in); the others stay."""
        actor.require(Permission.ADMIN)
        clean = _clean(values)
        with self._db.write() as conn:
            rows.put(conn, clean, at=utcnow(), by=actor.name)
            self._audit.append(
                conn,
                actor,
                "quarantine.defaults_set",
                target_type="vault",
                target_id="quarantine_defaults",
                details=dict(clean),
            )
            found = rows.get(conn)
        return _json(found)


def _json(found: Mapping[str, rows.DefaultRow]) -> QuarantineDefaultsJson:
    def one(name: str) -> ThresholdJson:
        row = found.get(name)
        return ThresholdJson(
            value=row.value if row is not None else BUILT_IN[name],
            vault=row.value if row is not None else None,
            built_in=BUILT_IN[name],
            updated_at=iso(as_utc(row.updated_at)) if row is not None else None,
            updated_by=row.updated_by if row is not None else None,
        )

    return QuarantineDefaultsJson(
        push_cap=one("push_cap"),
        push_cap_percent=one("push_cap_percent"),
        change_cap=one("change_cap"),
        change_cap_percent=one("change_cap_percent"),
        inbound_cap=one("inbound_cap"),
        inbound_cap_percent=one("inbound_cap_percent"),
    )
