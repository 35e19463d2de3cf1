"""The API's JSON bodies: what each route accepts, the answers that are the API's own (a
page, an error, a sign-in) and the records' shapes it answers with (the OpenAPI document is
made from these). A record's shape is declared once, next to the record (``ClientJson`` in
:mod:`credsync.vault.models`): the route returns what the record's ``to_json`` made, the same
as the CLI's ``--json`` (see :mod:`credsync.api.shapes`)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field
from typing_extensions import TypedDict

from credsync.api.fields import Checked
from credsync.sync.enforce import EnforcePreviewJson
from credsync.types import Secret, SyncModeName
from credsync.vault.csvio import ImportReportJson
from credsync.vault.drafts import parse_type
from credsync.vault.folders import clean_path
from credsync.vault.models import AuditEntryJson, ClientRefJson, CredentialJson
from credsync.vault.rotation import MAX_DAYS
from credsync.vault.validate import (
    MAX_NOTES_CHARS,
    clean_name,
    clean_secret,
    clean_tags,
    clean_text,
)

__all__ = [
    "AuditPage",
    "ClientIn",
    "ClientPatch",
    "CredentialIn",
    "CredentialPage",
    "CredentialPatch",
    "EnforceUnconfirmedOut",
    "ErrorOut",
    "FolderIn",
    "ImportRejectedOut",
    "LoginIn",
    "LoginOut",
    "PasswordIn",
    "PurgedOut",
    "SyncModeIn",
    "WhoAmIOut",
]

Timestamp = str  # ISO 8601, UTC, e.g. 2026-12-01T12:00:00Z

# Fields the vault checks too: refused in its words (see credsync.api.fields).
ClientName = Annotated[
    str, Checked("client name", lambda v: clean_name(v, "client name", 200), 200, 1)
]
Title = Annotated[
    str, Checked("title", lambda v: clean_name(v, "title", 255, field="title"), 255, 1)
]
Username = Annotated[
    str, Checked("username", lambda v: clean_text(v, "username", 512, field="username"), 512)
]
Url = Annotated[str, Checked("url", lambda v: clean_text(v, "url", 2048, field="url"), 2048)]
Notes = Annotated[
    str,
    Checked(
        "notes",
        lambda v: clean_text(v, "notes", MAX_NOTES_CHARS, multiline=True, field="notes"),
        65536,
    ),
]
CredentialTypeName = Annotated[str, Checked("credential type", parse_type, 32)]
Tags = Annotated[list[str], Checked("tags", clean_tags, 50)]
FolderPath = Annotated[str, Checked("folder path", clean_path, 1024)]
NewFolderPath = Annotated[str, Checked("folder path", clean_path, 500, 1)]
Password = Annotated[str, Checked("password", lambda v: clean_secret(Secret(v)), 16384, 1)]
PolicyName = Annotated[str, Checked("password policy name", lambda v: None, 64)]
Reason = Annotated[str, Checked("reason", lambda v: clean_text(v, "reason", 500), 500)]


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
    otp: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        description="The code of the operator's authenticator app, or one of their recovery "
        "codes: needed when the operator has a second factor (else 401 mfa_required).",
    )


class WhoAmIOut(BaseModel):
    name: str
    role: str
    permissions: list[str]
    via: str
    clients: list[ClientRefJson] | None = None
    """The clients the operator may reach (client access); null: every client."""
    mfa: bool = False
    """Whether this sign-in (or its session) passed the second factor."""


class LoginOut(BaseModel):
    operator: WhoAmIOut
    csrf_token: str
    expires_at: Timestamp


# -- clients ---------------------------------------------------------------------------------
RotateEvery = Annotated[
    int | None,
    Field(
        ge=0,
        le=MAX_DAYS,
        description="Days between password changes; a credential whose password is older is "
        "overdue (0 or null: no rotation).",
    ),
]


class ClientIn(_In):
    name: ClientName
    directory_sync: bool = False
    default_sync_mode: SyncModeName = "report"
    rotate_every_days: RotateEvery = None


class ClientPatch(_In):
    """Only the fields given change; ``version``: refuse if the client changed since."""

    name: ClientName | None = None
    directory_sync: bool | None = None
    default_sync_mode: SyncModeName | None = None
    rotate_every_days: RotateEvery = None
    """Given (null or 0 included): the new interval; left out: unchanged."""
    archived: bool | None = None
    version: int | None = Field(default=None, ge=1)


# -- credentials -----------------------------------------------------------------------------
class CredentialPage(TypedDict):
    items: list[CredentialJson]
    next_cursor: str | None


class PasswordIn(_In):
    """A new password: ``password``, or ``generate`` with an optional named ``policy``."""

    password: Password | None = None
    generate: bool = False
    policy: PolicyName | None = None
    reason: Reason | None = None
    version: int | None = Field(default=None, ge=1)


class CredentialIn(_In):
    title: Title
    username: Username = ""
    password: Password | None = None
    generate: bool = False
    policy: PolicyName | None = None
    url: Url = ""
    notes: Notes | None = None
    type: CredentialTypeName | None = None
    tags: Tags = Field(default_factory=list)
    folder: FolderPath | None = None
    sync_mode: SyncModeName | None = None
    allow_duplicate: bool = Field(
        default=False,
        description="Add it even when the client has a credential with the same folder, title "
        "and username (else 409 duplicate_credential, as an import refuses it).",
    )


class CredentialPatch(_In):
    title: Title | None = None
    username: Username | None = None
    url: Url | None = None
    notes: Notes | None = None
    type: CredentialTypeName | None = None
    tags: Tags | None = None
    folder: FolderPath | None = None
    version: int | None = Field(default=None, ge=1)
    allow_duplicate: bool = Field(
        default=False,
        description="Save even when the new folder, title or username makes it the same as "
        "another credential of the client (else 409 duplicate_credential).",
    )


class SyncModeIn(_In):
    """``inherit``: follow the client's default sync mode."""

    sync_mode: Literal["off", "report", "enforce", "two_way", "inherit"]
    version: int | None = Field(default=None, ge=1)
    confirm: bool = Field(
        default=False,
        description="Switching to enforce or two_way overwrites directory passwords: set true "
        "to go ahead.",
    )


class EnforceUnconfirmedBody(ErrorBody):
    enforce: EnforcePreviewJson | None = None


class EnforceUnconfirmedOut(BaseModel):
    """A conflict; for a switch to enforce to confirm (``confirm_enforce``), ``enforce.impact``
    lists each credential and directory account it concerns, and whether the next run
    overwrites the directory's password (``overwrite_now``)."""

    error: EnforceUnconfirmedBody


class PurgedOut(BaseModel):
    id: str
    purged: bool = True


# -- folders, CSV import ---------------------------------------------------------------------
class FolderIn(_In):
    path: NewFolderPath = Field(description='e.g. "Servers/DCs"')


class ImportRejectedBody(ErrorBody):
    report: ImportReportJson | None = None


class ImportRejectedOut(BaseModel):
    """An import refused whole; for a ``strict`` import with rejected rows (nothing was
    written), ``report`` says which rows and why."""

    error: ImportRejectedBody


# -- the audit log ---------------------------------------------------------------------------
class AuditPage(TypedDict):
    items: list[AuditEntryJson]
    next_cursor: str | None
