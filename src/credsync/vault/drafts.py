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
from credsync.storage.bulk import bulk_insert, db_value
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
        raise InvalidInput(
            f"credential type must be one of {choices}, not {value!r}", field="type"
        ) from None


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
        title=clean_name(title, "title", 255, field="title"),
        username=clean_text(username, "username", 512, field="username"),
        url=clean_text(url, "url", 2048, field="url"),
        password=clean_secret(password),
        notes=clean_text(notes, "notes", MAX_NOTES_CHARS, multiline=True, field="notes") or None,
        type=type_ if isinstance(type_, CredentialType) else parse_type(type_),
        tags=clean_tags(list(tags or ())),
        sync_mode=sync_mode,
        folder_path=clean_path(folder_path) if folder_path else None,
    )


_CREDENTIAL_COLUMNS = (
    "id",
    "client_id",
    "folder_id",
    "title",
    "title_key",
    "username",
    "url",
    "type",
    "sync_mode",
    "notes_ct",
    "secret_version",
    "version",
    "created_at",
    "created_by",
    "updated_at",
    "updated_by",
    "password_changed_at",
)
_SECRET_COLUMNS = (
    "credential_id",
    "version",
    "ciphertext",
    "source",
    "reason",
    "created_at",
    "created_by",
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
    stamp = db_value(conn, credentials, "created_at", now)
    cred_rows: list[tuple[Any, ...]] = []
    secret_rows: list[tuple[Any, ...]] = []
    tag_rows: list[tuple[str, str]] = []
    term_rows: list[tuple[str, str, str]] = []
    ids: list[str] = []
    for draft, folder_id in drafts:
        cred_id = new_id()
        ids.append(cred_id)
        notes_ct = key.seal_text(cred_id, 0, "notes", draft.notes) if draft.notes else None
        cred_rows.append(
            (
                cred_id,
                client_id,
                folder_id,
                draft.title,
                draft.title.casefold()[:255],
                draft.username,
                draft.url,
                draft.type.value,
                draft.sync_mode.value if draft.sync_mode else None,
                notes_ct,
                1,
                1,
                stamp,
                actor_name,
                stamp,
                actor_name,
                stamp,
            )
        )
        secret_rows.append(
            (
                cred_id,
                1,
                key.seal_text(cred_id, 1, "password", draft.password.reveal()),
                source,
                reason,
                stamp,
                actor_name,
            )
        )
        tag_rows.extend((cred_id, tag) for tag in draft.tags)
        term_rows.extend(
            (client_id, term, cred_id)
            for term in terms_for(draft.title, draft.username, draft.url, draft.tags)
        )
    bulk_insert(conn, credentials, _CREDENTIAL_COLUMNS, cred_rows)
    bulk_insert(conn, secret_versions, _SECRET_COLUMNS, secret_rows)
    bulk_insert(conn, credential_tags, ("credential_id", "tag"), tag_rows)
    term_rows.sort()  # in key order: each batch lands in neighbouring B-tree pages
    bulk_insert(conn, search_terms, ("client_id", "term", "credential_id"), term_rows)
    return ids
