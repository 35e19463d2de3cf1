"""What the import of people and groups shows: the preview of a search (what the directory
has, and whether each object is already a person / group of the client) and the report of a
synchronisation (one line per object: created, updated, unchanged, linked or refused and why;
for a group, the members added, removed and left outside the import)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Literal

from typing_extensions import TypedDict

__all__ = [
    "ImportOutcome",
    "ImportReport",
    "ObjectReport",
    "OnboardingReportJson",
    "PeopleImportFoundJson",
    "PeopleImportObjectJson",
    "PeopleImportPreviewJson",
    "PeopleImportReportJson",
    "Preview",
]

ImportOutcome = Literal["created", "updated", "unchanged", "linked", "refused"]
ObjectKind = Literal["person", "group"]


class PeopleImportFoundJson(TypedDict):
    """One object a search found; ``vault_id``: the person / group it already is (linked to
    this directory's object), else null."""

    kind: ObjectKind
    object_id: str
    name: str
    username: str | None
    email: str
    type: str | None
    enabled: bool | None
    vault_id: str | None


class PeopleImportPreviewJson(TypedDict):
    client: str
    directory: str
    query: str
    people: list[PeopleImportFoundJson]
    groups: list[PeopleImportFoundJson]
    truncated: bool


@dataclass(frozen=True)
class Preview:
    client: str
    directory: str
    query: str
    people: tuple[PeopleImportFoundJson, ...]
    groups: tuple[PeopleImportFoundJson, ...]
    truncated: bool

    def to_json(self) -> PeopleImportPreviewJson:
        return PeopleImportPreviewJson(
            client=self.client,
            directory=self.directory,
            query=self.query,
            people=list(self.people),
            groups=list(self.groups),
            truncated=self.truncated,
        )


class PeopleImportObjectJson(TypedDict):
    kind: ObjectKind
    object_id: str
    name: str
    outcome: ImportOutcome
    reason: str | None
    changed: list[str]
    vault_id: str | None
    members_added: list[str]
    members_removed: list[str]
    members_outside: list[str]


@dataclass
class ObjectReport:
    """``reason``: why refused (or, for ``linked``, whose the attributes stay);
    ``members_outside``: the group's directory members that are not imported (names)."""

    kind: ObjectKind
    object_id: str
    name: str
    outcome: ImportOutcome = "unchanged"
    reason: str | None = None
    changed: tuple[str, ...] = ()
    vault_id: str | None = None
    members_added: list[str] = field(default_factory=list)
    members_removed: list[str] = field(default_factory=list)
    members_outside: list[str] = field(default_factory=list)

    def to_json(self) -> PeopleImportObjectJson:
        return PeopleImportObjectJson(
            kind=self.kind,
            object_id=self.object_id,
            name=self.name,
            outcome=self.outcome,
            reason=self.reason,
            changed=list(self.changed),
            vault_id=self.vault_id,
            members_added=sorted(self.members_added),
            members_removed=sorted(self.members_removed),
            members_outside=sorted(self.members_outside),
        )


class OnboardingReportJson(TypedDict):
    """What the provisioning did: the group (``group_created``: made now), the credentials
    made (people awaiting onboarding now), the memberships added, and refusals (name: why)."""

    group: str
    group_id: str | None
    group_created: bool
    credentials_created: int
    members_added: int
    refused: list[str]


class PeopleImportReportJson(TypedDict):
    """``dry_run``: what a synchronisation would do; nothing was kept; ``onboarding``: what
    the import into a group did (None: no group asked for)."""

    client: str
    directory: str
    dry_run: bool
    totals: dict[str, int]
    members_added: int
    members_removed: int
    objects: list[PeopleImportObjectJson]
    onboarding: OnboardingReportJson | None


@dataclass(frozen=True)
class ImportReport:
    client: str
    directory: str
    objects: tuple[ObjectReport, ...]
    dry_run: bool = False
    onboarding: OnboardingReportJson | None = None

    @property
    def totals(self) -> dict[str, int]:
        counts = Counter(o.outcome for o in self.objects)
        return {k: counts[k] for k in ("created", "updated", "unchanged", "linked", "refused")}

    @property
    def writes(self) -> int:
        """Vault changes this synchronisation made, or would make in a dry run (0: everything
        was in step)."""
        return sum(
            (o.outcome in ("created", "updated", "linked"))
            + len(o.members_added)
            + len(o.members_removed)
            for o in self.objects
        ) + (
            self.onboarding["credentials_created"]
            + self.onboarding["members_added"]
            + self.onboarding["group_created"]
            if self.onboarding
            else 0
        )

    def to_json(self) -> PeopleImportReportJson:
        return PeopleImportReportJson(
            client=self.client,
            directory=self.directory,
            dry_run=self.dry_run,
            totals=self.totals,
            members_added=sum(len(o.members_added) for o in self.objects),
            members_removed=sum(len(o.members_removed) for o in self.objects),
            objects=[o.to_json() for o in self.objects],
            onboarding=self.onboarding,
        )
