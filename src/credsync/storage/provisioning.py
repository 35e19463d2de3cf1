"""Provisioning people's tables (``provisioning_settings``, ``provisioned_people``): their
owner.

A target directory's settings are one row (what they mean and how they are checked:
:mod:`credsync.vault.provisioning`), changed only from the version read. ``provisioned_people``
holds one row per directory user provisioning created or wrote a password to, keyed by
(directory, object id): the person it is, whether provisioning created it, and the primary
credential's secret version last set as its password (what makes a second apply write
nothing).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from credsync.storage import _directory_settings as shared
from credsync.storage._rows import columns_for, records
from credsync.storage.tables import provisioned_people, provisioning_settings

__all__ = [
    "ProvisionedRow",
    "SettingsRow",
    "forget_directory",
    "forget_users",
    "of_directory",
    "save_settings",
    "settings_of",
    "upsert_provisioned",
]


class SettingsRow(NamedTuple):
    directory_id: str
    username_template: str
    upn_suffix: str
    licence: str
    usage_location: str
    passwords: str
    version: int
    updated_at: dt.datetime
    updated_by: str


class ProvisionedRow(NamedTuple):
    directory_id: str
    object_id: str
    person_id: str
    created: int
    credential_id: str | None
    secret_version: int | None
    updated_at: dt.datetime
    updated_by: str


def settings_of(conn: Connection, directory_id: str) -> SettingsRow | None:
    return shared.settings_of(conn, SettingsRow, provisioning_settings, directory_id)


def save_settings(conn: Connection, row: SettingsRow) -> bool:
    """Store ``row`` as its ``version`` (1: the first). False when someone else stored that
    version first (the caller read an older one)."""
    values = row._asdict()
    if row.version == 1:
        if settings_of(conn, row.directory_id) is not None:
            return False
        conn.execute(provisioning_settings.insert().values(**values))
        return True
    del values["directory_id"]
    update = shared.update_from(provisioning_settings, row.directory_id, row.version, values)
    done = conn.execute(update)
    return bool(done.rowcount == 1)


def of_directory(conn: Connection, directory_id: str) -> dict[str, ProvisionedRow]:
    """Object id -> the directory's provisioned user row."""
    query = sa.select(*columns_for(ProvisionedRow, provisioned_people)).where(
        provisioned_people.c.directory_id == directory_id
    )
    return {r.object_id: r for r in records(ProvisionedRow, conn.execute(query))}


def upsert_provisioned(conn: Connection, found: Sequence[ProvisionedRow]) -> None:
    """Insert or replace these rows (one statement per row; callers batch them in one
    transaction)."""
    for row in found:
        conn.execute(
            provisioned_people.delete().where(
                provisioned_people.c.directory_id == row.directory_id,
                provisioned_people.c.object_id == row.object_id,
            )
        )
    if found:
        conn.execute(provisioned_people.insert(), [r._asdict() for r in found])


def forget_users(conn: Connection, directory_id: str, object_ids: Sequence[str]) -> None:
    """Provisioning no longer knows these users (it removed them)."""
    if object_ids:
        conn.execute(
            provisioned_people.delete().where(
                provisioned_people.c.directory_id == directory_id,
                provisioned_people.c.object_id.in_(list(object_ids)),
            )
        )


def forget_directory(conn: Connection, directory_id: str) -> None:
    """A removed directory: its settings and provisioned users' rows go."""
    conn.execute(
        provisioned_people.delete().where(provisioned_people.c.directory_id == directory_id)
    )
    conn.execute(
        provisioning_settings.delete().where(provisioning_settings.c.directory_id == directory_id)
    )
