"""The bodies of ``POST /api/v1/people/deleted/check`` and ``/apply`` (issue 16, "Check
deleted objects"; the rules are :mod:`credsync.sync.deleted_check`'s). The answers are the
service's own shapes (:mod:`credsync.sync.deleted_report`)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from credsync.sync.deleted_check import MAX_CHOICES

__all__ = ["DeletedApplyIn", "DeletedCheckIn", "DeletedChoiceIn"]


class DeletedCheckIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    client: str = Field(max_length=200, description="The client (name or id).")
    directory: str = Field(max_length=200, description="One of the client's directories.")
    include_kept: bool = Field(default=False, description="List the objects kept as they are too.")


class DeletedChoiceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    object_id: str = Field(max_length=64, description="The object's id in the directory.")
    action: Literal["disable", "delete", "restore", "keep"] = Field(
        description="disable or delete in the vault, restore in the directory, or keep."
    )
    kind: Literal["person", "group"] | None = Field(
        default=None, description="person or group (none: the one linked to the object)."
    )
    new_username: str | None = Field(
        default=None,
        max_length=320,
        description="With restore: the sign-in name the restored user gets.",
    )


class DeletedApplyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    client: str = Field(max_length=200)
    directory: str = Field(max_length=200)
    choices: list[DeletedChoiceIn] = Field(max_length=MAX_CHOICES)
