"""The JSON bodies of runs and flags; directories' own are in
:mod:`credsync.api.schemas_directories`. Flags and run items are answered with their records'
shapes (``FlagJson``, ``ItemReportJson``), as the CLI's ``--json`` prints them; a run with the
API's own fields besides its record's (``RunJson``): the items stored so far, and its report a
page at a time."""

from __future__ import annotations

from typing import Annotated, Literal, NotRequired

from pydantic import BaseModel, ConfigDict, Field
from typing_extensions import TypedDict

from credsync.sync.reports import ItemReportJson, RunJson
from credsync.sync.resolve import BulkItemJson, ResolutionFieldsJson
from credsync.vault.flags import FlagJson
from credsync.vault.models import Timestamp

__all__ = [
    "FlagConfirmIn",
    "FlagPage",
    "FlagResolutionOut",
    "FlagResolveIn",
    "FlagsResolutionOut",
    "FlagsResolveIn",
    "RunIn",
    "RunItemPage",
    "RunOut",
    "RunPage",
]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


# -- runs ------------------------------------------------------------------------------------
class RunIn(_In):
    full: bool = Field(
        default=False, description="A full pass: read every account (not only the changes)."
    )


class RunOut(RunJson):
    """A run. While ``state`` is ``running``, ``item_count`` grows as the engine stores
    each chunk of its report (a push's item as soon as it is recorded as attempted);
    ``summary``, ``accounts_read`` and ``accounts_total`` are set when it ends."""

    item_count: int
    heartbeat_at: NotRequired[Timestamp | None]
    """The run's last sign of life: written at least every 10 s while it runs; a run silent
    for a minute was abandoned (it shows, and is then stored, as aborted)."""
    items: NotRequired[list[ItemReportJson] | None]
    """The per-object report (or its first page)."""
    next_items_cursor: NotRequired[str | None]
    """More items: GET /runs/{id}/items?cursor=..."""


class RunPage(TypedDict):
    items: list[RunOut]
    next_cursor: str | None


class RunItemPage(TypedDict):
    items: list[ItemReportJson]
    next_cursor: str | None


# -- flags -----------------------------------------------------------------------------------
class FlagConfirmIn(_In):
    """The links to confirm for pushes: the ``awaiting_confirmation`` flags named in
    ``flags`` (ids, or 8+ characters of them), or every one of ``client``. Unless
    ``confirm`` is true the answer is 409 ``confirm_enforce`` naming the accounts whose
    password the next run overwrites."""

    flags: list[str] = Field(default_factory=list, max_length=1000)
    client: str | None = Field(default=None, min_length=1, max_length=200)
    confirm: bool = False


class FlagResolveIn(_In):
    """``push``: set the vault's password in the directory now. ``accept_directory``: the
    directory is right; with ``password`` (the directory's, checked with one bind where the
    directory allows it) the vault keeps it as the credential's new password; without it
    (report mode only) the flag closes until the directory's password changes again."""

    action: Literal["push", "accept_directory"]
    password: str | None = Field(default=None, min_length=1, max_length=16384)


class FlagResolutionOut(ResolutionFieldsJson):
    run: RunOut | None
    """The run that pushed or checked (with every item of its report)."""


class FlagPage(TypedDict):
    items: list[FlagJson]
    next_cursor: str | None


class FlagsResolveIn(_In):
    """Several flags resolved the same way: ``push`` the vault's passwords, or
    ``accept_directory`` (report mode only, no password: the directories' passwords stay
    unknown to the vault)."""

    action: Literal["push", "accept_directory"]
    flags: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(
        min_length=1, max_length=500, description="Flag ids (or 8+ characters of each)."
    )


class FlagsResolutionOut(TypedDict):
    results: list[BulkItemJson]
    """One per flag, in the order given."""
