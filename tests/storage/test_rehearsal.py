"""``Database.rehearsal``: code written for real transactions runs whole and keeps nothing
(what the people import's dry run relies on), on SQLite and PostgreSQL: each transaction in
the block sees the earlier ones' changes, a refused one is undone alone, no after-commit
callback runs, and outside the block (or on another Database) transactions are as ever."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from credsync.errors import Conflict
from credsync.storage import Database
from credsync.storage.database import after_commit


def _rows(db: Database) -> list[tuple[int, str]]:
    with db.read() as conn:
        return [tuple(r) for r in conn.execute(sa.text("SELECT id, v FROM t ORDER BY id"))]


def _insert_both(db: Database) -> None:
    with db.write() as conn:
        conn.execute(sa.text("INSERT INTO t VALUES (3, 'three')"))
        conn.execute(sa.text("INSERT INTO t VALUES (1, 'again')"))


def test_a_rehearsal_runs_whole_and_keeps_nothing(db: Database) -> None:
    with db.write() as conn:
        conn.execute(sa.text("INSERT INTO t VALUES (1, 'kept')"))
    called: list[str] = []
    with db.rehearsal():
        with db.write() as conn:
            conn.execute(sa.text("INSERT INTO t VALUES (2, 'two')"))
            after_commit(conn, lambda: called.append("two"))
        assert _rows(db) == [(1, "kept"), (2, "two")]  # seen by the next transaction
        with pytest.raises(Conflict):  # refused: undone alone
            _insert_both(db)
        with db.write() as conn:
            conn.execute(sa.text("UPDATE t SET v = 'changed' WHERE id = 1"))
        assert _rows(db) == [(1, "changed"), (2, "two")]
    assert _rows(db) == [(1, "kept")]
    assert called == []
    # after it, transactions commit as ever
    with db.write() as conn:
        conn.execute(sa.text("INSERT INTO t VALUES (4, 'four')"))
        after_commit(conn, lambda: called.append("four"))
    assert _rows(db) == [(1, "kept"), (4, "four")]
    assert called == ["four"]


def test_others_never_see_what_a_rehearsal_does(db: Database, db_url: str) -> None:
    """Another Database (another process's, say) reads as if nothing happened; on SQLite it
    could not write meanwhile: the rehearsal holds the write lock from its start to its end
    (a writer elsewhere waits, up to the busy timeout)."""
    other = Database(db_url)
    try:
        with db.rehearsal():
            with db.write() as conn:
                conn.execute(sa.text("INSERT INTO t VALUES (5, 'rehearsed')"))
            assert _rows(db) == [(5, "rehearsed")]
            assert _rows(other) == []
        assert _rows(other) == []
    finally:
        other.dispose()
