"""People's failed sign-ins (``person_sign_in_failures``): one row per failure and key, the
key being the keyed digest the caller made (of the person, of the address). The counting rules
are :class:`credsync.vault.person_limits.PersonLimits`'; these are its statements."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from credsync.storage.tables import person_sign_in_failures as _T
from credsync.types import new_id

__all__ = ["add", "forget", "newest_since", "prune"]


def add(conn: Connection, key_hashes: Sequence[str], at: dt.datetime) -> None:
    """One failure at ``at`` for each key."""
    conn.execute(_T.insert(), [{"id": new_id(), "key_hash": h, "at": at} for h in key_hashes])


def newest_since(
    conn: Connection, key_hash: str, since: dt.datetime, limit: int
) -> list[dt.datetime]:
    """The times of the key's newest failures after ``since`` (at most ``limit``), newest
    first."""
    query = (
        sa.select(_T.c.at)
        .where(_T.c.key_hash == key_hash, _T.c.at > since)
        .order_by(_T.c.at.desc())
        .limit(limit)
    )
    return list(conn.execute(query).scalars())


def forget(conn: Connection, key_hashes: Sequence[str]) -> None:
    conn.execute(_T.delete().where(_T.c.key_hash.in_(list(key_hashes))))


def prune(conn: Connection, expired: dt.datetime) -> int:
    """Delete every failure at or before ``expired``; how many."""
    return int(conn.execute(_T.delete().where(_T.c.at <= expired)).rowcount)
