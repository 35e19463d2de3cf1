"""Provisioning people to a directory (issue 16, "Provision to Office 365"): a target
directory's settings, the username mapping, and the immutable id convention.

**Settings** (one set per target directory, which belongs to one client):

* ``username_template``: how a person's sign-in name is made (the part before ``@``), a text
  with placeholders in braces over the person's fields (:data:`TEMPLATE_FIELDS`):
  ``{given}.{surname}``, ``{initial}{surname}``, ``{username}`` (the default). Anything outside
  braces is kept. The result is normalised: diacritics folded (``é`` -> ``e``, ``ø`` ->
  ``o``, ``ß`` -> ``ss``), lower-cased, spaces removed, and any character Microsoft does not
  allow before the ``@`` of a user principal name (letters, digits and ``. _ - ' !  # ^ ~``
  remain) dropped; leading, trailing and doubled dots are removed. ``{{`` and ``}}`` are
  literal braces. An unknown field is refused (InvalidInput on ``username_template``, naming
  the field); a person for whom the template gives nothing is refused in the plan.
* ``upn_suffix``: the domain after the ``@`` (``contoso.com``); the plan checks that it is a
  verified domain of the tenant.
* ``licence``: the default licence, a SKU part number (``ENTERPRISEPACK``) or SKU id; empty:
  none. Checked against the tenant's subscriptions at plan.
* ``usage_location``: the country (ISO 3166-1 alpha-2) of people who have none; empty: none.
  Microsoft refuses a licence to a user without a usage location.
* ``passwords``: ``vault`` (the default: a person's password is their primary credential's; a
  person without one is created disabled and enabled once they have one) or ``onboarding``
  (every user is created disabled with a random password; onboarding sets the real one).

Reading them needs ``vault.read``; changing them ``directory.setup`` (they decide what is
written to the customer's directory), audited as ``directory.provisioning``.

**Immutable id** (:func:`immutable_id`): where the suffix is a federated domain, Microsoft
requires ``onPremisesImmutableId`` on a new user; the vault (the domain's identity provider)
gives base64 of the person id's 16 UUID bytes in .NET's ``Guid.ToByteArray()`` order (the
first three fields little-endian, Python's ``uuid.bytes_le``): Entra Connect's convention for
an objectGUID anchor, so the value is stable for the person and the same as an AD tool
computes from a GUID.
"""

from __future__ import annotations

import base64
import datetime as dt
import re
import string
import unicodedata
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal

from typing_extensions import TypedDict

from credsync.errors import Conflict, InvalidInput
from credsync.storage import Database
from credsync.storage import provisioning as rows
from credsync.vault._time import as_utc, utcnow
from credsync.vault.audit import AuditLog
from credsync.vault.auth import Actor, Permission
from credsync.vault.directories import (
    Directory,
    check_settings_version,
    directory_model,
    find_directory_row,
)
from credsync.vault.identities import clean_person_field
from credsync.vault.models import Timestamp, iso

__all__ = [
    "DEFAULT_TEMPLATE",
    "PASSWORD_MODES",
    "SETTINGS_FIELDS",
    "TEMPLATE_FIELDS",
    "PasswordMode",
    "Provisioning",
    "ProvisioningJson",
    "ProvisioningSettings",
    "check_template",
    "immutable_id",
    "map_username",
]

PasswordMode = Literal["vault", "onboarding"]
PASSWORD_MODES: tuple[PasswordMode, ...] = ("vault", "onboarding")
DEFAULT_TEMPLATE = "{username}"
# The template's fields: what each is of the person.
TEMPLATE_FIELDS: dict[str, str] = {
    "given": "the given name",
    "surname": "the surname",
    "initial": "the given name's first letter",
    "display": "the display name",
    "username": "the vault username (before any @)",
    "email": "the e-mail address before the @",
}
SETTINGS_FIELDS = ("username_template", "upn_suffix", "licence", "usage_location", "passwords")
_FOLD = {"ß": "ss", "æ": "ae", "ø": "o", "đ": "d", "ł": "l", "þ": "th", "œ": "oe", "\u0131": "i"}
_NOT_ALLOWED = re.compile(r"[^a-z0-9._\-'!#^~]")
_DOMAIN = re.compile(r"^(?=.{3,255}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


class ProvisioningJson(TypedDict):
    """A target directory's provisioning settings (``credsync person provision settings``)."""

    directory: str
    username_template: str
    upn_suffix: str
    licence: str
    usage_location: str
    passwords: PasswordMode
    version: int
    """0 until the settings are first saved."""
    updated_at: Timestamp | None


@dataclass(frozen=True)
class ProvisioningSettings:
    username_template: str = DEFAULT_TEMPLATE
    upn_suffix: str = ""
    licence: str = ""
    usage_location: str = ""
    passwords: PasswordMode = "vault"
    version: int = 0
    updated_at: dt.datetime | None = None

    def to_json(self, directory: str) -> ProvisioningJson:
        return ProvisioningJson(
            directory=directory,
            username_template=self.username_template,
            upn_suffix=self.upn_suffix,
            licence=self.licence,
            usage_location=self.usage_location,
            passwords=self.passwords,
            version=self.version,
            updated_at=iso(self.updated_at),
        )


# -- the username mapping -------------------------------------------------------------------------
def check_template(given: Any) -> str:
    """The template, checked: InvalidInput on ``username_template`` naming a field it does
    not know (or a brace left open)."""
    if not isinstance(given, str) or not given.strip():
        raise InvalidInput(
            "a username mapping is a text with {fields}, e.g. {given}.{surname}",
            field="username_template",
        )
    text: str = given.strip()
    if len(text) > 200:
        raise InvalidInput(
            "a username mapping is at most 200 characters", field="username_template"
        )
    try:
        parts = list(string.Formatter().parse(text))
    except ValueError as exc:
        raise InvalidInput(f"username mapping {text!r}: {exc}", field="username_template") from exc
    used = [name for _literal, name, _spec, _conv in parts if name is not None]
    for name in used:
        if name not in TEMPLATE_FIELDS:
            known = ", ".join("{" + f + "}" for f in TEMPLATE_FIELDS)
            raise InvalidInput(
                f"username mapping {text!r}: no field {{{name}}} (the fields: {known})",
                field="username_template",
            )
    if any(spec or conv for _literal, _name, spec, conv in parts if _name is not None):
        raise InvalidInput(
            f"username mapping {text!r}: a field is just its name in braces",
            field="username_template",
        )
    if not used:
        raise InvalidInput(
            f"username mapping {text!r} uses no field: every person would get the same name",
            field="username_template",
        )
    return text


def _fold(text: str) -> str:
    lowered = text.lower()
    out = "".join(_FOLD.get(ch, ch) for ch in lowered)
    decomposed = unicodedata.normalize("NFKD", out)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def map_username(template: str, person: Mapping[str, str]) -> str:
    """The sign-in name (before the ``@``) the template gives for ``person`` (its fields:
    given_name, surname, display_name, username, email), normalised as the module says;
    "" when it gives nothing."""
    given = person.get("given_name", "")
    values = {
        "given": given,
        "surname": person.get("surname", ""),
        "initial": given.strip()[:1],
        "display": person.get("display_name", ""),
        "username": person.get("username", "").split("@", 1)[0],
        "email": person.get("email", "").split("@", 1)[0],
    }
    text = _NOT_ALLOWED.sub("", _fold(template.format(**values)).replace(" ", ""))
    text = re.sub(r"\.{2,}", ".", text).strip(".")
    return text[:64]


def immutable_id(person_id: str) -> str:
    """The person's ``onPremisesImmutableId`` (see the module docstring)."""
    return base64.b64encode(uuid.UUID(person_id).bytes_le).decode("ascii")


# -- checking what was given ----------------------------------------------------------------------
def _suffix(value: Any) -> str:
    text = value.strip().lower().lstrip("@") if isinstance(value, str) else None
    if text is None or (text and not _DOMAIN.match(text)):
        raise InvalidInput(
            f"a principal name suffix is a domain name (contoso.com), not {value!r}",
            field="upn_suffix",
        )
    return text


def _licence(value: Any) -> str:
    text = value.strip() if isinstance(value, str) else None
    if text is None or len(text) > 64 or (text and not re.fullmatch(r"[A-Za-z0-9_.\-]+", text)):
        raise InvalidInput(
            f"a licence is a SKU part number (ENTERPRISEPACK) or SKU id, not {value!r}",
            field="licence",
        )
    return text


def parse_settings(given: Mapping[str, Any], current: ProvisioningSettings) -> ProvisioningSettings:
    """``current`` with what ``given`` changes (InvalidInput names the field)."""
    unknown = set(given) - set(SETTINGS_FIELDS)
    if unknown:
        raise InvalidInput(f"no provisioning setting {sorted(unknown)[0]!r}", field="settings")
    after = current
    if "username_template" in given:
        after = replace(after, username_template=check_template(given["username_template"]))
    if "upn_suffix" in given:
        after = replace(after, upn_suffix=_suffix(given["upn_suffix"]))
    if "licence" in given:
        after = replace(after, licence=_licence(given["licence"]))
    if "usage_location" in given:
        after = replace(
            after, usage_location=clean_person_field("usage_location", given["usage_location"])
        )
    if "passwords" in given:
        mode = given["passwords"]
        if mode not in PASSWORD_MODES:
            raise InvalidInput(f"passwords is vault or onboarding, not {mode!r}", field="passwords")
        after = replace(after, passwords=mode)
    return after


def load_settings(row: rows.SettingsRow | None) -> ProvisioningSettings:
    if row is None:
        return ProvisioningSettings()
    mode: PasswordMode = "onboarding" if row.passwords == "onboarding" else "vault"
    return ProvisioningSettings(
        username_template=row.username_template,
        upn_suffix=row.upn_suffix,
        licence=row.licence,
        usage_location=row.usage_location,
        passwords=mode,
        version=row.version,
        updated_at=as_utc(row.updated_at),
    )


class Provisioning:
    """Provisioning settings per target directory (``vault.provisioning``)."""

    def __init__(self, db: Database, audit: AuditLog) -> None:
        self._db = db
        self._audit = audit

    def settings(self, actor: Actor, directory_ref: str) -> tuple[Directory, ProvisioningSettings]:
        actor.require(Permission.VAULT_READ)
        with self._db.read() as conn:
            directory = directory_model(find_directory_row(conn, directory_ref, actor))
            return directory, load_settings(rows.settings_of(conn, directory.id))

    def update(
        self,
        actor: Actor,
        directory_ref: str,
        given: Mapping[str, Any],
        *,
        expected_version: int | None = None,
    ) -> tuple[Directory, ProvisioningSettings]:
        """Change what is given (see the module docstring); needs directory.setup."""
        actor.require(Permission.VAULT_READ, Permission.DIRECTORY_SETUP)
        if not given:
            raise InvalidInput("nothing to change", field="settings")
        with self._db.write() as conn:
            directory = directory_model(find_directory_row(conn, directory_ref, actor))
            current = load_settings(rows.settings_of(conn, directory.id))
            check_settings_version(
                "provisioning settings", directory.name, current.version, expected_version
            )
            after = parse_settings(given, current)
            now = utcnow()
            row = rows.SettingsRow(
                directory.id, after.username_template, after.upn_suffix, after.licence,
                after.usage_location, after.passwords, current.version + 1, now, actor.name,
            )  # fmt: skip
            if not rows.save_settings(conn, row):
                raise Conflict(f"the provisioning settings of {directory.name!r} just changed")
            saved = replace(after, version=row.version, updated_at=now)
            details: dict[str, Any] = dict(saved.to_json(directory.name))
            details.pop("updated_at")
            self._audit.append(
                conn,
                actor,
                "directory.provisioning",
                target_type="directory",
                target_id=directory.id,
                client_id=directory.client_id,
                details=details,
            )
            return directory, saved
