"""The group export's table (``group_export_settings``): its owner.

A directory's settings are one row with a version (optimistic concurrency, as auto-create's);
what they mean and how they are checked: :mod:`credsync.sync.group_export_settings`.
"""

from __future__ import annotations

import datetime as dt
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from credsync.storage._rows import columns_for
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


_BASE = sa.select(*columns_for(SettingsRow, group_export_settings))


def settings_of(conn: Connection, directory_id: str) -> SettingsRow | None:
    row = conn.execute(_BASE.where(group_export_settings.c.directory_id == directory_id)).first()
    return None if row is None else SettingsRow(*row)


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
    done = conn.execute(
        group_export_settings.update()
        .where(
            group_export_settings.c.directory_id == row.directory_id,
            group_export_settings.c.version == row.version - 1,
        )
        .values(**values)
    )
    return bool(done.rowcount == 1)


def forget_directory(conn: Connection, directory_id: str) -> None:
    """A removed directory takes its settings with it."""
    conn.execute(
        group_export_settings.delete().where(group_export_settings.c.directory_id == directory_id)
    )
