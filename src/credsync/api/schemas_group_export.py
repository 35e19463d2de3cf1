"""The JSON bodies of the group export (issue 16; :mod:`credsync.sync.provision_groups`):
a plan, an apply (with the confirmation of the duplicates to remove) and a change of the
settings. The API answers with ``GroupExportPlanJson`` and ``GroupExportSettingsJson``, as
the CLI's ``--json`` prints them."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["GroupExportApplyIn", "GroupExportPlanIn", "GroupExportSettingsIn"]


class GroupExportPlanIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    client: str = Field(max_length=200, description="The client (name or id).")
    directory: str = Field(max_length=200, description="One of the client's directories.")
    groups: list[str] = Field(
        default_factory=list,
        max_length=5000,
        description="Groups of the client (ids or names); none: every group.",
    )


class GroupExportApplyIn(GroupExportPlanIn):
    confirm_duplicates: list[str] | None = Field(
        default=None,
        max_length=5000,
        description="The object ids of the duplicates the plan listed, to remove them; "
        "refused unless exactly those (null: remove none).",
    )


class GroupExportSettingsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    client: str = Field(max_length=200)
    directory: str = Field(max_length=200)
    matching: Literal["type_and_email", "name"] | None = Field(
        default=None, description="Match by name, type and e-mail, or by name alone."
    )
    create_missing: bool | None = Field(
        default=None, description="Create a group when none matches."
    )
    remove_duplicates: bool | None = Field(
        default=None, description="List same-named groups credsync does not own for removal."
    )
    membership_source: Literal["vault", "directory"] | None = Field(
        default=None, description="Which side's members the other is made to have."
    )
