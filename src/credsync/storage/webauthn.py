"""Operators' security keys and passkeys (``webauthn_credentials``) and the WebAuthn
challenges handed out for them (``webauthn_challenges``).

A challenge is taken by :func:`take_challenge` alone, a conditional delete, so two answers to
one challenge can't both pass; a key's sign count moves by :func:`record_use` alone, a
conditional update on the count read (a concurrent sign-in with the same key loses)."""

from __future__ import annotations

import datetime as dt
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from credsync.storage._factor_sql import KeySql
from credsync.storage._rows import columns_for, record, records, repr_without
from credsync.storage.tables import webauthn_challenges as challenges
from credsync.storage.tables import webauthn_credentials as keys

__all__ = [
    "KeyRow",
    "add",
    "add_challenge",
    "by_credential_id",
    "count",
    "holder_ids",
    "list_for",
    "record_use",
    "remove",
    "remove_all",
    "take_challenge",
]


class KeyRow(NamedTuple):
    id: str
    operator_id: str
    credential_id: str
    public_key: bytes
    sign_count: int
    transports: str  # space-separated
    name: str
    created_at: dt.datetime
    last_used_at: dt.datetime | None

    def __repr__(self) -> str:
        return repr_without(self, ("public_key", "credential_id"))


_ROW = sa.select(*columns_for(KeyRow, keys))
_KEYS = KeySql(keys, challenges, "operator_id")

record_use = _KEYS.record_use
"""A key signed a sign-in: its new count and the time, only if its count is still the one
read; whether it was."""
add_challenge = _KEYS.add_challenge
"""A challenge handed out for the operator (and the expired ones dropped)."""
take_challenge = _KEYS.take_challenge
"""Take (delete) the operator's live challenge for a purpose; whether there was one."""


def list_for(conn: Connection, operator_id: str) -> list[KeyRow]:
    query = _ROW.where(keys.c.operator_id == operator_id).order_by(keys.c.created_at, keys.c.id)
    return records(KeyRow, conn.execute(query))


def by_credential_id(conn: Connection, credential_id: str) -> KeyRow | None:
    row = conn.execute(_ROW.where(keys.c.credential_id == credential_id)).first()
    return None if row is None else record(KeyRow, row)


def count(conn: Connection, operator_id: str) -> int:
    query = sa.select(sa.func.count()).select_from(keys).where(keys.c.operator_id == operator_id)
    return int(conn.execute(query).scalar_one())


def holder_ids(conn: Connection) -> set[str]:
    """The ids of the operators with at least one key."""
    return set(conn.execute(sa.select(keys.c.operator_id).distinct()).scalars())


def add(conn: Connection, row: KeyRow) -> None:
    conn.execute(keys.insert().values(row._asdict()))


def remove(conn: Connection, operator_id: str, key_id: str) -> bool:
    """Remove one of the operator's keys; whether there was one."""
    done = conn.execute(keys.delete().where(keys.c.id == key_id, keys.c.operator_id == operator_id))
    return bool(done.rowcount)


def remove_all(conn: Connection, operator_id: str) -> int:
    """Remove the operator's keys and open challenges; how many keys there were."""
    conn.execute(challenges.delete().where(challenges.c.operator_id == operator_id))
    return int(conn.execute(keys.delete().where(keys.c.operator_id == operator_id)).rowcount)
