"""What the check of deleted and disabled objects shows (issue 16, "Check deleted objects";
the rules are :mod:`credsync.sync.deleted_check`'s): the check's findings (one line per person
or group of the client whose directory object is deleted, disabled or gone, with the actions
offered) and the report of applying chosen actions (one line per object: done, refused or
skipped, and why)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Literal

from typing_extensions import TypedDict

__all__ = [
    "ACTIONS",
    "Action",
    "ApplyOutcome",
    "Choice",
    "DeletedApplyJson",
    "DeletedCheckJson",
    "DeletedChoiceJson",
    "DeletedFindingJson",
    "DeletedOutcomeJson",
    "ObjectKind",
]

Action = Literal["disable", "delete", "restore", "keep"]
ACTIONS: tuple[Action, ...] = ("disable", "delete", "restore", "keep")
ApplyOutcome = Literal["done", "refused", "skipped"]
ObjectKind = Literal["person", "group"]
FoundState = Literal["disabled", "deleted", "gone"]


class DeletedFindingJson(TypedDict):
    """A person / group of the client whose object in the directory is ``disabled`` (a
    user that may not sign in), ``deleted`` (in the directory's deleted items: ``deleted_at``,
    ``restorable``) or ``gone`` (purged or never found); ``directory_name``: the name the
    object has (had) there; ``actions``: those that apply to it; ``kept``: an operator chose
    ``keep`` for it in this state (listed only when asked for)."""

    kind: ObjectKind
    vault_id: str
    name: str
    object_id: str
    state: FoundState
    directory_name: str
    deleted_at: str | None
    restorable: bool
    vault_enabled: bool | None
    actions: list[Action]
    kept: bool


class DeletedChoiceJson(TypedDict):
    """A choice as the CLI's port sends it (see :class:`Choice`)."""

    object_id: str
    action: Action
    kind: ObjectKind | None
    new_username: str | None


class DeletedCheckJson(TypedDict):
    client: str
    directory: str
    checked: int
    kept: int
    findings: list[DeletedFindingJson]


class DeletedOutcomeJson(TypedDict):
    kind: ObjectKind
    vault_id: str | None
    name: str
    object_id: str
    action: Action
    outcome: ApplyOutcome
    detail: str


class DeletedApplyJson(TypedDict):
    client: str
    directory: str
    totals: dict[str, int]
    objects: list[DeletedOutcomeJson]


@dataclass(frozen=True)
class Choice:
    """An action chosen for one object of the check (by its object id in the directory;
    ``kind`` None: the person or group linked to it, object ids being unique in a
    directory); ``new_username``: with ``restore``, the sign-in name the restored user gets
    (when its old one is taken)."""

    object_id: str
    action: Action
    kind: ObjectKind | None = None
    new_username: str | None = None


def totals(lines: list[DeletedOutcomeJson]) -> dict[str, int]:
    counted = Counter(line["outcome"] for line in lines)
    return {k: counted.get(k, 0) for k in ("done", "refused", "skipped")}
