"""Sessions: the CLI's (``cli_sessions``: the master key sealed under a key only the session
token holds) and the web dashboard's (``web_sessions``: the cookie's SHA-256 and a CSRF
token)."""

from __future__ import annotations

import datetime as dt
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from credsync.storage._rows import columns_for, record, repr_without
from credsync.storage.tables import cli_sessions, web_sessions

__all__ = [
    "CliSessionRow",
    "WebSessionRow",
    "add_cli",
    "add_web",
    "cli_session",
    "drop_expired_cli",
    "end_all_cli",
    "end_cli_of",
    "end_web",
    "end_web_of",
    "purge_web",
    "set_web_mfa",
    "touch_web",
    "web_session",
]


class CliSessionRow(NamedTuple):
    id: str
    operator_id: str
    sealed_kek: bytes
    key_generation: int
    created_at: dt.datetime
    expires_at: dt.datetime
    mfa_passed: bool

    def __repr__(self) -> str:
        return repr_without(self, ("sealed_kek",))


class WebSessionRow(NamedTuple):
    id: str
    operator_id: str
    csrf_token: str
    created_at: dt.datetime
    expires_at: dt.datetime
    last_seen_at: dt.datetime
    ended_at: dt.datetime | None
    mfa: str

    def __repr__(self) -> str:
        return repr_without(self, ("csrf_token",))


# -- CLI sessions ------------------------------------------------------------------------------
def add_cli(
    conn: Connection,
    *,
    session_id: str,
    operator_id: str,
    sealed_kek: bytes,
    key_generation: int,
    created_at: dt.datetime,
    expires_at: dt.datetime,
    mfa_passed: bool = False,
) -> None:
    conn.execute(
        cli_sessions.insert().values(
            mfa_passed=mfa_passed,
            id=session_id,
            operator_id=operator_id,
            sealed_kek=sealed_kek,
            key_generation=key_generation,
            created_at=created_at,
            expires_at=expires_at,
        )
    )


def drop_expired_cli(conn: Connection, now: dt.datetime) -> None:
    conn.execute(cli_sessions.delete().where(cli_sessions.c.expires_at < now))


def cli_session(conn: Connection, session_id: str) -> CliSessionRow | None:
    query = sa.select(*columns_for(CliSessionRow, cli_sessions))
    row = conn.execute(query.where(cli_sessions.c.id == session_id)).first()
    return None if row is None else record(CliSessionRow, row)


def end_all_cli(conn: Connection) -> int:
    """End every CLI session; returns how many there were."""
    return int(conn.execute(cli_sessions.delete()).rowcount)


def end_cli_of(conn: Connection, operator_id: str | None, session_id: str | None = None) -> int:
    """End ``operator_id``'s CLI sessions (only ``session_id``, when given); returns how many
    ended."""
    where = [cli_sessions.c.operator_id == operator_id]
    if session_id is not None:
        where.insert(0, cli_sessions.c.id == session_id)
    return int(conn.execute(cli_sessions.delete().where(*where)).rowcount)


# -- web sessions ------------------------------------------------------------------------------
def add_web(
    conn: Connection,
    *,
    session_id: str,
    token_hash: str,
    operator_id: str,
    csrf_token: str,
    now: dt.datetime,
    expires_at: dt.datetime,
    mfa: str = "none",
) -> None:
    conn.execute(
        web_sessions.insert().values(
            mfa=mfa,
            id=session_id,
            token_hash=token_hash,
            operator_id=operator_id,
            csrf_token=csrf_token,
            created_at=now,
            expires_at=expires_at,
            last_seen_at=now,
        )
    )


def web_session(conn: Connection, token_hash: str) -> WebSessionRow | None:
    query = sa.select(*columns_for(WebSessionRow, web_sessions))
    row = conn.execute(query.where(web_sessions.c.token_hash == token_hash)).first()
    return None if row is None else record(WebSessionRow, row)


def touch_web(conn: Connection, session_id: str, now: dt.datetime) -> None:
    conn.execute(
        web_sessions.update().where(web_sessions.c.id == session_id).values(last_seen_at=now)
    )


def set_web_mfa(conn: Connection, session_id: str, mfa: str) -> None:
    """Record the session's second-factor state ("passed", "none", "enrol")."""
    conn.execute(web_sessions.update().where(web_sessions.c.id == session_id).values(mfa=mfa))


def end_web(conn: Connection, session_id: str, now: dt.datetime) -> bool:
    """End the live session ``session_id``; whether it was live (an ended one: nothing)."""
    ended = conn.execute(
        web_sessions.update()
        .where(web_sessions.c.id == session_id, web_sessions.c.ended_at.is_(None))
        .values(ended_at=now)
    )
    return bool(ended.rowcount)


def end_web_of(conn: Connection, operator_id: str, now: dt.datetime) -> int:
    """End every browser session of ``operator_id`` for good; returns how many had not yet
    ended or expired."""
    live = web_sessions.c.ended_at.is_(None), web_sessions.c.operator_id == operator_id
    count = sa.select(sa.func.count()).select_from(web_sessions)
    ending = int(conn.execute(count.where(*live, web_sessions.c.expires_at > now)).scalar_one())
    conn.execute(web_sessions.update().where(*live).values(ended_at=now))
    return ending


def purge_web(conn: Connection, before: dt.datetime) -> int:
    """Delete the browser sessions that ended, or expired, before ``before``; returns how
    many. (An ended or expired session is never resumed: its row is only a trace.)"""
    gone = conn.execute(
        web_sessions.delete().where(
            sa.or_(web_sessions.c.ended_at < before, web_sessions.c.expires_at < before)
        )
    )
    return int(gone.rowcount)
