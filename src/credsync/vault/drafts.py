"""Validated input for a new credential, and the bulk insert that adds many in one transaction
(used both by ``cred add`` and by CSV import)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.engine import Connection

from credsync.crypto import DataKey
from credsync.errors import InvalidInput
from credsync.storage import credentials as credential_rows
from credsync.storage import search as search_index
from credsync.storage import secrets as secret_rows
from credsync.storage.credentials import NewCredential
from credsync.types import CredentialType, Secret, SyncMode, new_id
from credsync.vault.search import credential_terms
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
    items: list[NewCredential] = []
    secrets: list[tuple[str, bytes]] = []
    term_rows: list[tuple[str, str, str]] = []
    for draft, folder_id in drafts:
        cred_id = new_id()
        notes_ct = key.seal_text(cred_id, 0, "notes", draft.notes) if draft.notes else None
        items.append(
            NewCredential(
                id=cred_id,
                folder_id=folder_id,
                title=draft.title,
                username=draft.username,
                url=draft.url,
                type=draft.type.value,
                sync_mode=draft.sync_mode.value if draft.sync_mode else None,
                notes_ct=notes_ct,
                tags=draft.tags,
            )
        )
        secrets.append((cred_id, key.seal_text(cred_id, 1, "password", draft.password.reveal())))
        term_rows.extend(
            (client_id, term, cred_id)
            for term in credential_terms(draft.title, draft.username, draft.url, draft.tags)
        )
    credential_rows.add_many(conn, client_id, items, by=actor_name, now=now)
    secret_rows.add_first(conn, secrets, source=source, reason=reason, now=now, by=actor_name)
    search_index.add_terms(conn, term_rows)
    return [item.id for item in items]
