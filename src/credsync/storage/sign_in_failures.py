"""Failed sign-ins (``sign_in_failures``): one row per failure and key, the key being the
keyed digest (HMAC-SHA256 under a key of the vault's) the caller made of it. The counting rules
live in the sign-in limiter (:class:`credsync.api.state.LoginLimiter`); these are its
statements."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from credsync.storage.tables import sign_in_failures
from credsync.types import new_id

__all__ = ["add", "any_of", "drop_oldest", "forget", "keys_since", "newest", "trim"]

_T = sign_in_failures


def add(conn: Connection, key_hashes: Sequence[str], at: dt.datetime) -> None:
    """One failure at ``at`` for each key."""
    conn.execute(_T.insert(), [{"id": new_id(), "key_hash": h, "at": at} for h in key_hashes])


def newest(conn: Connection, key_hash: str, since: dt.datetime, limit: int) -> list[dt.datetime]:
    """The times of the key's newest failures after ``since`` (at most ``limit``), newest
    first."""
    query = (
        sa.select(_T.c.at)
        .where(_T.c.key_hash == key_hash, _T.c.at > since)
        .order_by(_T.c.at.desc())
        .limit(limit)
    )
    return list(conn.execute(query).scalars().all())


def any_of(conn: Connection, key_hashes: Sequence[str]) -> bool:
    """Whether any of the keys has a failure on record."""
    query = sa.select(_T.c.id).where(_T.c.key_hash.in_(key_hashes)).limit(1)
    return conn.execute(query).first() is not None


def forget(conn: Connection, key_hashes: Sequence[str]) -> None:
    conn.execute(_T.delete().where(_T.c.key_hash.in_(key_hashes)))


def keys_since(conn: Connection, since: dt.datetime) -> int:
    """How many keys have a failure after ``since``."""
    query = sa.select(sa.func.count(sa.distinct(_T.c.key_hash))).where(_T.c.at > since)
    return int(conn.execute(query).scalar_one())


def trim(conn: Connection, key_hashes: Sequence[str], expired: dt.datetime, keep: int) -> None:
    """Delete the keys' failures at or before ``expired``, and all but each key's newest
    ``keep``."""
    conn.execute(_T.delete().where(_T.c.key_hash.in_(key_hashes), _T.c.at <= expired))
    for h in key_hashes:
        newest_ids = (
            sa.select(_T.c.id)
            .where(_T.c.key_hash == h)
            .order_by(_T.c.at.desc(), _T.c.id.desc())
            .limit(keep)
        )
        conn.execute(_T.delete().where(_T.c.key_hash == h, _T.c.id.not_in(newest_ids)))


def drop_oldest(conn: Connection, expired: dt.datetime, keep: int) -> None:
    """Delete every failure at or before ``expired``, then all but the newest ``keep`` rows
    (rows as old as the newest dropped one go too)."""
    conn.execute(_T.delete().where(_T.c.at <= expired))
    newest_dropped = conn.execute(
        sa.select(_T.c.at).order_by(_T.c.at.desc()).offset(keep).limit(1)
    ).scalar()
    if newest_dropped is not None:
        conn.execute(_T.delete().where(_T.c.at <= newest_dropped))
