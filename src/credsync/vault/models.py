"""Domain records handed out by the vault services. None of them holds a secret in the clear
except :class:`RevealedCredential` and :class:`HistoryEntry`, whose secrets are
:class:`~credsync.types.Secret` values that never print."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from credsync.types import Secret, SyncMode

__all__ = [
    "ApiToken",
    "AuditEntry",
    "Client",
    "Credential",
    "Folder",
    "HistoryEntry",
    "Operator",
    "RevealedCredential",
    "Role",
]


def iso(value: dt.datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


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

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "directory_sync": self.directory_sync,
            "default_sync_mode": str(self.default_sync_mode),
            "archived": self.archived_at is not None,
            "archived_at": iso(self.archived_at),
            "version": self.version,
            "created_at": iso(self.created_at),
            "updated_at": iso(self.updated_at),
        }
        if self.credential_count is not None:
            data["credential_count"] = self.credential_count
        return data


@dataclass(frozen=True)
class Folder:
    id: str
    client_id: str
    path: str
    created_at: dt.datetime

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "client_id": self.client_id,
            "path": self.path,
            "created_at": iso(self.created_at),
        }


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

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "client_id": self.client_id,
            "client": self.client_name,
            "folder": self.folder,
            "title": self.title,
            "username": self.username,
            "url": self.url,
            "type": self.type,
            "tags": list(self.tags),
            "sync_mode": str(self.sync_mode) if self.sync_mode else None,
            "effective_sync_mode": str(self.effective_sync_mode),
            "has_notes": self.has_notes,
            "secret_version": self.secret_version,
            "version": self.version,
            "created_at": iso(self.created_at),
            "created_by": self.created_by,
            "updated_at": iso(self.updated_at),
            "updated_by": self.updated_by,
            "password_changed_at": iso(self.password_changed_at),
            "deleted": self.deleted_at is not None,
            "deleted_at": iso(self.deleted_at),
            "deleted_by": self.deleted_by,
        }


@dataclass(frozen=True)
class RevealedCredential:
    credential: Credential
    password: Secret
    notes: Secret | None

    def to_json(self) -> dict[str, Any]:
        data = self.credential.to_json()
        data["password"] = self.password.reveal()
        data["notes"] = self.notes.reveal() if self.notes is not None else None
        return data


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

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "credential_id": self.credential_id,
            "version": self.version,
            "current": self.current,
            "source": self.source,
            "reason": self.reason,
            "created_at": iso(self.created_at),
            "created_by": self.created_by,
        }
        if self.password is not None:
            data["password"] = self.password.reveal()
        return data


@dataclass(frozen=True)
class Role:
    name: str
    description: str
    permissions: tuple[str, ...]
    builtin: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "permissions": list(self.permissions),
            "builtin": self.builtin,
        }


@dataclass(frozen=True)
class Operator:
    id: str
    name: str
    role: str
    created_at: dt.datetime
    disabled_at: dt.datetime | None = None
    last_login_at: dt.datetime | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "role": self.role,
            "disabled": self.disabled_at is not None,
            "created_at": iso(self.created_at),
            "last_login_at": iso(self.last_login_at),
        }


@dataclass(frozen=True)
class ApiToken:
    id: str
    operator: str
    name: str
    created_at: dt.datetime
    expires_at: dt.datetime | None
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "operator": self.operator,
            "name": self.name,
            "created_at": iso(self.created_at),
            "expires_at": iso(self.expires_at),
            "last_used_at": iso(self.last_used_at),
            "revoked": self.revoked_at is not None,
        }


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

    def to_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "at": iso(self.at),
            "actor": self.actor,
            "action": self.action,
            "target_type": self.target_type,
            "target_id": self.target_id,
            "client_id": self.client_id,
            "details": self.details,
            "hash": self.hash,
        }
