"""Credentials that are the same by folder, title and username (case aside): what an import
refuses as duplicates, and adding or editing one unless a duplicate is allowed. Read from
``credentials`` and ``folders`` (written by :mod:`.credentials` and :mod:`.clients`)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from credsync.storage.credentials import title_key, visible
from credsync.storage.tables import credentials, folders

__all__ = ["Twin", "identities", "same_identity"]


class Twin(NamedTuple):
    """A credential with the same folder, title and username as another (its folder's path,
    None for none)."""

    id: str
    title: str
    username: str
    folder: str | None


def same_identity(
    conn: Connection,
    client_id: str,
    folder_id: str | None,
    title: str,
    username: str,
    *,
    include_directory_admin: bool,
    besides: str | None = None,
) -> Twin | None:
    """The oldest credential of the client outside the trash, other than ``besides``, with the
    same folder, title and username (case aside), or None (of the directory_admin ones only
    with ``include_directory_admin``)."""
    query = (
        sa.select(credentials.c.id, credentials.c.title, credentials.c.username, folders.c.path)
        .outerjoin(folders, folders.c.id == credentials.c.folder_id)
        .where(
            credentials.c.client_id == client_id,
            credentials.c.title_key == title_key(title),
            credentials.c.deleted_at.is_(None),
            credentials.c.folder_id.is_(None)
            if folder_id is None
            else credentials.c.folder_id == folder_id,
            visible(include_directory_admin),
        )
    )
    if besides is not None:
        query = query.where(credentials.c.id != besides)
    wanted = username.casefold()
    for row in conn.execute(query.order_by(credentials.c.created_at, credentials.c.id)):
        if row.username.casefold() == wanted:
            return Twin(row.id, row.title, row.username, row.path)
    return None


def identities(
    conn: Connection, client_id: str, *, include_directory_admin: bool
) -> Iterator[tuple[str | None, str, str]]:
    """(folder path key, title, username) of each of the client's credentials outside the
    trash (directory_admin ones only with ``include_directory_admin``)."""
    rows = conn.execute(
        sa.select(folders.c.path_key, credentials.c.title, credentials.c.username)
        .select_from(credentials)
        .outerjoin(folders, folders.c.id == credentials.c.folder_id)
        .where(credentials.c.client_id == client_id, credentials.c.deleted_at.is_(None))
        .where(visible(include_directory_admin))
    )
    for row in rows:
        yield row.path_key, row.title, row.username
