"""What people and groups share: the checks of their fields (each failure names the field),
the directory-sourced attributes (read-only while their directory is the source of truth),
the scope of an operator's reach, and the shape of a record's source and directory links.

Field rules (the choices where issue 16 is silent are in docs/people-and-groups.md):

- names: one line, no control characters, at most Microsoft Graph's length (given name,
  surname, department 64; job title 128; display name and group name 256); a display name
  left out is made from the given name and surname (else the username);
- username: 1 to 320 characters without spaces, unique per client regardless of case (a
  person in the trash keeps theirs);
- e-mail: empty, or ``local@domain`` with a dot in the domain, no spaces, at most 320;
- usage location: empty, or an ISO 3166-1 alpha-2 country code (``SE``), as Graph's
  ``usageLocation`` (stored upper-case);
- group type: ``security`` or ``microsoft365``; description at most 1,024 characters.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from typing_extensions import TypedDict

from credsync.checks import clean_name, clean_text
from credsync.errors import InvalidInput
from credsync.vault.auth import Actor

__all__ = [
    "COUNTRIES",
    "GROUP_ATTRIBUTES",
    "GROUP_TYPES",
    "PERSON_ATTRIBUTES",
    "LinkJson",
    "Source",
    "SourceJson",
    "clean_email",
    "clean_group_field",
    "clean_person_field",
    "clean_username",
    "join_sourced",
    "reach",
    "read_only",
    "split_sourced",
]

# ISO 3166-1 alpha-2: the officially assigned codes (249).
_CODES = (
    "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ "
    "BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO "
    "DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU "
    "GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW "
    "KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU "
    "MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW "
    "PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF "
    "TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA "
    "ZM ZW "
)
COUNTRIES = frozenset(_CODES.split())
GROUP_TYPES = ("security", "microsoft365")
# The attributes a directory can be the source of truth of (the primary credential is the
# vault's own).
PERSON_ATTRIBUTES = (
    "given_name",
    "surname",
    "display_name",
    "username",
    "email",
    "usage_location",
    "department",
    "job_title",
    "enabled",
)
GROUP_ATTRIBUTES = ("name", "type", "email", "description")

# field -> (what the error says, longest)
_PERSON_TEXT = {
    "given_name": ("a given name", 64),
    "surname": ("a surname", 64),
    "display_name": ("a display name", 256),
    "department": ("a department", 64),
    "job_title": ("a job title", 128),
}
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s.]+(\.[^@\s.]+)+$")


def clean_username(value: object) -> str:
    if not isinstance(value, str):
        raise InvalidInput("a username is text", field="username")
    text = clean_name(value, "a username", 320, field="username")
    if any(c.isspace() for c in text):
        raise InvalidInput(f"a username has no spaces, not {text!r}", field="username")
    return text


def clean_email(value: object, field: str = "email") -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidInput("an e-mail address is text", field=field)
    text = clean_text(value, "an e-mail address", 320, field=field)
    if text and not _EMAIL.match(text):
        raise InvalidInput(f"{text!r} is not an e-mail address (name@domain.example)", field=field)
    return text


def _clean_country(value: object) -> str:
    if value is None:
        return ""
    text = value.strip().upper() if isinstance(value, str) else None
    if text is None or (text and text not in COUNTRIES):
        raise InvalidInput(
            f"a usage location is an ISO 3166-1 alpha-2 country code (SE, US...), not {value!r}",
            field="usage_location",
        )
    return text


def clean_person_field(field: str, value: Any) -> Any:
    """One person field, checked (InvalidInput naming it)."""
    if field == "username":
        return clean_username(value)
    if field == "email":
        return clean_email(value)
    if field == "usage_location":
        return _clean_country(value)
    if field == "enabled":
        if not isinstance(value, bool):
            raise InvalidInput("enabled is true or false", field="enabled")
        return value
    if field in _PERSON_TEXT:
        what, longest = _PERSON_TEXT[field]
        if value is not None and not isinstance(value, str):
            raise InvalidInput(f"{what} is text", field=field)
        return clean_text(value, what, longest, field=field)
    raise InvalidInput(f"a person has no field {field!r}", field=field)


def clean_group_field(field: str, value: Any) -> Any:
    """One group field, checked (InvalidInput naming it)."""
    if field == "name":
        if not isinstance(value, str):
            raise InvalidInput("a group name is text", field="name")
        return clean_name(value, "a group name", 256, field="name")
    if field == "type":
        if value not in GROUP_TYPES:
            raise InvalidInput(
                f"a group type is security or microsoft365, not {value!r}", field="type"
            )
        return value
    if field == "email":
        return clean_email(value)
    if field == "description":
        if value is not None and not isinstance(value, str):
            raise InvalidInput("a description is text", field="description")
        return clean_text(value, "a description", 1024, field="description")
    raise InvalidInput(f"a group has no field {field!r}", field=field)


def split_sourced(stored: str) -> frozenset[str]:
    return frozenset(a for a in stored.split(",") if a)


def join_sourced(attributes: Collection[str], order: tuple[str, ...]) -> str:
    return ",".join(a for a in order if a in attributes)


def read_only(
    what: str,
    changes: Mapping[str, Any],
    current: Mapping[str, Any],
    sourced: frozenset[str],
    directory: str | None,
) -> None:
    """Refuse a change to an attribute whose source of truth is ``directory`` (InvalidInput
    naming the attribute and the directory); giving its current value again is no change."""
    for field, value in changes.items():
        if field in sourced and value != current[field]:
            raise InvalidInput(
                f"{what}'s {field} comes from directory {directory!r}, its source of truth: "
                "it is read-only in the vault",
                field=field,
            )


def reach(actor: Actor, client_id: str | None = None) -> list[str] | None:
    """The clients a lookup may find a record in: ``client_id`` when given, else every client
    the actor reaches (None: all)."""
    if client_id is not None:
        return [client_id]
    return None if actor.clients is None else sorted(actor.clients)


class SourceJson(TypedDict):
    """The directory that is the source of truth of some of a record's attributes."""

    directory: str
    directory_id: str
    attributes: list[str]
    """Read-only in the vault while that directory is the source of truth."""


class LinkJson(TypedDict):
    """A person's account (or a group's object) in one of the client's directories."""

    directory: str
    directory_id: str
    object_id: str
    """Its stable id there (kept across renames)."""
    linked_at: str
    linked_by: str


@dataclass(frozen=True)
class Source:
    directory: str
    directory_id: str
    attributes: tuple[str, ...]

    def to_json(self) -> SourceJson:
        return SourceJson(
            directory=self.directory,
            directory_id=self.directory_id,
            attributes=list(self.attributes),
        )
