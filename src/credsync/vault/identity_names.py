"""The names records of people and groups show: their client's and their directories'."""

from __future__ import annotations

from sqlalchemy.engine import Connection

from credsync.storage import clients as client_rows
from credsync.storage import directories as directory_rows
from credsync.vault.validate import name_key

__all__ = ["Names"]


class Names:
    """Client and directory names by id, each read once per instance."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._clients: dict[str, str] = {}
        self._directories: dict[str, str] = {}

    def client(self, client_id: str) -> str:
        if client_id not in self._clients:
            row = client_rows.find(self._conn, client_id, name_key(client_id))
            self._clients[client_id] = row.name if row is not None else client_id
        return self._clients[client_id]

    def directory(self, directory_id: str) -> str:
        if directory_id not in self._directories:
            row = directory_rows.find(self._conn, directory_id, name_key(directory_id))
            self._directories[directory_id] = str(row.name) if row is not None else directory_id
        return self._directories[directory_id]
