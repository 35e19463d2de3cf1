"""The group export's table (``group_export_settings``): its owner.

A directory's settings are one row with a version (optimistic concurrency, as auto-create's);
what they mean and how they are checked: :mod:`credsync.sync.group_export_settings`.
"""

from __future__ import annotations

import datetime as dt
from typing import NamedTuple

from sqlalchemy.engine import Connection

from credsync.storage import _directory_settings as shared
from credsync.storage.tables import group_export_settings

__all__ = ["SettingsRow", "forget_directory", "save", "settings_of"]


class SettingsRow(NamedTuple):
    directory_id: str
    client_id: str
    matching: str
    create_missing: bool
    remove_duplicates: bool
    membership_source: str
    version: int
    updated_at: dt.datetime
    updated_by: str


def settings_of(conn: Connection, directory_id: str) -> SettingsRow | None:
    return shared.settings_of(conn, SettingsRow, group_export_settings, directory_id)


def save(conn: Connection, row: SettingsRow) -> bool:
    """Store ``row`` as its version (1: the first). False when someone else stored that
    version first (the caller read an older one)."""
    values = row._asdict()
    if row.version == 1:
        if settings_of(conn, row.directory_id) is not None:
            return False
        conn.execute(group_export_settings.insert().values(**values))
        return True
    del values["directory_id"], values["client_id"]
    update = shared.update_from(group_export_settings, row.directory_id, row.version, values)
    done = conn.execute(update)
    return bool(done.rowcount == 1)


def forget_directory(conn: Connection, directory_id: str) -> None:
    """A removed directory takes its settings with it."""
    conn.execute(
        group_export_settings.delete().where(group_export_settings.c.directory_id == directory_id)
    )
