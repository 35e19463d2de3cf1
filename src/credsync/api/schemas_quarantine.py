"""The bodies of ``POST /api/v1/quarantine/{approve,discard,restore,accept}`` (issue 18; the
rules are :mod:`credsync.sync.quarantine_service`'s) and of ``PUT /api/v1/quarantine/defaults``
(:mod:`credsync.vault.quarantine_defaults`). The answers are the service's own
shapes."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["QuarantineDecideIn", "QuarantineDefaultsIn", "QuarantineRestoreIn"]


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


class QuarantineDefaultsIn(BaseModel):
    """The vault-wide thresholds to set: a number sets one, null puts it back to the built-in
    default, one left out stays as it is."""

    model_config = ConfigDict(extra="forbid")

    push_cap: int | None = Field(default=None, description="Pushes one run may plan (>= 1).")
    push_cap_percent: int | None = Field(
        default=None, description="% of the links a run may push to (0: off)."
    )
    change_cap: int | None = Field(
        default=None,
        description="Creates, disables, deletes and member removals one provisioning or group "
        "export may plan (>= 1).",
    )
    change_cap_percent: int | None = Field(
        default=None, description="The same as a % of the people a provisioning covers (0: off)."
    )
    inbound_cap: int | None = Field(
        default=None, description="Linked accounts a run may find changed in the directory."
    )
    inbound_cap_percent: int | None = Field(
        default=None, description="The same as a % of the links (0: off)."
    )
