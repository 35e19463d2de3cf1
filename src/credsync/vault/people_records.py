"""The records of people (:mod:`credsync.vault.people`): a person's JSON shape, the model
built from rows (with the client's and directories' names), and finding one by reference."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.engine import Connection
from typing_extensions import TypedDict

from credsync.errors import InvalidInput
from credsync.storage import onboarding as onboarding_rows
from credsync.storage import people as rows
from credsync.vault._time import Timestamp, as_utc, as_utc_opt, iso
from credsync.vault.auth import Actor
from credsync.vault.identities import (
    PERSON_ATTRIBUTES,
    LinkJson,
    Source,
    SourceJson,
    reach,
)
from credsync.vault.identity_names import Names
from credsync.vault.identity_records import MIN_ID_PREFIX, find_by_id, links_of, source_of
from credsync.vault.validate import name_key

__all__ = [
    "MIN_ID_PREFIX",
    "OnboardingJson",
    "Person",
    "PersonJson",
    "PersonPage",
    "find_person_row",
    "person_models",
]


class OnboardingJson(TypedDict):
    """A person imported into a group with a provisioning policy: ``awaiting`` onboarding (no
    password yet: their primary credential holds a placeholder), to be sent an ``invite``,
    the ``sync_mode`` their credential is to take with its first password, its ``folder``."""

    awaiting: bool
    invite: bool
    sync_mode: str
    folder: str
    group_id: str | None
    """The group the import put them in."""
    since: Timestamp
    by: str


class PersonJson(TypedDict):
    """A person (``credsync person show REF --json``, ``GET /api/v1/people/{ref}``)."""

    id: str
    client: str
    client_id: str
    given_name: str
    surname: str
    display_name: str
    username: str
    email: str
    usage_location: str
    department: str
    job_title: str
    enabled: bool
    credential_id: str | None
    """The primary login credential (the person's password), if any."""
    source: SourceJson | None
    """The directory that is the source of truth of some attributes (read-only here)."""
    accounts: list[LinkJson]
    onboarding: OnboardingJson | None
    """Set when the person was imported into a group with a provisioning policy."""
    version: int
    created_at: Timestamp
    created_by: str
    updated_at: Timestamp
    updated_by: str
    deleted_at: Timestamp | None
    deleted_by: str | None


class PersonPage(TypedDict):
    items: list[PersonJson]
    next_cursor: str | None


@dataclass(frozen=True)
class Person:
    row: rows.PersonRow
    client: str
    source: Source | None
    accounts: tuple[LinkJson, ...]
    onboarding: OnboardingJson | None = None

    @property
    def id(self) -> str:
        return self.row.id

    def to_json(self) -> PersonJson:
        r = self.row
        return PersonJson(
            id=r.id,
            client=self.client,
            client_id=r.client_id,
            given_name=r.given_name,
            surname=r.surname,
            display_name=r.display_name,
            username=r.username,
            email=r.email,
            usage_location=r.usage_location,
            department=r.department,
            job_title=r.job_title,
            enabled=bool(r.enabled),
            credential_id=r.credential_id,
            source=self.source.to_json() if self.source else None,
            accounts=list(self.accounts),
            onboarding=self.onboarding,
            version=r.version,
            created_at=iso(as_utc(r.created_at)),
            created_by=r.created_by,
            updated_at=iso(as_utc(r.updated_at)),
            updated_by=r.updated_by,
            deleted_at=iso(as_utc_opt(r.deleted_at)),
            deleted_by=r.deleted_by,
        )


def person_models(conn: Connection, found: Sequence[rows.PersonRow]) -> list[Person]:
    names = Names(conn)
    accounts = rows.accounts_of(conn, [r.id for r in found])
    onboarding = onboarding_rows.of_people(conn, [r.id for r in found])
    made = []
    for r in found:
        source = source_of(names, r.source_directory_id, r.sourced, PERSON_ATTRIBUTES)
        links = links_of(names, accounts[r.id])
        held = onboarding.get(r.id)
        shown = None
        if held is not None:
            shown = OnboardingJson(
                awaiting=bool(held.awaiting),
                invite=bool(held.invite),
                sync_mode=held.sync_mode,
                folder=held.folder,
                group_id=held.group_id,
                since=iso(as_utc(held.created_at)),
                by=held.created_by,
            )
        made.append(Person(r, names.client(r.client_id), source, links, shown))
    return made


def find_person_row(
    conn: Connection, actor: Actor, ref: str, *, client_id: str | None = None
) -> rows.PersonRow:
    """A person by username (any case) or id (or a prefix of at least 6 characters), in the
    trash or not, among the clients ``actor`` reaches (only ``client_id``'s when given)."""
    ref = ref.strip()
    scope = reach(actor, client_id)
    named = [r for r in rows.by_username(conn, name_key(ref), scope) if actor.sees(r.client_id)]
    if len(named) == 1:
        return named[0]
    if len(named) > 1:
        raise InvalidInput(
            f"several clients have a person with username {ref!r}: name the client or give "
            "the person's id",
            field="person",
        )
    return find_by_id(rows.find_by_ref, conn, actor, ref, scope, "person")
