"""The JSON bodies of a domain's federation to the vault (issue 17;
:mod:`credsync.sync.federation`): enable, rotate the signing certificate, disable. The API
answers with the shapes of :mod:`credsync.sync.federation_report`, as the CLI's ``--json``
prints them."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["FederationDisableIn", "FederationEnableIn", "FederationRotateIn"]


class FederationEnableIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    client: str = Field(max_length=200, description="The client (name or id).")
    domain: str = Field(max_length=253, description="The Office 365 domain to federate.")
    url: str = Field(
        max_length=500,
        description="The vault's public https URL (the identity provider's issuer is "
        "{url}/idp/{domain}).",
    )
    protocol: Literal["saml", "wsFed"] = "saml"
    mfa: Literal["enforce", "accept", "reject"] = Field(
        default="enforce",
        description="Who performs MFA: the vault (enforce, the default), either (accept), "
        "never the vault (reject).",
    )
    directory: str | None = Field(
        default=None,
        max_length=200,
        description="The client's directory; none: the only one that can federate.",
    )


class FederationRotateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    client: str = Field(max_length=200)
    step: Literal["begin", "finish", "cancel"] = "begin"


class FederationDisableIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    client: str = Field(max_length=200)
    domain: str = Field(max_length=253)
