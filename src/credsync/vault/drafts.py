"""Validated input for a new credential, and the bulk insert that adds many in one transaction
(used both by ``cred add`` and by CSV import)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Connection

from credsync.crypto import DataKey
from credsync.errors import InvalidInput
from credsync.storage.tables import credential_tags, credentials, search_terms, secret_versions
from credsync.types import CredentialType, Secret, SyncMode, new_id
from credsync.vault.search import terms_for
from credsync.vault.validate import (
    MAX_NOTES_CHARS,
    clean_name,
    clean_secret,
    clean_tags,
    clean_text,
    name_key,
)

__all__ = ["Draft", "insert_drafts", "make_draft", "parse_type"]


def parse_type(value: str | None) -> CredentialType:
    if not value:
        return CredentialType.LOGIN
    try:
        return CredentialType(value.strip().lower())
    except ValueError:
        choices = ", ".join(t.value for t in CredentialType)
        raise InvalidInput(f"credential type must be one of {choices}, not {value!r}") from None


@dataclass(frozen=True, repr=False)
class Draft:
    title: str
    username: str
    url: str
    password: Secret
    notes: str | None
    type: CredentialType
    tags: tuple[str, ...]
    sync_mode: SyncMode | None
    folder_path: str | None

    def __repr__(self) -> str:
        return f"Draft(title={self.title!r}, username={self.username!r})"

    @property
    def identity(self) -> tuple[str, str, str]:
        """What makes two credentials "the same" for duplicate detection on import."""
        return (name_key(self.folder_path or ""), self.title.casefold(), self.username.casefold())


def make_draft(
    *,
    title: str,
    password: Secret,
    username: str | None = None,
    url: str | None = None,
    notes: str | None = None,
    type_: str | CredentialType | None = None,
    tags: Sequence[str] | None = None,
    sync_mode: SyncMode | None = None,
    folder_path: str | None = None,
) -> Draft:
    from credsync.vault.folders import clean_path

    return Draft(
        title=clean_name(title, "title", 255),
        username=clean_text(username, "username", 512),
        url=clean_text(url, "url", 2048),
        password=clean_secret(password),
        notes=clean_text(notes, "notes", MAX_NOTES_CHARS, multiline=True) or None,
        type=type_ if isinstance(type_, CredentialType) else parse_type(type_),
        tags=clean_tags(list(tags or ())),
        sync_mode=sync_mode,
        folder_path=clean_path(folder_path) if folder_path else None,
    )


def insert_drafts(
    conn: Connection,
    *,
    client_id: str,
    key: DataKey,
    drafts: Sequence[tuple[Draft, str | None]],
    actor_name: str,
    source: str,
    reason: str,
    now: dt.datetime,
) -> list[str]:
    """Insert (draft, folder_id) pairs with executemany; returns the new ids in order."""
    cred_rows: list[dict[str, Any]] = []
    secret_rows: list[dict[str, Any]] = []
    tag_rows: list[dict[str, Any]] = []
    term_rows: list[dict[str, Any]] = []
    ids: list[str] = []
    for draft, folder_id in drafts:
        cred_id = new_id()
        ids.append(cred_id)
        cred_rows.append(
            {
                "id": cred_id,
                "client_id": client_id,
                "folder_id": folder_id,
                "title": draft.title,
                "title_key": draft.title.casefold()[:255],
                "username": draft.username,
                "url": draft.url,
                "type": draft.type.value,
                "sync_mode": draft.sync_mode.value if draft.sync_mode else None,
                "notes_ct": key.seal_text(cred_id, 0, "notes", draft.notes)
                if draft.notes
                else None,
                "secret_version": 1,
                "version": 1,
                "created_at": now,
                "created_by": actor_name,
                "updated_at": now,
                "updated_by": actor_name,
                "password_changed_at": now,
            }
        )
        secret_rows.append(
            {
                "credential_id": cred_id,
                "version": 1,
                "ciphertext": key.seal_text(cred_id, 1, "password", draft.password.reveal()),
                "source": source,
                "reason": reason,
                "created_at": now,
                "created_by": actor_name,
            }
        )
        tag_rows.extend({"credential_id": cred_id, "tag": tag} for tag in draft.tags)
        term_rows.extend(
            {"term": term, "credential_id": cred_id, "client_id": client_id}
            for term in terms_for(draft.title, draft.username, draft.url, draft.tags)
        )
    if cred_rows:
        conn.execute(credentials.insert(), cred_rows)
        conn.execute(secret_versions.insert(), secret_rows)
    if tag_rows:
        conn.execute(credential_tags.insert(), tag_rows)
    if term_rows:
        conn.execute(search_terms.insert(), term_rows)
    return ids
