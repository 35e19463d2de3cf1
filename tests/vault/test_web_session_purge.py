"""Browser sessions that ended or expired more than 30 days ago are deleted when a session
starts, at most once an hour per process; newer ones (a trace for a while) and live ones
stay. On SQLite and PostgreSQL. (CLI sessions are deleted as soon as they expire, when one
is created: the last test here.)"""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from credsync.storage import sessions
from credsync.storage.tables import web_sessions
from credsync.types import Secret
from credsync.vault import websessions
from credsync.vault._time import utcnow
from credsync.vault.websessions import PURGE_AFTER, PURGE_EVERY

PASSWORD = Secret("bob-password-1234")  # as world.operator makes it


def _ids(world) -> set[str]:
    with world.db.read() as conn:
        return set(conn.execute(sa.select(web_sessions.c.id)).scalars())


def _set(world, session_id: str, **values: dt.datetime) -> None:
    with world.db.write() as conn:
        conn.execute(web_sessions.update().where(web_sessions.c.id == session_id).values(**values))


def test_old_ended_and_expired_sessions_are_purged_once_an_hour(world, monkeypatch) -> None:
    world.operator("bob", "technician")
    start = world.vault.web_sessions.start
    ended_long_ago, expired_long_ago, ended_lately, live = (
        start("bob", PASSWORD).id for _ in range(4)
    )
    now = utcnow()
    long_ago = now - PURGE_AFTER - dt.timedelta(days=1)
    lately = now - PURGE_AFTER + dt.timedelta(days=1)
    _set(world, ended_long_ago, created_at=long_ago, last_seen_at=long_ago, ended_at=long_ago)
    _set(world, expired_long_ago, created_at=long_ago, last_seen_at=long_ago, expires_at=long_ago)
    _set(world, ended_lately, created_at=lately, last_seen_at=lately, ended_at=lately)

    # this process purged at its first sign-in, less than an hour ago: not again yet
    newest = start("bob", PASSWORD).id
    assert {ended_long_ago, expired_long_ago, ended_lately, live, newest} <= _ids(world)

    later = now + PURGE_EVERY + dt.timedelta(minutes=1)
    monkeypatch.setattr(websessions, "utcnow", lambda: later)
    after_an_hour = start("bob", PASSWORD).id
    left = _ids(world)
    assert ended_long_ago not in left
    assert expired_long_ago not in left
    assert {ended_lately, live, newest, after_an_hour} <= left
    # the sign-ins themselves are in the audit log, whatever became of their rows
    entries = world.vault.audit.list(world.admin, action="auth.web_login")
    assert {ended_long_ago, expired_long_ago} <= {e.details["session"] for e in entries}


@pytest.mark.parametrize("which", ["ended_at", "expires_at"])
def test_the_storage_purge_keeps_what_is_newer_than_the_cutoff(world, which: str) -> None:
    world.operator("bob", "technician")
    old, new = (world.vault.web_sessions.start("bob", PASSWORD).id for _ in range(2))
    cutoff = utcnow() - PURGE_AFTER
    _set(world, old, **{which: cutoff - dt.timedelta(seconds=1)})
    _set(world, new, **{which: cutoff + dt.timedelta(seconds=1)})
    with world.db.write() as conn:
        assert sessions.purge_web(conn, cutoff) == 1
    assert old not in _ids(world)
    assert new in _ids(world)


def test_an_expired_cli_session_is_deleted_when_the_next_one_is_created(world) -> None:
    from credsync.storage.tables import cli_sessions

    access, kek = world.vault.access, world.keys.kek()
    old = access.create_session(world.admin, kek, dt.timedelta(hours=1)).id
    with world.db.write() as conn:
        conn.execute(
            cli_sessions.update()
            .where(cli_sessions.c.id == old)
            .values(expires_at=utcnow() - dt.timedelta(seconds=1))
        )
    new = access.create_session(world.admin, kek, dt.timedelta(hours=1)).id
    with world.db.read() as conn:
        assert sessions.cli_session(conn, old) is None
        assert sessions.cli_session(conn, new) is not None
