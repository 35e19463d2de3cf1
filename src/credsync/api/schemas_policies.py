"""The JSON bodies of password policies and generated passwords; a policy is answered with
its record's shape (``PolicyJson`` in :mod:`credsync.vault.generator`, as the CLI's
``policy list --json`` prints it)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from credsync.api.fields import Checked
from credsync.vault.validate import clean_name

__all__ = ["GenerateIn", "GeneratedOut", "PolicyIn", "PolicySettings"]

_MINIMUM = "At least this many characters of the class; -1 leaves the class out."


class PolicySettings(BaseModel):
    """Only the settings given change; the others are the default policy's (a new policy)
    or the named policy's (generating)."""

    model_config = ConfigDict(extra="forbid")

    length: int | None = Field(default=None, description="4-256 (the default policy: 20).")
    lower: int | None = Field(default=None, description=_MINIMUM)
    upper: int | None = Field(default=None, description=_MINIMUM)
    digits: int | None = Field(default=None, description=_MINIMUM)
    symbols: int | None = Field(default=None, description=_MINIMUM)
    symbol_set: str | None = Field(
        default=None, max_length=256, description="The symbol characters to use."
    )
    exclude: str | None = Field(default=None, max_length=1024, description="Never used.")
    exclude_ambiguous: bool | None = Field(default=None, description="Leave out Il1O0o etc.")

    def settings(self) -> dict[str, Any]:
        """The policy settings given (not the other fields of a subclass)."""
        given = {name: getattr(self, name) for name in PolicySettings.model_fields}
        return {name: value for name, value in given.items() if value is not None}


class PolicyIn(PolicySettings):
    name: Annotated[str, Checked("policy name", lambda v: clean_name(v, "policy name", 64), 64, 1)]


class GenerateIn(PolicySettings):
    count: int = Field(default=1, ge=1, le=1000, description="How many passwords.")


class GeneratedOut(BaseModel):
    """Passwords made for the caller; nothing is stored."""

    passwords: list[str]
