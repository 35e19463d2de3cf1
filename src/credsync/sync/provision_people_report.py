"""What provisioning people shows: the plan (per person: create, update which fields, usage
location, licence, password, immutable id, or why not) and, after an apply, what was done
(per person: created, updated, licensed, password set, refused and why)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Literal

from typing_extensions import TypedDict

from credsync.types import Secret

__all__ = [
    "PersonPlan",
    "ProvisionOutcome",
    "ProvisionPersonJson",
    "ProvisionReport",
    "ProvisionReportJson",
]

ProvisionOutcome = Literal[
    "create", "update", "remove", "unchanged", "created", "updated", "removed", "refused",
    "skipped",
]  # fmt: skip
OUTCOMES: tuple[ProvisionOutcome, ...] = (
    "create", "update", "remove", "unchanged", "created", "updated", "removed", "refused",
    "skipped",
)  # fmt: skip


class ProvisionPersonJson(TypedDict):
    """One person's line. In a plan ``outcome`` is ``create``, ``update``, ``remove``,
    ``unchanged``, ``refused`` or ``skipped``; after an apply ``created``, ``updated``,
    ``removed``, ``unchanged``, ``refused`` or ``skipped``. ``actions``: what the plan writes
    (``create``, ``update``, ``usage_location``, ``licence``, ``password``, ``immutable_id``,
    ``enable``, ``disable``, ``remove``); ``done``: what the apply did (``created``,
    ``updated``, ``password``, ``licensed``, ``removed``); ``changed``: the fields an update
    writes; ``notes``: what is not done and why (no free seat...)."""

    person_id: str
    name: str
    username: str
    object_id: str | None
    outcome: ProvisionOutcome
    actions: list[str]
    changed: list[str]
    done: list[str]
    notes: list[str]
    reason: str | None


@dataclass
class PersonPlan:
    """One person's plan (then the outcome of applying it)."""

    person_id: str
    name: str
    username: str
    object_id: str | None = None
    create: bool = False
    fields: dict[str, str | bool] = field(default_factory=dict)
    password: tuple[str, int] | None = None  # (credential id, secret version) to set
    licence: str | None = None  # sku id
    immutable_id: str | None = None
    link: bool = False  # link the person to the user (matched or created)
    remove: bool = False  # delete the user provisioning created (the person is gone)
    notes: list[str] = field(default_factory=list)
    outcome: ProvisionOutcome = "unchanged"
    reason: str | None = None
    done: list[str] = field(default_factory=list)
    secret: Secret | None = field(default=None, repr=False)

    @property
    def writes(self) -> bool:
        return (
            self.create
            or self.remove
            or bool(self.fields)
            or bool(self.password)
            or bool(self.licence)
        )

    def actions(self) -> list[str]:
        out: list[str] = []
        if self.remove:
            return ["remove"]
        if self.create:
            out.append("create")
        elif self.fields.keys() - {"usage_location", "enabled"}:
            out.append("update")
        if "usage_location" in self.fields:
            out.append("usage_location")
        if self.licence:
            out.append("licence")
        if self.password:
            out.append("password")
        if self.immutable_id:
            out.append("immutable_id")
        if not self.create and "enabled" in self.fields:
            out.append("enable" if self.fields["enabled"] else "disable")
        return out

    def to_json(self) -> ProvisionPersonJson:
        return ProvisionPersonJson(
            person_id=self.person_id,
            name=self.name,
            username=self.username,
            object_id=self.object_id,
            outcome=self.outcome,
            actions=self.actions(),
            changed=[] if self.create else sorted(self.fields),
            done=list(self.done),
            notes=list(self.notes),
            reason=self.reason,
        )


class ProvisionReportJson(TypedDict):
    """``applied``: false for a plan (nothing was written); ``writes``: directory writes
    the plan needs (a plan) or made (an apply)."""

    client: str
    directory: str
    applied: bool
    totals: dict[str, int]
    writes: int
    licences_free: int | None
    people: list[ProvisionPersonJson]


@dataclass
class ProvisionReport:
    client: str
    directory: str
    people: list[PersonPlan]
    applied: bool = False
    writes: int = 0
    licences_free: int | None = None  # seats of the default licence free before this

    @property
    def totals(self) -> dict[str, int]:
        counts = Counter(p.outcome for p in self.people)
        return {k: counts[k] for k in OUTCOMES if counts[k] or k in ("refused", "unchanged")}

    @property
    def refused(self) -> int:
        return sum(p.outcome == "refused" for p in self.people)

    def to_json(self) -> ProvisionReportJson:
        return ProvisionReportJson(
            client=self.client,
            directory=self.directory,
            applied=self.applied,
            totals=self.totals,
            writes=self.writes,
            licences_free=self.licences_free,
            people=[p.to_json() for p in self.people],
        )
