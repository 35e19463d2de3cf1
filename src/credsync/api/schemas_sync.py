"""The JSON bodies of directory tests, runs and flags (the same fields as the CLI's ``--json``,
made by ``RunReport.to_json`` and ``Flag.to_json``); directories' own are in
:mod:`credsync.api.schemas_directories`."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "DirectoryTestOut",
    "FlagOut",
    "FlagResolutionOut",
    "FlagResolveIn",
    "RunIn",
    "RunItemOut",
    "RunItemPage",
    "RunOut",
    "RunPage",
    "TestStepOut",
]

Timestamp = str  # ISO 8601, UTC


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TestStepOut(BaseModel):
    step: str
    outcome: Literal["ok", "warning", "failed", "skipped"]
    detail: str


class DirectoryTestOut(BaseModel):
    """``ok`` is false when a step failed (a warning still works, in report mode)."""

    directory: str
    ok: bool
    steps: list[TestStepOut]


# -- runs ------------------------------------------------------------------------------------
class RunIn(_In):
    full: bool = Field(
        default=False, description="A full pass: read every account (not only the changes)."
    )


class RunItemOut(BaseModel):
    credential_id: str | None
    account_id: str | None
    account: str
    status: str
    action: str
    detail: str


class RunOut(BaseModel):
    """A run. While ``state`` is ``running``, ``item_count`` grows as the engine stores
    each chunk of its report; ``summary`` and ``accounts_read`` are set when it ends."""

    id: str
    directory_id: str
    directory: str
    side: str = Field(description="The display name of the directory's kind.")
    client_id: str
    client: str
    kind: str
    trigger: str
    dry_run: bool
    actor: str
    state: Literal["running", "done", "aborted", "failed"]
    message: str
    summary: dict[str, Any]
    accounts_read: int
    started_at: Timestamp
    finished_at: Timestamp | None
    item_count: int
    heartbeat_at: Timestamp | None = Field(
        default=None,
        description="The run's last sign of life: written at least every 15 s while it runs; "
        "a run silent for 2 minutes was abandoned (it shows, and is then stored, as aborted).",
    )
    items: list[RunItemOut] | None = Field(
        default=None, description="The per-object report (or its first page)."
    )
    next_items_cursor: str | None = Field(
        default=None, description="More items: GET /runs/{id}/items?cursor=..."
    )


class RunPage(BaseModel):
    items: list[RunOut]
    next_cursor: str | None


class RunItemPage(BaseModel):
    items: list[RunItemOut]
    next_cursor: str | None


# -- flags -----------------------------------------------------------------------------------
class FlagOut(BaseModel):
    id: str
    client_id: str
    client: str
    credential_id: str
    title: str
    username: str
    directory_id: str
    directory: str
    side: str = Field(description="The display name of the directory's kind.")
    account_id: str | None
    status: str
    detail: str
    run_id: str | None
    open: bool
    opened_at: Timestamp
    updated_at: Timestamp
    resolved_at: Timestamp | None
    resolved_by: str | None
    resolution: str | None


class FlagResolveIn(_In):
    """``push``: set the vault's password in the directory now. ``accept_directory``: the
    directory is right; with ``password`` (the directory's, checked with one bind where the
    directory allows it) the vault keeps it as the credential's new password; without it
    (report mode only) the flag closes until the directory's password changes again."""

    action: Literal["push", "accept_directory"]
    password: str | None = Field(default=None, min_length=1, max_length=16384)


class FlagResolutionOut(BaseModel):
    flag: FlagOut
    outcome: Literal["pushed", "accepted", "accepted_password", "failed"]
    detail: str
    run: RunOut | None
