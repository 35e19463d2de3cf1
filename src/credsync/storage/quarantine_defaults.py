"""The ``quarantine_defaults`` table: its owner. The vault-wide values of the quarantine
thresholds (see :mod:`credsync.vault.quarantine_defaults`), one row per threshold set."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from credsync.storage._rows import columns_for, records
from credsync.storage.tables import quarantine_defaults

__all__ = ["DefaultRow", "get", "put"]


class DefaultRow(NamedTuple):
    name: str
    value: int
    updated_at: dt.datetime
    updated_by: str


def get(conn: Connection) -> dict[str, DefaultRow]:
    """Threshold name -> its vault-wide row (a threshold never set has none)."""
    query = sa.select(*columns_for(DefaultRow, quarantine_defaults))
    return {r.name: r for r in records(DefaultRow, conn.execute(query))}


def put(conn: Connection, values: Mapping[str, int | None], *, at: dt.datetime, by: str) -> None:
    """Set each of ``values`` (None: remove the vault-wide value, back to the built-in)."""
    for name, value in values.items():
        conn.execute(quarantine_defaults.delete().where(quarantine_defaults.c.name == name))
        if value is not None:
            conn.execute(
                quarantine_defaults.insert().values(
                    name=name, value=value, updated_at=at, updated_by=by
                )
            )
