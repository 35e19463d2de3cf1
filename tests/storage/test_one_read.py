"""``Database.one_read``: the reads of a block are one read transaction (one connection), on
SQLite and PostgreSQL; writes in the block stay transactions of their own and commit; an
error leaves nothing open; nested blocks and rehearsals are as they were."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from credsync.storage import Database


def _ids(db: Database) -> list[int]:
    with db.read() as conn:
        return [int(r[0]) for r in conn.execute(sa.text("SELECT id FROM t ORDER BY id"))]


def _insert(db: Database, row_id: int) -> None:
    with db.write() as conn:
        conn.execute(sa.text("INSERT INTO t VALUES (:id, 'x')"), {"id": row_id})


def test_the_reads_of_a_block_share_one_connection_and_writes_commit(db: Database) -> None:
    _insert(db, 1)
    seen: list[object] = []
    with db.one_read():
        for _ in range(3):
            with db.read() as conn:
                seen.append(conn)
                assert conn.execute(sa.text("SELECT count(*) FROM t")).scalar_one() >= 1
        with db.write() as conn:  # a write of its own, on another connection
            assert conn is not seen[0]
            conn.execute(sa.text("INSERT INTO t VALUES (2, 'y')"))
    assert seen[0] is seen[1] is seen[2]
    assert _ids(db) == [1, 2]  # the write committed
    with db.read() as first, db.read() as second:  # outside a block: as ever
        assert first is not second


def test_a_write_in_the_block_is_seen_by_the_reads_after_it(db: Database) -> None:
    _insert(db, 1)
    with db.one_read():
        assert _ids(db) == [1]
        _insert(db, 2)  # its commit ends the block's read transaction
        assert _ids(db) == [1, 2]
        with db.read() as conn:  # a write inside a read: the read's connection stays
            _insert(db, 3)
            assert conn.execute(sa.text("SELECT count(*) FROM t")).scalar_one() >= 2
        assert _ids(db) == [1, 2, 3]
    assert db.engine.pool.checkedout() == 0


def test_on_sqlite_the_block_reads_one_snapshot(tmp_path: Path) -> None:
    # (PostgreSQL's READ COMMITTED gives each statement its own: SQLite alone here)
    db = Database(f"sqlite:///{tmp_path / 'one.db'}")
    try:
        with db.write() as conn:
            conn.execute(sa.text("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)"))
        _insert(db, 1)
        with db.one_read():
            assert _ids(db) == [1]
            with db.engine.begin() as other:  # another's write (not this block's)
                other.execute(sa.text("INSERT INTO t VALUES (2, 'y')"))
            assert _ids(db) == [1]  # the block's snapshot
        assert _ids(db) == [1, 2]
    finally:
        db.dispose()


def test_an_error_in_the_block_leaves_no_transaction_open(db: Database) -> None:
    _insert(db, 1)

    def refused() -> None:
        with db.one_read():
            assert _ids(db) == [1]
            raise LookupError("refused")

    with pytest.raises(LookupError):
        refused()
    _insert(db, 2)  # no read transaction of the block is left holding anything
    assert _ids(db) == [1, 2]
    assert db.engine.pool.checkedout() == 0


def test_nested_blocks_and_rehearsals_are_unchanged(db: Database) -> None:
    seen: list[object] = []
    with db.one_read():
        with db.read() as conn:
            seen.append(conn)
        with db.one_read(), db.read() as conn:  # the outer block's transaction
            seen.append(conn)
    assert seen[0] is seen[1]
    with db.rehearsal(), db.one_read():
        _insert(db, 5)
        assert _ids(db) == [5]  # a rehearsal's reads see its writes: savepoints, as ever
    assert _ids(db) == []
