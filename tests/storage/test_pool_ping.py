"""PostgreSQL connections pinged only after they sat idle (storage.database._ping_if_idle),
and reads outside a transaction (Database.lookup); against a real PostgreSQL whose backend
is terminated under the pool (pg_terminate_backend, as a restart or an idle timeout would)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from credsync.errors import StorageError
from credsync.storage import Database, database


@pytest.fixture
def pg_db(pg_server) -> Iterator[Database]:
    name = f"t_{uuid.uuid4().hex[:12]}"
    db = Database(pg_server.create_database(name))
    try:
        yield db
    finally:
        db.dispose()
        pg_server.drop_database(name)


def _backend(db: Database) -> int:
    with db.read() as conn:
        return int(conn.execute(sa.text("SELECT pg_backend_pid()")).scalar_one())


def _terminate(db: Database, pid: int) -> None:
    """The backend ``pid`` ended by another connection, outside the pool."""
    other = sa.create_engine(db.url, poolclass=sa.NullPool)
    try:
        with other.begin() as conn:
            conn.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    finally:
        other.dispose()


def test_an_idle_connection_closed_by_the_server_is_replaced_unnoticed(pg_db, monkeypatch):
    monkeypatch.setattr(database, "PING_AFTER_IDLE_S", 0.0)  # every connection counts as idle
    first = _backend(pg_db)
    _terminate(pg_db, first)
    assert _backend(pg_db) != first  # the ping failed, the pool connected again


def test_a_connection_used_moments_ago_is_not_pinged(pg_db, monkeypatch):
    monkeypatch.setattr(database, "PING_AFTER_IDLE_S", 3600.0)
    pings = []
    sa.event.listen(pg_db.engine, "before_cursor_execute", lambda *a: pings.append(a[2]))
    first = _backend(pg_db)
    _backend(pg_db)
    assert pings == ["SELECT pg_backend_pid()"] * 2  # no SELECT 1 between them
    _terminate(pg_db, first)
    # Broken within the window: that request fails clearly, and the pool starts anew.
    with pytest.raises(StorageError, match="database error at"):
        _backend(pg_db)
    assert _backend(pg_db) != first


def _own_start(conn: sa.Connection) -> bool:
    """Whether the statement runs in a transaction of its own (``now()`` is when the
    transaction began), after another statement of ``conn``."""
    conn.execute(sa.text("SELECT pg_sleep(0.01)"))
    return bool(conn.execute(sa.text("SELECT now() = statement_timestamp()")).scalar_one())


def test_a_lookup_runs_outside_a_transaction_and_a_read_inside(pg_db):
    with pg_db.lookup() as conn:
        assert _own_start(conn)
        assert conn.connection.driver_connection.info.transaction_status.name == "IDLE"
    with pg_db.read() as conn:
        assert not _own_start(conn)
    with pg_db.lookup() as conn:  # the pooled connection back in transactions after a read
        assert _own_start(conn)
    with pg_db.read() as conn:
        assert not _own_start(conn)
