"""The bodies of ``POST /api/v1/quarantine/{approve,discard,restore,accept}`` (issue 18; the
rules are :mod:`credsync.sync.quarantine_service`'s). The answers are the service's own
shapes."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["QuarantineDecideIn", "QuarantineRestoreIn"]


class QuarantineDecideIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ids: list[str] = Field(
        default_factory=list,
        max_length=5000,
        description="The items (ids, or their first 8 characters or more).",
    )
    directory: str | None = Field(
        default=None,
        max_length=200,
        description="Instead of ids: every held item of this directory (name or id).",
    )


class QuarantineRestoreIn(QuarantineDecideIn):
    dry_run: bool = Field(default=False, description="List what would be done; change nothing.")
