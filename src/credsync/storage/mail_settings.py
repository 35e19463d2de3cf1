"""The vault's mail server settings (``mail_settings``): their owner. One row, named
``smtp``; the password is stored sealed (``password_ct``) and its row's repr never shows it."""

from __future__ import annotations

import datetime as dt
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from credsync.storage._rows import columns_for, record, repr_without
from credsync.storage.tables import mail_settings

__all__ = ["MailSettingsRow", "get", "put", "sealed_password", "set_sealed_password"]

NAME = "smtp"


class MailSettingsRow(NamedTuple):
    name: str
    host: str
    port: int
    security: str
    allow_plain: bool
    username: str | None
    password_ct: bytes | None
    from_address: str
    public_url: str
    ca_pem: str | None
    invite_days: int
    updated_at: dt.datetime
    updated_by: str

    def __repr__(self) -> str:
        return repr_without(self, ("password_ct",))


def get(conn: Connection) -> MailSettingsRow | None:
    query = sa.select(*columns_for(MailSettingsRow, mail_settings)).where(
        mail_settings.c.name == NAME
    )
    row = conn.execute(query).first()
    return record(MailSettingsRow, row) if row is not None else None


def put(conn: Connection, row: MailSettingsRow) -> None:
    """Store the settings (in place of the ones there)."""
    conn.execute(mail_settings.delete().where(mail_settings.c.name == NAME))
    conn.execute(mail_settings.insert().values(**row._replace(name=NAME)._asdict()))


def sealed_password(conn: Connection) -> bytes | None:
    row = get(conn)
    return row.password_ct if row is not None else None


def set_sealed_password(conn: Connection, sealed: bytes) -> None:
    """The password sealed again (the master key's rotation)."""
    conn.execute(
        mail_settings.update().where(mail_settings.c.name == NAME).values(password_ct=sealed)
    )
