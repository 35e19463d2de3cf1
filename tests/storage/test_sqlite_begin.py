"""SQLite transactions begin as before now that the BEGIN goes straight to the driver
(``storage/database.py``: ``_sqlite_do_begin``): a write transaction holds SQLite's write lock
from its BEGIN (``BEGIN IMMEDIATE``), a read transaction takes none, and reads and writes
alternate on the pool's connections (a write rolled back leaves nothing)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from credsync.storage import Database


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "begin.db"


@pytest.fixture
def db(path: Path) -> Iterator[Database]:
    made = Database(f"sqlite:///{path}")
    with made.write() as conn:
        conn.execute(sa.text("CREATE TABLE t (id INTEGER PRIMARY KEY)"))
    try:
        yield made
    finally:
        made.dispose()


def _other_writer_gets_the_lock(path: Path) -> bool:
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as err:
        refused = str(err)
    else:
        other.execute("ROLLBACK")
        return True
    finally:
        other.close()
    if "locked" not in refused:
        raise AssertionError(f"not a lock: {refused}")
    return False


def test_a_write_transaction_holds_the_write_lock_from_its_begin(db: Database, path: Path) -> None:
    with db.write():  # no statement yet: the BEGIN alone took the lock
        assert not _other_writer_gets_the_lock(path)
    assert _other_writer_gets_the_lock(path)


def test_a_read_transaction_takes_no_write_lock(db: Database, path: Path) -> None:
    with db.read() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM t")).scalar_one() == 0
        assert _other_writer_gets_the_lock(path)


def test_reads_and_writes_alternate_on_one_pooled_connection(db: Database) -> None:
    for i in range(5):
        with db.write() as conn:
            conn.execute(sa.text("INSERT INTO t VALUES (:id)"), {"id": i})
        with db.read() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM t")).scalar_one() == i + 1
    with pytest.raises(RuntimeError, match="undo"):
        _insert_then_fail(db)
    with db.read() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM t WHERE id = 99")).scalar_one() == 0


def _insert_then_fail(db: Database) -> None:
    with db.write() as conn:
        conn.execute(sa.text("INSERT INTO t VALUES (99)"))
        raise RuntimeError("undo")
