"""Request bodies of provisioning people to a directory (issue 16; the rules are
:mod:`credsync.vault.provisioning`'s and :mod:`credsync.sync.provision_people`'s)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from credsync.vault.provisioning import PasswordMode

__all__ = ["ProvisionIn", "ProvisioningIn"]


class ProvisioningIn(BaseModel):
    """Only the fields given change. ``version``: refuse (409) if the settings changed since
    they were read."""

    model_config = ConfigDict(extra="forbid")

    username_template: str | None = Field(
        default=None,
        max_length=200,
        description="The username mapping: {given}, {surname}, {initial}, {display}, "
        "{username}, {email} (e.g. {given}.{surname}).",
    )
    upn_suffix: str | None = Field(
        default=None, max_length=255, description="A verified domain of the directory."
    )
    licence: str | None = Field(
        default=None, max_length=64, description="A SKU part number or id ('' none)."
    )
    usage_location: str | None = Field(
        default=None, max_length=2, description="ISO 3166-1 alpha-2 ('' none)."
    )
    passwords: PasswordMode | None = Field(
        default=None, description="vault (from the primary credential) or onboarding."
    )
    version: int | None = None


class ProvisionIn(BaseModel):
    """Whom: ``people`` (ids), or the members of ``group`` (nested too), or neither: every
    person of the client."""

    model_config = ConfigDict(extra="forbid")

    client: str = Field(max_length=200, description="The client (name or id).")
    directory: str = Field(max_length=200, description="One of the client's directories.")
    people: list[str] = Field(default_factory=list, max_length=5000)
    group: str | None = Field(default=None, max_length=200)
