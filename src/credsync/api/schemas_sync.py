"""The JSON bodies of directories, runs and flags (the same fields as the CLI's ``--json``,
made by ``Directory.to_json``, ``RunReport.to_json`` and ``Flag.to_json``)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "DirectoryIn",
    "DirectoryOut",
    "DirectoryPatch",
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
Name = Field(min_length=1, max_length=100)
CredentialRef = Field(
    default=None, min_length=8, max_length=36, description="A credential id (or 8+ characters)."
)
MAX_CA_PEM = 256 * 1024  # the directory service's own limit


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


# -- directories -----------------------------------------------------------------------------
class DirectoryOut(BaseModel):
    id: str
    client_id: str
    client: str
    name: str
    kind: Literal["active_directory", "entra"]
    url: str
    base_dn: str
    bind_credential_id: str
    ca: Literal["configured"] | None = Field(description='"configured" when a CA is stored.')
    tls_server_name: str | None
    insecure_skip_verify: bool
    tenant_id: str | None
    app_id: str | None
    authority: str | None
    bind_kind: Literal["certificate", "secret"] | None
    options: dict[str, int]
    incremental: bool = Field(description="An incremental cursor is stored.")
    full_pass_at: Timestamp | None
    account_count: int | None
    next_run_at: Timestamp | None
    failures: int
    version: int
    created_at: Timestamp
    updated_at: Timestamp


class _Connection(_In):
    """What add and change share. One of ``bind_credential`` (Active Directory: the
    directory_admin credential to bind as), ``certificate_credential`` or
    ``secret_credential`` (Entra: the credential holding the app's certificate and key in
    PEM, or its client secret)."""

    url: str | None = Field(
        default=None,
        max_length=2048,
        description="AD: ldaps://HOST[:PORT] or ldap://HOST[:PORT] (StartTLS). Entra: the "
        "Graph endpoint (default https://graph.microsoft.com).",
    )
    base_dn: str | None = Field(default=None, max_length=2048, description="AD: the scope.")
    bind_credential: str | None = CredentialRef
    certificate_credential: str | None = CredentialRef
    secret_credential: str | None = CredentialRef
    tenant_id: str | None = Field(
        default=None, max_length=253, description="Entra: the tenant id (GUID) or a domain."
    )
    app_id: str | None = Field(
        default=None, max_length=36, description="Entra: the application (client) id."
    )
    authority: str | None = Field(
        default=None,
        max_length=2048,
        description="Entra: the identity platform (default Microsoft's global cloud).",
    )
    ca_pem: str | None = Field(
        default=None,
        max_length=MAX_CA_PEM,
        description='PEM CA certificate(s) to trust; in a change, "" removes the CA (the '
        "system's CAs are trusted again).",
    )
    tls_server_name: str | None = Field(
        default=None, max_length=255, description="AD: the name the DC's certificate carries."
    )
    options: dict[str, int] = Field(
        default_factory=dict,
        max_length=20,
        description="interval, jitter, full_pass_hours, push_cap, min_account_ratio, "
        "force_change, never_expires (Entra).",
    )


class DirectoryIn(_Connection):
    client: str = Field(min_length=1, max_length=200, description="The client, by name or id.")
    name: str = Name
    kind: Literal["active_directory", "entra"]
    insecure_skip_verify: bool = Field(
        default=False, description="Do not check the certificate (unsafe; audited)."
    )


class DirectoryPatch(_Connection):
    """Only the fields given change; ``version``: refuse if the directory changed since."""

    insecure_skip_verify: bool | None = None
    version: int | None = Field(default=None, ge=1)


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
    side: str = Field(description="Active Directory or Entra ID.")
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
    side: str = Field(description="Active Directory or Entra ID.")
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
