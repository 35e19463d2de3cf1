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

from credsync.storage import _factor_sql
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


# -- TOTP ------------------------------------------------------------------------------------
def get(conn: Connection, person_id: str) -> SeedRow | None:
    row = conn.execute(_SEED.where(seeds.c.person_id == person_id)).first()
    return None if row is None else record(SeedRow, row)


def set_pending(conn: Connection, person_id: str, seed_ct: bytes, now: dt.datetime) -> None:
    """A new, unconfirmed seed for the person (in place of a pending one)."""
    conn.execute(seeds.delete().where(seeds.c.person_id == person_id))
    conn.execute(seeds.insert().values(person_id=person_id, seed_ct=seed_ct, created_at=now))


def set_confirmed(conn: Connection, person_id: str, step: int, now: dt.datetime) -> bool:
    """Confirm the pending seed with its first good code's step; whether it was pending."""
    return _factor_sql.set_confirmed(conn, seeds, "person_id", person_id, step, now)


def accept_step(conn: Connection, person_id: str, step: int) -> bool:
    """Record ``step`` as the last accepted, only if newer than the last one; whether it was
    (False: a replayed or older code)."""
    return _factor_sql.accept_step(conn, seeds, "person_id", person_id, step)


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


def record_use(
    conn: Connection, key_id: str, *, old_count: int, new_count: int, now: dt.datetime
) -> bool:
    """The key signed a sign-in: its new count, only if its count is still ``old_count``."""
    return _factor_sql.record_use(
        conn, keys, key_id, old_count=old_count, new_count=new_count, now=now
    )


def remove_key(conn: Connection, person_id: str, key_id: str) -> bool:
    done = conn.execute(keys.delete().where(keys.c.id == key_id, keys.c.person_id == person_id))
    return bool(done.rowcount)


def add_challenge(
    conn: Connection,
    challenge: str,
    person_id: str,
    purpose: str,
    *,
    now: dt.datetime,
    expires_at: dt.datetime,
) -> None:
    """A challenge handed out (and the expired ones dropped)."""
    _factor_sql.add_challenge(
        conn, challenges, "person_id", challenge=challenge, owner_id=person_id,
        purpose=purpose, now=now, expires_at=expires_at,
    )  # fmt: skip


def take_challenge(
    conn: Connection, challenge: str, person_id: str, purpose: str, now: dt.datetime
) -> bool:
    """Take (delete) the person's live challenge for ``purpose``; whether there was one."""
    return _factor_sql.take_challenge(
        conn, challenges, "person_id", challenge=challenge, owner_id=person_id,
        purpose=purpose, now=now,
    )  # fmt: skip


def forget_person(conn: Connection, person_id: str) -> tuple[bool, int]:
    """Remove the person's seed, keys and challenges: (whether they had a seed, how many
    keys)."""
    conn.execute(challenges.delete().where(challenges.c.person_id == person_id))
    had = remove(conn, person_id)
    gone = conn.execute(keys.delete().where(keys.c.person_id == person_id)).rowcount
    return had, int(gone)
