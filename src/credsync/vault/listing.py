"""Credential records as the services hand them out, made from storage rows, and the pages
(with their cursor) credential lists come in; and what every keyset-paged list shares
(:func:`page_of`, :func:`bad_cursor`): a page asks for one row more than it shows, and its
cursor names the last row shown."""

from __future__ import annotations

import base64
import functools
import json
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from sqlalchemy import Select
from sqlalchemy.engine import Connection

from credsync.errors import InvalidInput
from credsync.storage import credentials as credential_rows
from credsync.storage import link_reads
from credsync.storage.credentials import CredentialRow
from credsync.types import SyncMode
from credsync.vault._time import as_utc, as_utc_opt
from credsync.vault.models import Credential

__all__ = [
    "BAD_CURSOR",
    "Page",
    "bad_cursor",
    "credential_model",
    "credential_models",
    "credentials_in_title_order",
    "decode_cursor",
    "encode_cursor",
    "page_of",
]

T = TypeVar("T")
BAD_CURSOR = "cursor is not a cursor of this list"


def bad_cursor() -> InvalidInput:
    """The refusal of a cursor that no page of the list gave (a 400 naming ``cursor``)."""
    return InvalidInput(BAD_CURSOR, field="cursor")


def page_of(
    rows: Sequence[T], limit: int, cursor_of: Callable[[T], str]
) -> tuple[list[T], str | None]:
    """The first ``limit`` of ``rows`` (fetched with one more), and the next page's cursor
    (None: this is the last page)."""
    shown = list(rows[:limit])
    return shown, cursor_of(shown[-1]) if len(rows) > limit else None


class Page:
    """One page of credentials and the cursor of the next page (None at the end)."""

    def __init__(self, items: list[Credential], next_cursor: str | None) -> None:
        self.items = items
        self.next_cursor = next_cursor


def encode_cursor(title_key: str, cred_id: str) -> str:
    return base64.urlsafe_b64encode(json.dumps([title_key, cred_id]).encode()).decode()


def decode_cursor(cursor: str) -> tuple[str, str]:
    try:
        title_key, cred_id = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        return str(title_key), str(cred_id)
    except (ValueError, TypeError):
        raise InvalidInput(
            "the page cursor is not valid (use the one the last page gave)", field="cursor"
        ) from None


def credential_models(conn: Connection, rows: Sequence[CredentialRow]) -> list[Credential]:
    """The records of ``rows``, with their tags and the directories whose password the vault
    does not know (two statements for the whole page)."""
    ids = [r.id for r in rows]
    tags = credential_rows.tags_by_id(conn, ids)
    unknown = link_reads.password_unknown_in(conn, ids) if ids else {}
    return [credential_model(r, tags.get(r.id, ()), tuple(unknown.get(r.id, ()))) for r in rows]


@functools.cache
def _page_query() -> Select[Any]:
    """A credential row with its tags and its unknown passwords' directories (PostgreSQL
    arrays), built once."""
    return credential_rows.with_columns(
        credential_rows.tag_array(), link_reads.password_unknown_names()
    )


def credentials_in_title_order(conn: Connection, ids: Sequence[str]) -> list[Credential]:
    """The records of ``ids`` by title: on PostgreSQL in one statement, each row with its
    tags and unknown passwords' directories as arrays (one round trip, not three)."""
    if conn.dialect.name != "postgresql":
        return credential_models(conn, credential_rows.in_title_order(conn, ids))
    return [
        credential_model(row, tuple(sorted(tags or ())), tuple(unknown or ()))
        for row, (tags, unknown) in credential_rows.in_title_order_with(conn, ids, _page_query())
    ]


def credential_model(
    row: CredentialRow, tags: tuple[str, ...], password_unknown_in: tuple[str, ...] = ()
) -> Credential:
    own = SyncMode(row.sync_mode) if row.sync_mode else None
    return Credential(
        id=row.id,
        client_id=row.client_id,
        client_name=row.client_name,
        folder=row.folder_path,
        title=row.title,
        username=row.username,
        url=row.url,
        type=row.type,
        tags=tags,
        sync_mode=own,
        effective_sync_mode=own or SyncMode(row.client_default_sync_mode),
        has_notes=row.notes_ct is not None,
        secret_version=row.secret_version,
        version=row.version,
        created_at=as_utc(row.created_at),
        created_by=row.created_by,
        updated_at=as_utc(row.updated_at),
        updated_by=row.updated_by,
        password_changed_at=as_utc(row.password_changed_at),
        deleted_at=as_utc_opt(row.deleted_at),
        deleted_by=row.deleted_by,
        password_unknown_in=password_unknown_in,
    )
