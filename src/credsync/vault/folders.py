"""Folders inside a client: a path like ``Servers/Domain controllers``."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from credsync.errors import InvalidInput, NotFound
from credsync.storage.tables import credentials, folders
from credsync.types import new_id
from credsync.vault._time import as_utc, utcnow
from credsync.vault.models import Folder
from credsync.vault.validate import clean_name, name_key

__all__ = ["clean_path", "ensure_folder", "find_folder", "folder_model", "list_folders"]


def clean_path(path: str) -> str:
    text = clean_name(path, "folder path", 500, field="folder")
    parts = [part.strip() for part in text.split("/")]
    parts = [p for p in parts if p]
    if not parts:
        raise InvalidInput("folder path must name at least one folder", field="folder")
    if any(p in (".", "..") for p in parts):
        raise InvalidInput("folder path must not contain '.' or '..'", field="folder")
    return "/".join(parts)


def folder_model(row: Any) -> Folder:
    return Folder(row.id, row.client_id, row.path, as_utc(row.created_at))


def find_folder(conn: Connection, client_id: str, path: str) -> Any:
    path = clean_path(path)
    row = conn.execute(
        sa.select(folders).where(
            folders.c.client_id == client_id, folders.c.path_key == name_key(path)
        )
    ).first()
    if row is None:
        raise NotFound(f"no folder {path!r} in this client")
    return row


def ensure_folder(conn: Connection, client_id: str, path: str) -> tuple[str, bool]:
    """The folder's id, creating it when missing; the flag says whether it was created."""
    path = clean_path(path)
    key = name_key(path)
    found = conn.execute(
        sa.select(folders.c.id).where(folders.c.client_id == client_id, folders.c.path_key == key)
    ).scalar()
    if found is not None:
        return found, False
    folder_id = new_id()
    conn.execute(
        folders.insert().values(
            id=folder_id, client_id=client_id, path=path, path_key=key, created_at=utcnow()
        )
    )
    return folder_id, True


def list_folders(conn: Connection, client_id: str) -> list[Folder]:
    rows = conn.execute(
        sa.select(folders).where(folders.c.client_id == client_id).order_by(folders.c.path_key)
    )
    return [folder_model(r) for r in rows]


def delete_folder(conn: Connection, client_id: str, path: str) -> Folder:
    row = find_folder(conn, client_id, path)
    used = conn.execute(
        sa.select(sa.func.count()).select_from(credentials).where(credentials.c.folder_id == row.id)
    ).scalar_one()
    if used:
        raise InvalidInput(
            f"folder {row.path!r} still holds {used} credential(s), counting the trash: "
            "move or purge them first"
        )
    conn.execute(folders.delete().where(folders.c.id == row.id))
    return folder_model(row)
