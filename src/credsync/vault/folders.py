"""Folders inside a client: a path like ``Servers/Domain controllers``."""

from __future__ import annotations

from sqlalchemy.engine import Connection

from credsync.errors import InvalidInput, NotFound
from credsync.storage import clients as client_rows
from credsync.storage import credentials as credential_rows
from credsync.storage.clients import FolderRow
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


def folder_model(row: FolderRow) -> Folder:
    return Folder(row.id, row.client_id, row.path, as_utc(row.created_at))


def find_folder(conn: Connection, client_id: str, path: str) -> FolderRow:
    path = clean_path(path)
    row = client_rows.find_folder(conn, client_id, name_key(path))
    if row is None:
        raise NotFound(f"no folder {path!r} in this client")
    return row


def ensure_folder(conn: Connection, client_id: str, path: str) -> tuple[str, bool]:
    """The folder's id, creating it when missing; the flag says whether it was created."""
    path = clean_path(path)
    key = name_key(path)
    found = client_rows.find_folder_id(conn, client_id, key)
    if found is not None:
        return found, False
    folder_id = new_id()
    client_rows.add_folder(
        conn, folder_id=folder_id, client_id=client_id, path=path, path_key=key, now=utcnow()
    )
    return folder_id, True


def list_folders(conn: Connection, client_id: str) -> list[Folder]:
    return [folder_model(r) for r in client_rows.folders_of(conn, client_id)]


def delete_folder(conn: Connection, client_id: str, path: str) -> Folder:
    row = find_folder(conn, client_id, path)
    used = credential_rows.count_in_folder(conn, row.id)
    if used:
        raise InvalidInput(
            f"folder {row.path!r} still holds {used} credential(s), counting the trash: "
            "move or purge them first"
        )
    client_rows.delete_folder(conn, row.id)
    return folder_model(row)
