"""People's second factors: their TOTP seed (``person_mfa``), security keys
(``person_security_keys``) and the WebAuthn challenges handed out for them
(``person_key_challenges``).

As for operators (:mod:`credsync.storage.mfa`, :mod:`credsync.storage.webauthn`): a time step
is accepted by :func:`accept_step` alone, a conditional update (a replayed code can't pass
twice, even at the same moment); a challenge is taken by :func:`take_challenge`, a conditional
delete; a key's sign count moves by :func:`record_use`, a conditional update."""

from __future__ import annotations

import datetime as dt
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from credsync.storage._factor_sql import KeySql, SeedSql
from credsync.storage._rows import columns_for, record, records, repr_without
from credsync.storage.tables import person_key_challenges as challenges
from credsync.storage.tables import person_mfa as seeds
from credsync.storage.tables import person_security_keys as keys

__all__ = [
    "KeyRow",
    "SeedRow",
    "accept_step",
    "add_challenge",
    "add_key",
    "by_credential_id",
    "count_keys",
    "forget_person",
    "get",
    "keys_of",
    "record_use",
    "remove",
    "remove_key",
    "set_confirmed",
    "set_pending",
    "take_challenge",
]


class SeedRow(NamedTuple):
    person_id: str
    seed_ct: bytes
    created_at: dt.datetime
    confirmed_at: dt.datetime | None
    last_step: int | None

    def __repr__(self) -> str:
        return repr_without(self, ("seed_ct",))


class KeyRow(NamedTuple):
    id: str
    person_id: str
    credential_id: str
    public_key: bytes
    sign_count: int
    transports: str  # space-separated
    name: str
    created_at: dt.datetime
    last_used_at: dt.datetime | None

    def __repr__(self) -> str:
        return repr_without(self, ("public_key", "credential_id"))


_SEED = sa.select(*columns_for(SeedRow, seeds))
_KEY = sa.select(*columns_for(KeyRow, keys))
_SEEDS = SeedSql(seeds, "person_id")
_KEYS = KeySql(keys, challenges, "person_id")

set_confirmed = _SEEDS.set_confirmed
"""Confirm the pending seed with its first good code's step; whether it was pending."""
accept_step = _SEEDS.accept_step
"""Record a step as the last accepted, only if newer than the last one (False: replayed)."""
record_use = _KEYS.record_use
"""A key signed a sign-in: its new count, only if its count is still the one read."""
add_challenge = _KEYS.add_challenge
"""A challenge handed out for the person (and the expired ones dropped)."""
take_challenge = _KEYS.take_challenge
"""Take (delete) the person's live challenge for a purpose; whether there was one."""


# -- TOTP ------------------------------------------------------------------------------------
def get(conn: Connection, person_id: str) -> SeedRow | None:
    row = conn.execute(_SEED.where(seeds.c.person_id == person_id)).first()
    return None if row is None else record(SeedRow, row)


def set_pending(conn: Connection, person_id: str, seed_ct: bytes, now: dt.datetime) -> None:
    """A new, unconfirmed seed for the person (in place of a pending one)."""
    conn.execute(seeds.delete().where(seeds.c.person_id == person_id))
    conn.execute(seeds.insert().values(person_id=person_id, seed_ct=seed_ct, created_at=now))


def remove(conn: Connection, person_id: str) -> bool:
    """Remove the person's seed; whether there was one."""
    return bool(conn.execute(seeds.delete().where(seeds.c.person_id == person_id)).rowcount)


# -- security keys ---------------------------------------------------------------------------
def keys_of(conn: Connection, person_id: str) -> list[KeyRow]:
    query = _KEY.where(keys.c.person_id == person_id).order_by(keys.c.created_at, keys.c.id)
    return records(KeyRow, conn.execute(query))


def count_keys(conn: Connection, person_id: str) -> int:
    query = sa.select(sa.func.count()).select_from(keys).where(keys.c.person_id == person_id)
    return int(conn.execute(query).scalar_one())


def by_credential_id(conn: Connection, credential_id: str) -> KeyRow | None:
    row = conn.execute(_KEY.where(keys.c.credential_id == credential_id)).first()
    return None if row is None else record(KeyRow, row)


def add_key(conn: Connection, row: KeyRow) -> None:
    conn.execute(keys.insert().values(row._asdict()))


def remove_key(conn: Connection, person_id: str, key_id: str) -> bool:
    done = conn.execute(keys.delete().where(keys.c.id == key_id, keys.c.person_id == person_id))
    return bool(done.rowcount)


def forget_person(conn: Connection, person_id: str) -> tuple[bool, int]:
    """Remove the person's seed, keys and challenges: (whether they had a seed, how many
    keys)."""
    conn.execute(challenges.delete().where(challenges.c.person_id == person_id))
    had = remove(conn, person_id)
    gone = conn.execute(keys.delete().where(keys.c.person_id == person_id)).rowcount
    return had, int(gone)
