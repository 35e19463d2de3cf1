"""The JSON bodies of multi-factor sign-in (:mod:`credsync.api.routes.mfa`); the answers are
the vault's shapes (:mod:`credsync.vault.mfa`), as the CLI's ``--json`` prints them."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "MfaConfirmIn",
    "MfaDisableIn",
    "MfaRequirementIn",
]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MfaConfirmIn(_In):
    code: str = Field(
        min_length=1, max_length=16, description="The authenticator app's current code."
    )


class MfaDisableIn(_In):
    password: str = Field(min_length=1, max_length=1024, description="Your password.")
    code: str = Field(
        min_length=1, max_length=64, description="A code of the app, or a recovery code."
    )


class MfaRequirementIn(_In):
    required: bool
    role: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        description="Only this role's holders (else every operator).",
    )
