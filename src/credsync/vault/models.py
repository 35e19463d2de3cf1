"""Domain records handed out by the vault services, and the JSON shape of each.

None of the records holds a secret in the clear except :class:`RevealedCredential` and
:class:`HistoryEntry`, whose secrets are :class:`~credsync.types.Secret` values that never
print.

A record's JSON shape is declared once, as a ``TypedDict`` next to it (``Client`` ->
``ClientJson``), and its ``to_json`` returns that type, so mypy checks the keys and types it
builds. Every boundary uses it: the CLI's ``--json`` prints it, the API answers it (the
``TypedDict`` is the route's ``response_model``: pydantic validates and documents it, taking
each field's description from the docstring under it), and the dashboard reads it. The vault
itself never imports pydantic (``typing_extensions.TypedDict``: pydantic needs it before
Python 3.12). Timestamps are ISO 8601 text in UTC, e.g. ``2026-12-01T12:00:00Z``
(:func:`iso`). The records of who uses the vault (roles, operators, API tokens) are declared in
:mod:`credsync.vault.people_models` and named here too.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, NotRequired

from typing_extensions import TypedDict

from credsync.types import Secret, SyncMode, SyncModeName
from credsync.vault._time import Timestamp, iso
from credsync.vault.people_models import (
    ApiToken,
    ApiTokenJson,
    ClientRefJson,
    NewApiTokenJson,
    Operator,
    OperatorJson,
    PasswordChange,
    PasswordChangeJson,
    Role,
    RoleJson,
    TokensRevoked,
    TokensRevokedJson,
)

__all__ = [
    "ApiToken",
    "ApiTokenJson",
    "AuditEntry",
    "AuditEntryJson",
    "Client",
    "ClientJson",
    "ClientRefJson",
    "Credential",
    "CredentialJson",
    "Folder",
    "FolderJson",
    "HistoryEntry",
    "HistoryEntryJson",
    "NewApiTokenJson",
    "Operator",
    "OperatorJson",
    "PasswordChange",
    "PasswordChangeJson",
    "RevealedCredential",
    "RevealedCredentialJson",
    "Role",
    "RoleJson",
    "Timestamp",
    "TokensRevoked",
    "TokensRevokedJson",
    "iso",
]


class ClientJson(TypedDict):
    id: str
    name: str
    directory_sync: bool
    """Off: nothing of this client touches a directory."""
    default_sync_mode: SyncModeName
    """The sync mode of the client's credentials that have none of their own."""
    rotate_every_days: int | None
    """Days between password changes (null: no rotation asked)."""
    archived: bool
    archived_at: Timestamp | None
    version: int
    created_at: Timestamp
    updated_at: Timestamp
    credential_count: NotRequired[int | None]
    """How many credentials it holds outside the trash (of those the caller may see)."""
    overdue_count: NotRequired[int | None]
    """How many of those credentials are overdue: password last changed more than
    rotate_every_days ago (0 without an interval)."""
    open_flags: NotRequired[int | None]
    """How many open flags it has."""


@dataclass(frozen=True)
class Client:
    id: str
    name: str
    directory_sync: bool
    default_sync_mode: SyncMode
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime
    archived_at: dt.datetime | None = None
    credential_count: int | None = None
    rotate_every_days: int | None = None
    overdue_count: int | None = None

    def to_json(self, *, open_flags: int | None = None) -> ClientJson:
        """With ``open_flags`` (what :meth:`Flags.counts` says of it) when given."""
        data = ClientJson(
            id=self.id,
            name=self.name,
            directory_sync=self.directory_sync,
            default_sync_mode=self.default_sync_mode.value,
            rotate_every_days=self.rotate_every_days,
            archived=self.archived_at is not None,
            archived_at=iso(self.archived_at),
            version=self.version,
            created_at=iso(self.created_at),
            updated_at=iso(self.updated_at),
        )
        if self.credential_count is not None:
            data["credential_count"] = self.credential_count
        if self.overdue_count is not None:
            data["overdue_count"] = self.overdue_count
        if open_flags is not None:
            data["open_flags"] = open_flags
        return data


class FolderJson(TypedDict):
    id: str
    client_id: str
    path: str
    """Its place in the client's tree of folders, e.g. "Servers/DCs"."""
    created_at: Timestamp


@dataclass(frozen=True)
class Folder:
    id: str
    client_id: str
    path: str
    created_at: dt.datetime

    def to_json(self) -> FolderJson:
        return FolderJson(
            id=self.id, client_id=self.client_id, path=self.path, created_at=iso(self.created_at)
        )


class CredentialJson(TypedDict):
    id: str
    client_id: str
    client: str
    """The client's name."""
    folder: str | None
    """The folder's path (null: none)."""
    title: str
    username: str
    url: str
    type: str
    tags: list[str]
    sync_mode: SyncModeName | None
    """Its own sync mode (null: it follows the client's default)."""
    effective_sync_mode: SyncModeName
    """The sync mode that applies: its own, or the client's default."""
    has_notes: bool
    secret_version: int
    """The version of its password (the history keeps every one)."""
    version: int
    created_at: Timestamp
    created_by: str
    updated_at: Timestamp
    updated_by: str
    password_changed_at: Timestamp
    deleted: bool
    """In the trash."""
    deleted_at: Timestamp | None
    deleted_by: str | None
    password_unknown_in: list[str]
    """The directories (by name) whose password for this credential's account the vault does
    not know: an operator accepted the directory's state without giving its password. Its
    status there is ``password_unknown`` until a password is set in the vault (checked at the
    next run), or the directory's is accepted with the password, or the vault's is pushed.
    Empty when the vault knows them all."""


@dataclass(frozen=True)
class Credential:
    id: str
    client_id: str
    client_name: str
    folder: str | None
    title: str
    username: str
    url: str
    type: str
    tags: tuple[str, ...]
    sync_mode: SyncMode | None  # None: inherits the client's default
    effective_sync_mode: SyncMode
    has_notes: bool
    secret_version: int
    version: int
    created_at: dt.datetime
    created_by: str
    updated_at: dt.datetime
    updated_by: str
    password_changed_at: dt.datetime
    deleted_at: dt.datetime | None = None
    deleted_by: str | None = None
    password_unknown_in: tuple[str, ...] = ()  # directory names (see CredentialJson)

    def to_json(self) -> CredentialJson:
        return CredentialJson(
            id=self.id,
            client_id=self.client_id,
            client=self.client_name,
            folder=self.folder,
            title=self.title,
            username=self.username,
            url=self.url,
            type=self.type,
            tags=list(self.tags),
            sync_mode=self.sync_mode.value if self.sync_mode else None,
            effective_sync_mode=self.effective_sync_mode.value,
            has_notes=self.has_notes,
            secret_version=self.secret_version,
            version=self.version,
            created_at=iso(self.created_at),
            created_by=self.created_by,
            updated_at=iso(self.updated_at),
            updated_by=self.updated_by,
            password_changed_at=iso(self.password_changed_at),
            deleted=self.deleted_at is not None,
            deleted_at=iso(self.deleted_at),
            deleted_by=self.deleted_by,
            password_unknown_in=list(self.password_unknown_in),
        )


class RevealedCredentialJson(CredentialJson):
    password: str
    notes: str | None


@dataclass(frozen=True)
class RevealedCredential:
    credential: Credential
    password: Secret
    notes: Secret | None

    def to_json(self) -> RevealedCredentialJson:
        return RevealedCredentialJson(
            **self.credential.to_json(),
            password=self.password.reveal(),
            notes=self.notes.reveal() if self.notes is not None else None,
        )


class HistoryEntryJson(TypedDict):
    credential_id: str
    version: int
    current: bool
    """The credential's password now."""
    source: str
    reason: str
    created_at: Timestamp
    created_by: str
    password: NotRequired[str | None]
    """Only when the history is revealed."""


@dataclass(frozen=True)
class HistoryEntry:
    credential_id: str
    version: int
    source: str
    reason: str
    created_at: dt.datetime
    created_by: str
    current: bool
    password: Secret | None = None  # only when revealed

    def to_json(self) -> HistoryEntryJson:
        data = HistoryEntryJson(
            credential_id=self.credential_id,
            version=self.version,
            current=self.current,
            source=self.source,
            reason=self.reason,
            created_at=iso(self.created_at),
            created_by=self.created_by,
        )
        if self.password is not None:
            data["password"] = self.password.reveal()
        return data


class AuditEntryJson(TypedDict):
    seq: int
    at: Timestamp
    actor: str
    """The operator's name."""
    action: str
    target_type: str
    target_id: str
    target_name: str | None
    """What the target id names today (a credential's title, a client's or directory's name,
    a folder's path, an operator's name): null when it is gone (purged, removed) or not the
    reader's to see."""
    client_id: str | None
    client_name: str | None
    """The client's name (null when the entry concerns no client, or the reader may not
    read the vault)."""
    details: dict[str, Any]
    hash: str
    """This entry's link in the hash chain (see ``audit verify``)."""


@dataclass(frozen=True)
class AuditEntry:
    seq: int
    at: dt.datetime
    actor: str
    action: str
    target_type: str
    target_id: str
    client_id: str | None
    details: dict[str, Any] = field(default_factory=dict)
    hash: str = ""
    target_name: str | None = None
    client_name: str | None = None

    def to_json(self) -> AuditEntryJson:
        return AuditEntryJson(
            seq=self.seq,
            at=iso(self.at),
            actor=self.actor,
            action=self.action,
            target_type=self.target_type,
            target_id=self.target_id,
            target_name=self.target_name,
            client_id=self.client_id,
            client_name=self.client_name,
            details=self.details,
            hash=self.hash,
        )
