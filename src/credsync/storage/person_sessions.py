"""People's portal sessions (``person_sessions``): the token's SHA-256, the CSRF token, the
second-factor flag, idle and absolute expiry. The rules are
:class:`credsync.vault.person_sessions.PersonSessions`'."""

from __future__ import annotations

import datetime as dt
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from credsync.storage._rows import columns_for, record, repr_without
from credsync.storage.tables import person_sessions as _T

__all__ = ["SessionRow", "add", "by_token", "end", "end_of", "forget_person", "purge", "touch"]


class SessionRow(NamedTuple):
    id: str
    token_hash: str
    person_id: str
    client_id: str
    csrf_token: str
    mfa: bool
    created_at: dt.datetime
    expires_at: dt.datetime
    last_seen_at: dt.datetime
    ended_at: dt.datetime | None

    def __repr__(self) -> str:
        return repr_without(self, ("token_hash", "csrf_token"))


_ROW = sa.select(*columns_for(SessionRow, _T))


def add(conn: Connection, row: SessionRow) -> None:
    conn.execute(_T.insert().values(row._asdict()))


# every page of the person portal (and each federated sign-in) reads the session: built once
_BY_TOKEN = _ROW.where(_T.c.token_hash == sa.bindparam("token_hash"))
_TOUCH = (
    _T.update()
    .where(_T.c.id == sa.bindparam("session_id"))
    .values(last_seen_at=sa.bindparam("seen"))
)


def by_token(conn: Connection, token_hash: str) -> SessionRow | None:
    row = conn.execute(_BY_TOKEN, {"token_hash": token_hash}).first()
    return None if row is None else record(SessionRow, row)


def touch(conn: Connection, session_id: str, now: dt.datetime) -> None:
    conn.execute(_TOUCH, {"session_id": session_id, "seen": now})


def end(conn: Connection, session_id: str, now: dt.datetime) -> bool:
    done = conn.execute(
        _T.update().where(_T.c.id == session_id, _T.c.ended_at.is_(None)).values(ended_at=now)
    )
    return bool(done.rowcount)


def end_of(conn: Connection, person_id: str, now: dt.datetime) -> int:
    """End every live session of the person; how many."""
    done = conn.execute(
        _T.update().where(_T.c.person_id == person_id, _T.c.ended_at.is_(None)).values(ended_at=now)
    )
    return int(done.rowcount)


def forget_person(conn: Connection, person_id: str) -> int:
    """Delete every session of the person (the person is purged)."""
    return int(conn.execute(_T.delete().where(_T.c.person_id == person_id)).rowcount)


def purge(conn: Connection, before: dt.datetime) -> int:
    """Delete sessions that ended, expired or went idle before ``before``."""
    gone = _T.delete().where(
        sa.or_(_T.c.expires_at < before, _T.c.ended_at < before, _T.c.last_seen_at < before)
    )
    return int(conn.execute(gone).rowcount)
