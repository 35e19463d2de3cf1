"""The JSON bodies of operators' sign-in with Microsoft (:mod:`credsync.api.routes.sign_in`);
the answers are the vault's shapes (:mod:`credsync.vault.operator_sign_in`)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "DeviceSignInIn",
    "DeviceSignInOut",
    "GroupMapIn",
    "IdentityLinkIn",
    "OperatorImportIn",
    "OperatorSearchIn",
    "SignInSetupIn",
]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SignInSetupIn(_In):
    tenant_id: str = Field(max_length=100, description="The MSP tenant's id (a GUID).")
    client_id: str = Field(
        max_length=100, description="The app registration's application (client) id."
    )
    client_secret: str | None = Field(
        default=None,
        max_length=1024,
        description="The app's client secret (its value); left out, the stored one stays.",
    )
    redirect_uri: str = Field(
        max_length=500,
        description="The dashboard's callback, registered on the app: "
        "https://<dashboard>/sign-in/microsoft/callback.",
    )
    authority: str | None = Field(
        default=None,
        max_length=500,
        description="The authority host (default https://login.microsoftonline.com).",
    )
    ca_pem: str | None = Field(
        default=None,
        max_length=256 * 1024,
        description="Extra CA certificates (PEM) to trust for the authority.",
    )


class IdentityLinkIn(_In):
    object_id: str = Field(max_length=100, description="The user's object id in the tenant.")
    tenant_id: str | None = Field(
        default=None, max_length=100, description="Default: the connected tenant."
    )
    username: str = Field(default="", max_length=256, description="The user's sign-in name.")


class DeviceSignInIn(_In):
    id_token: str = Field(
        min_length=1, max_length=16384, description="The id token of a device code sign-in."
    )


class DeviceSignInOut(BaseModel):
    operator: str
    token: str = Field(description="An API token (cst_...), shown this once.")
    token_name: str
    expires_at: str | None


class OperatorSearchIn(_In):
    query: str = Field(default="", max_length=2000, description="Words, or a filter.")
    groups: bool = Field(default=False, description="Search groups too.")


class OperatorImportIn(_In):
    ids: list[str] = Field(default_factory=list, max_length=5000, description="Users' object ids.")
    role: str = Field(default="viewer", max_length=64, description="The selected users' role.")
    clients: list[str] | None = Field(
        default=None, max_length=1000, description="Their client access (null: every client)."
    )
    dry_run: bool = False


class GroupMapIn(_In):
    role: str = Field(max_length=64)
    clients: list[str] | None = Field(
        default=None, max_length=1000, description="Client names or ids (null: every client)."
    )
