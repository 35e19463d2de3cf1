"""Auto-create's tables (``auto_create_settings``, ``auto_created``): their owner.

A directory's settings are one JSON text with a version (what they mean and how they are
checked: :mod:`credsync.vault.auto_create`). ``auto_created`` holds one row per account
auto-create made a credential for, keyed by (directory, account id): :func:`claim` inserts it
in the transaction that adds the credential, so a second event for the same account (a capture
delivered twice, two runs, a rename) finds it and makes nothing. A row's ``shell_version`` is
the secret version that is a placeholder (a shell, made before any password was known).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from credsync.storage import _directory_settings as shared
from credsync.storage._rows import columns_for, records
from credsync.storage.tables import auto_create_settings, auto_created, credentials

__all__ = [
    "CreatedRow",
    "SettingsRow",
    "claim",
    "created_for",
    "fill_shell",
    "forget_directory",
    "handled",
    "of_directory",
    "save_settings",
    "settings_of",
    "shells",
]

_IN_LIST = 500


class SettingsRow(NamedTuple):
    directory_id: str
    settings: str
    version: int
    updated_at: dt.datetime
    updated_by: str


class CreatedRow(NamedTuple):
    directory_id: str
    account_id: str
    credential_id: str
    trigger: str
    shell_version: int | None
    created_at: dt.datetime
    created_by: str


def settings_of(conn: Connection, directory_id: str) -> SettingsRow | None:
    return shared.settings_of(conn, SettingsRow, auto_create_settings, directory_id)


def save_settings(
    conn: Connection, directory_id: str, text: str, *, version: int, by: str, now: dt.datetime
) -> bool:
    """Store the settings as version ``version`` (1: the first). False when someone else
    stored that version first (the caller read an older one)."""
    values = {"settings": text, "version": version, "updated_at": now, "updated_by": by}
    if version == 1:
        if settings_of(conn, directory_id) is not None:
            return False
        conn.execute(auto_create_settings.insert().values(directory_id=directory_id, **values))
        return True
    done = conn.execute(shared.update_from(auto_create_settings, directory_id, version, values))
    return bool(done.rowcount == 1)


def handled(conn: Connection, directory_id: str, account_ids: Collection[str]) -> set[str]:
    """Those of ``account_ids`` auto-create already took in this directory."""
    ids = sorted(account_ids)
    found: set[str] = set()
    for start in range(0, len(ids), _IN_LIST):
        query = sa.select(auto_created.c.account_id).where(
            auto_created.c.directory_id == directory_id,
            auto_created.c.account_id.in_(ids[start : start + _IN_LIST]),
        )
        found.update(str(i) for i in conn.execute(query).scalars())
    return found


def created_for(conn: Connection, directory_id: str, account_id: str) -> CreatedRow | None:
    query = sa.select(*columns_for(CreatedRow, auto_created)).where(
        auto_created.c.directory_id == directory_id, auto_created.c.account_id == account_id
    )
    row = conn.execute(query).first()
    return None if row is None else CreatedRow(*row)


def claim(conn: Connection, row: CreatedRow) -> bool:
    """Record that auto-create took the account (in the transaction that adds its
    credential). False, and nothing written, when it was taken already."""
    if created_for(conn, row.directory_id, row.account_id) is not None:
        return False
    conn.execute(auto_created.insert().values(**row._asdict()))
    return True


def shells(conn: Connection, directory_id: str) -> dict[str, int]:
    """Credential id -> its placeholder secret version, for the directory's shells whose
    credential still has that version (a password set since fills it)."""
    query = (
        sa.select(auto_created.c.credential_id, auto_created.c.shell_version)
        .join(credentials, credentials.c.id == auto_created.c.credential_id)
        .where(
            auto_created.c.directory_id == directory_id,
            auto_created.c.shell_version.is_not(None),
            credentials.c.secret_version == auto_created.c.shell_version,
        )
    )
    return {str(cid): int(version) for cid, version in conn.execute(query).all()}


def fill_shell(conn: Connection, directory_id: str, account_id: str) -> None:
    """The account's credential has its password now: no longer a shell."""
    conn.execute(
        auto_created.update()
        .where(auto_created.c.directory_id == directory_id, auto_created.c.account_id == account_id)
        .values(shell_version=None)
    )


def of_directory(conn: Connection, directory_id: str) -> list[CreatedRow]:
    query = (
        sa.select(*columns_for(CreatedRow, auto_created))
        .where(auto_created.c.directory_id == directory_id)
        .order_by(auto_created.c.created_at)
    )
    return records(CreatedRow, conn.execute(query))


def forget_directory(conn: Connection, directory_id: str) -> None:
    """A removed directory's settings and records."""
    conn.execute(auto_created.delete().where(auto_created.c.directory_id == directory_id))
    conn.execute(
        auto_create_settings.delete().where(auto_create_settings.c.directory_id == directory_id)
    )
