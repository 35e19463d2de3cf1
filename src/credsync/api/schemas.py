"""The API's JSON bodies: what each route accepts and returns (the OpenAPI document is made
from these). Responses carry the same fields as the CLI's ``--json``, made by the vault
models' ``to_json``."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "ApiTokenOut",
    "AuditEntryOut",
    "AuditPage",
    "AuditVerifyOut",
    "ClientIn",
    "ClientOut",
    "ClientPatch",
    "CredentialIn",
    "CredentialOut",
    "CredentialPage",
    "CredentialPatch",
    "EnforceUnconfirmedOut",
    "ErrorOut",
    "FolderIn",
    "FolderOut",
    "HistoryEntryOut",
    "ImportRejectedOut",
    "ImportReportOut",
    "LoginIn",
    "LoginOut",
    "PasswordIn",
    "PurgedOut",
    "RevealedOut",
    "SyncModeIn",
    "WhoAmIOut",
]

SyncModeName = Literal["off", "report", "enforce"]
Timestamp = str  # ISO 8601, UTC, e.g. 2026-12-01T12:00:00Z


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorDetail(BaseModel):
    field: str
    problem: str


class ErrorBody(BaseModel):
    status: int
    code: str
    message: str
    details: list[ErrorDetail] | None = None


class ErrorOut(BaseModel):
    """Every error: ``{"error": {"status", "code", "message"}}``."""

    error: ErrorBody


# -- sign-in ---------------------------------------------------------------------------------
class LoginIn(_In):
    name: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


class WhoAmIOut(BaseModel):
    name: str
    role: str
    permissions: list[str]
    via: str


class LoginOut(BaseModel):
    operator: WhoAmIOut
    csrf_token: str
    expires_at: Timestamp


# -- clients ---------------------------------------------------------------------------------
class ClientOut(BaseModel):
    id: str
    name: str
    directory_sync: bool
    default_sync_mode: SyncModeName
    archived: bool
    archived_at: Timestamp | None
    version: int
    created_at: Timestamp
    updated_at: Timestamp
    credential_count: int | None = None
    open_flags: int | None = None


class ClientIn(_In):
    name: str = Field(min_length=1, max_length=200)
    directory_sync: bool = False
    default_sync_mode: SyncModeName = "report"


class ClientPatch(_In):
    """Only the fields given change; ``version``: refuse if the client changed since."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    directory_sync: bool | None = None
    default_sync_mode: SyncModeName | None = None
    archived: bool | None = None
    version: int | None = Field(default=None, ge=1)


# -- credentials -----------------------------------------------------------------------------
class CredentialOut(BaseModel):
    id: str
    client_id: str
    client: str
    folder: str | None
    title: str
    username: str
    url: str
    type: str
    tags: list[str]
    sync_mode: SyncModeName | None
    effective_sync_mode: SyncModeName
    has_notes: bool
    secret_version: int
    version: int
    created_at: Timestamp
    created_by: str
    updated_at: Timestamp
    updated_by: str
    password_changed_at: Timestamp
    deleted: bool
    deleted_at: Timestamp | None
    deleted_by: str | None


class RevealedOut(CredentialOut):
    password: str
    notes: str | None


class CredentialPage(BaseModel):
    items: list[CredentialOut]
    next_cursor: str | None


class PasswordIn(_In):
    """A new password: ``password``, or ``generate`` with an optional named ``policy``."""

    password: str | None = Field(default=None, min_length=1, max_length=16384)
    generate: bool = False
    policy: str | None = Field(default=None, max_length=64)
    reason: str | None = Field(default=None, max_length=500)
    version: int | None = Field(default=None, ge=1)


class CredentialIn(_In):
    title: str = Field(min_length=1, max_length=255)
    username: str = Field(default="", max_length=512)
    password: str | None = Field(default=None, min_length=1, max_length=16384)
    generate: bool = False
    policy: str | None = Field(default=None, max_length=64)
    url: str = Field(default="", max_length=2048)
    notes: str | None = Field(default=None, max_length=65536)
    type: str | None = Field(default=None, max_length=32)
    tags: list[str] = Field(default_factory=list, max_length=50)
    folder: str | None = Field(default=None, max_length=1024)
    sync_mode: SyncModeName | None = None


class CredentialPatch(_In):
    title: str | None = Field(default=None, min_length=1, max_length=255)
    username: str | None = Field(default=None, max_length=512)
    url: str | None = Field(default=None, max_length=2048)
    notes: str | None = Field(default=None, max_length=65536)
    type: str | None = Field(default=None, max_length=32)
    tags: list[str] | None = Field(default=None, max_length=50)
    folder: str | None = Field(default=None, max_length=1024)
    version: int | None = Field(default=None, ge=1)


class SyncModeIn(_In):
    """``inherit``: follow the client's default sync mode."""

    sync_mode: Literal["off", "report", "enforce", "inherit"]
    version: int | None = Field(default=None, ge=1)
    confirm: bool = Field(
        default=False,
        description="Switching to enforce overwrites directory passwords: set true to go ahead.",
    )


class EnforceImpactOut(BaseModel):
    credential_id: str
    title: str
    username: str
    directory: str
    account: str | None
    last_status: str | None
    overwrite_now: bool


class EnforcePreviewOut(BaseModel):
    what: str
    impact: list[EnforceImpactOut]


class EnforceUnconfirmedBody(ErrorBody):
    enforce: EnforcePreviewOut


class EnforceUnconfirmedOut(BaseModel):
    """A switch to enforce to confirm (``confirm_enforce``): ``enforce.impact`` lists each
    credential and directory account it concerns, and whether the next run overwrites the
    directory's password (``overwrite_now``)."""

    error: EnforceUnconfirmedBody


class HistoryEntryOut(BaseModel):
    credential_id: str
    version: int
    current: bool
    source: str
    reason: str
    created_at: Timestamp
    created_by: str
    password: str | None = None


class PurgedOut(BaseModel):
    id: str
    purged: bool = True


# -- folders, CSV import ---------------------------------------------------------------------
class FolderOut(BaseModel):
    id: str
    client_id: str
    path: str
    created_at: Timestamp


class FolderIn(_In):
    path: str = Field(min_length=1, max_length=500, description='e.g. "Servers/DCs"')


class RejectionOut(BaseModel):
    line: int
    title: str
    reason: str


class ImportReportOut(BaseModel):
    """What an import did (or, with ``dry_run``, would do); the rejected rows with reasons."""

    client: str
    rows: int
    imported: int
    rejected_count: int
    rejected: list[RejectionOut]
    folders_created: list[str]
    sha256: str
    dry_run: bool


class ImportRejectedBody(ErrorBody):
    report: ImportReportOut | None = None


class ImportRejectedOut(BaseModel):
    """An import refused whole; for a ``strict`` import with rejected rows (nothing was
    written), ``report`` says which rows and why."""

    error: ImportRejectedBody


# -- people and the audit log ----------------------------------------------------------------
class ApiTokenOut(BaseModel):
    id: str
    operator: str
    name: str
    created_at: Timestamp
    expires_at: Timestamp | None
    last_used_at: Timestamp | None
    revoked: bool


class AuditEntryOut(BaseModel):
    seq: int
    at: Timestamp
    actor: str
    action: str
    target_type: str
    target_id: str
    client_id: str | None
    details: dict[str, Any]
    hash: str


class AuditPage(BaseModel):
    items: list[AuditEntryOut]
    next_cursor: str | None


class AuditVerifyOut(BaseModel):
    ok: bool
    entries: int
    head_seq: int
    head_hash: str
    problem: str | None
    bad_seq: int | None
