"""A client's credentials as the CSV export reads them (read-only; the tables are
:mod:`credsync.storage.credentials`'): each live credential with its current sealed secret
and folder path, in title order, and the tags of each.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from credsync.storage._rows import columns_for, record, repr_without
from credsync.storage.credentials import visible
from credsync.storage.tables import credential_tags, credentials, folders, secret_versions

__all__ = ["ExportRow", "export_count", "export_rows", "tags_in_client"]


class ExportRow(NamedTuple):
    id: str
    title: str
    username: str
    url: str
    type: str
    sync_mode: str | None
    secret_version: int
    notes_ct: bytes | None
    folder_path: str | None
    ciphertext: bytes

    def __repr__(self) -> str:
        return repr_without(self, ("notes_ct", "ciphertext"))


def _export_query(client_id: str, include_directory_admin: bool) -> sa.Select[Any]:
    return (
        sa.select(*columns_for(ExportRow, credentials, secret_versions, folder_path=folders.c.path))
        .join(
            secret_versions,
            sa.and_(
                secret_versions.c.credential_id == credentials.c.id,
                secret_versions.c.version == credentials.c.secret_version,
            ),
        )
        .outerjoin(folders, folders.c.id == credentials.c.folder_id)
        .where(credentials.c.client_id == client_id, credentials.c.deleted_at.is_(None))
        .where(visible(include_directory_admin))
        .order_by(credentials.c.title_key, credentials.c.id)
    )


def export_count(conn: Connection, client_id: str, *, include_directory_admin: bool) -> int:
    """How many credentials :func:`export_rows` yields."""
    inner = _export_query(client_id, include_directory_admin).subquery()
    return int(conn.execute(sa.select(sa.func.count()).select_from(inner)).scalar_one())


def export_rows(
    conn: Connection, client_id: str, *, include_directory_admin: bool
) -> Iterator[ExportRow]:
    """The client's credentials outside the trash, in title order, with their current sealed
    secret."""
    for row in conn.execute(_export_query(client_id, include_directory_admin)):
        yield record(ExportRow, row)


def tags_in_client(conn: Connection, client_id: str) -> dict[str, list[str]]:
    """The tags of each of the client's credentials that has any, sorted."""
    out: dict[str, list[str]] = {}
    rows = conn.execute(
        sa.select(credential_tags.c.credential_id, credential_tags.c.tag)
        .join(credentials, credentials.c.id == credential_tags.c.credential_id)
        .where(credentials.c.client_id == client_id)
        .order_by(credential_tags.c.tag)
    )
    for row in rows:
        out.setdefault(row.credential_id, []).append(row.tag)
    return out
