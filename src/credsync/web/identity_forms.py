"""What the dashboard's people and group pages share (:mod:`credsync.web.routes.persons`,
:mod:`credsync.web.routes.groups`): their forms (the values typed, kept when the vault
refuses one, its refusal on the field it names), the changes an edit form asks for, and a
client's list page read a page at a time or searched.

A directory-sourced attribute is a read-only input on the edit form; it comes back as it
was, which is no change. One changed anyway (a tampered post) is refused by the vault
(:func:`credsync.vault.identities.read_only`), and that refusal is shown on its field.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Generic, TypeVar

from credsync.errors import InvalidInput
from credsync.vault.auth import Actor
from credsync.vault.identity_service import IdentityService
from credsync.web.forms import Form

M = TypeVar("M")

__all__ = [
    "GROUP_FIELDS",
    "MAX_QUERY_CHARS",
    "PAGE_SIZE",
    "PERSON_FIELDS",
    "GroupForm",
    "Listing",
    "PersonForm",
    "changes_of",
    "check_query",
    "list_client",
    "refusal",
]

PAGE_SIZE = 50  # people or groups per page of a client, as its credentials
MAX_QUERY_CHARS = 512  # as the API's ``q``

# field -> label, in the form's order (a person's primary login credential is the vault's
# own, never a directory's).
PERSON_FIELDS = MappingProxyType(
    {
        "username": "Username",
        "given_name": "Given name",
        "surname": "Surname",
        "display_name": "Display name",
        "email": "E-mail",
        "usage_location": "Usage location",
        "department": "Department",
        "job_title": "Job title",
    }
)
GROUP_FIELDS = MappingProxyType(
    {"name": "Name", "type": "Type", "email": "E-mail", "description": "Description"}
)


class PersonForm(Form):
    """A person's fields as typed (and ``credential``: the primary login credential's id)."""

    default_field = ""
    # A refusal about the person as a whole (in the trash meanwhile) is the form's.
    field_names = MappingProxyType({"person": ""})

    @classmethod
    def read(cls, fields: dict[str, str]) -> PersonForm:
        values = {name: fields.get(name, "").strip() for name in PERSON_FIELDS}
        values["usage_location"] = values["usage_location"].upper()  # as the vault keeps it
        values["credential"] = fields.get("credential", "").strip()
        values["version"] = fields.get("version", "").strip()
        return cls(values)

    def given(self) -> dict[str, Any]:
        """The fields for ``vault.people.add`` (the empty ones left out)."""
        out: dict[str, Any] = {n: self.values[n] for n in PERSON_FIELDS if self.values[n]}
        if self.values["credential"]:
            out["credential"] = self.values["credential"]
        return out


class GroupForm(Form):
    """A group's fields as typed."""

    default_field = ""
    field_names = MappingProxyType({"group": ""})

    @classmethod
    def read(cls, fields: dict[str, str]) -> GroupForm:
        values = {name: fields.get(name, "").strip() for name in GROUP_FIELDS}
        values["description"] = fields.get("description", "").replace("\r\n", "\n").strip()
        values["version"] = fields.get("version", "").strip()
        return cls(values)

    def given(self) -> dict[str, Any]:
        """The fields for ``vault.groups.add`` (the empty ones left out; a group needs a
        name, which the vault says)."""
        out: dict[str, Any] = {n: self.values[n] for n in GROUP_FIELDS if self.values[n]}
        out.setdefault("name", "")
        return out


def changes_of(form: Form, current: dict[str, Any], names: Sequence[str]) -> dict[str, Any]:
    """The fields of ``names`` whose value typed differs from ``current`` (None as "")."""
    return {
        name: form.values[name]
        for name in names
        if form.values[name] != ("" if current[name] is None else str(current[name]))
    }


def check_query(q: str | None) -> tuple[str, str]:
    """The search words asked (stripped) and what is wrong with them ("" when nothing)."""
    text = (q or "").strip()
    if len(text) > MAX_QUERY_CHARS:
        return "", f"The search is too long (at most {MAX_QUERY_CHARS} characters)."
    return text, ""


def refusal(exc: InvalidInput) -> str:
    """A refusal's message as a sentence."""
    message = str(exc)
    return message[:1].upper() + message[1:]


@dataclass(frozen=True)
class Listing(Generic[M]):
    """What a client's people or groups page shows: a page of the list, what the search
    found (at most a page, ``more`` when there are others), or the trash."""

    items: list[M]
    more: bool
    next_cursor: str | None
    paged: bool
    trash: bool
    q: str
    searched: bool
    error: str

    @property
    def status(self) -> int:
        return 400 if self.error else 200

    def context(self, name: str) -> dict[str, Any]:
        """The page's values, the records as ``name``."""
        return {
            name: self.items,
            "more": self.more,
            "next_cursor": self.next_cursor,
            "paged": self.paged,
            "trash": self.trash,
            "q": self.q,
            "searched": self.searched,
            "error": self.error,
        }


def list_client(
    service: IdentityService[Any, M],
    actor: Actor,
    client_id: str,
    *,
    q: str | None,
    after: str | None,
    trash: bool,
) -> Listing[M]:
    """A page of a client's records (``service``: the vault's people or groups) from
    ``after`` on; with ``q``, those the search finds; with ``trash``, those in the trash."""
    text, error = check_query(q)
    searched = bool(text) and not trash and not error
    found: list[M] = []
    next_cursor = None
    if searched:
        try:
            found = service.search(actor, text, client_ref=client_id, limit=PAGE_SIZE + 1)
        except InvalidInput as exc:
            error, searched = refusal(exc), False
    elif not error:
        found, next_cursor = service.list(
            actor, client_id, trash=trash, limit=PAGE_SIZE, cursor=after
        )
    return Listing(
        items=found[:PAGE_SIZE],
        more=searched and len(found) > PAGE_SIZE,
        next_cursor=next_cursor,
        paged=after is not None,
        trash=trash,
        q=text if not trash else "",
        searched=searched,
        error=error,
    )
