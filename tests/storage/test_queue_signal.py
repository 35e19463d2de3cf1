"""Telling agents of queued pushes (credsync.storage.queue_signal): in this process once the
queueing transaction commits, never before nor on a rollback; across connection pools on
PostgreSQL through NOTIFY, with a listener that comes back after its connection is killed."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import pytest
import sqlalchemy as sa

from credsync.storage import queue_signal
from credsync.storage.database import Database

BOUND = 10.0  # seconds a signal may take at most here (the machine is shared)


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    database = Database(db_url)
    try:
        yield database
    finally:
        database.dispose()


def _until(done: Callable[[], bool], what: str) -> None:
    started = time.monotonic()
    while not done():
        assert time.monotonic() - started < BOUND, what
        time.sleep(0.01)


def test_the_agents_of_the_database_are_told_once_after_the_commit(db: Database) -> None:
    calls: list[bool] = []
    in_transaction = threading.Event()
    undo = queue_signal.on_queued(db, lambda: calls.append(in_transaction.is_set()))
    other = Database(db.url)  # another pool: not told in-process
    told_other: list[int] = []
    undo_other = queue_signal.on_queued(other, lambda: told_other.append(1))
    try:
        with db.write() as conn:
            in_transaction.set()
            queue_signal.queued(conn)
            queue_signal.queued(conn)  # two rows in one transaction: told once
            assert calls == []  # not before the commit
            in_transaction.clear()
        assert calls == [False]

        def rolled_back() -> None:
            with db.write() as conn:
                queue_signal.queued(conn)
                raise RuntimeError("rolled back")

        with pytest.raises(RuntimeError):
            rolled_back()
        assert calls == [False]  # a rollback tells nobody
        with db.rehearsal(), db.write() as conn:
            queue_signal.queued(conn)
        assert calls == [False]  # nor a rehearsal
        with db.write() as conn:
            queue_signal.queued(conn)
        assert calls == [False, False]
    finally:
        undo()
        undo_other()
        other.dispose()
    assert told_other == []
    with db.write() as conn:
        queue_signal.queued(conn)
    assert calls == [False, False]  # undone


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_listener_is_told_through_notify_and_comes_back_after_a_kill(db: Database) -> None:
    own = Database(db.url)  # the listener's database: its own pool, as another process has
    wakes: list[float] = []
    listener = queue_signal.QueueListener(own, lambda: wakes.append(time.monotonic()))

    def told(after: int) -> bool:
        return len(wakes) > after

    listener.start()
    try:
        _until(listener.connected.is_set, "the listener never connected")
        _until(lambda: told(0), "no wake-up after connecting")  # what was queued meanwhile
        seen = len(wakes)
        with own.write() as conn:  # its own database's: told in-process, not again by NOTIFY
            queue_signal.queued(conn)
        with db.write() as conn:
            queue_signal.queued(conn)
            time.sleep(0.2)
            assert len(wakes) == seen  # not before the commit
        _until(lambda: told(seen), "NOTIFY never woke the listener")
        assert len(wakes) == seen + 1  # the other database's (delivered in commit order)

        first = listener.backend_pid
        assert first is not None
        seen = len(wakes)
        with db.write() as conn:
            conn.execute(sa.select(sa.func.pg_terminate_backend(first)))
        _until(lambda: listener.backend_pid not in (None, first), "the listener never came back")
        _until(lambda: told(seen), "no wake-up after reconnecting")
        seen = len(wakes)
        with db.write() as conn:
            queue_signal.queued(conn)
        _until(lambda: told(seen), "the listener came back deaf")
    finally:
        listener.stop()
        listener.join(BOUND)
        own.dispose()
    assert not listener.connected.is_set()

    def closed() -> bool:  # (a backend leaves pg_stat_activity a moment after its client)
        with db.read() as conn:
            query = sa.text(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE application_name = :n AND datname = current_database()"
            )
            return conn.execute(query, {"n": queue_signal.LISTENER_NAME}).scalar() == 0

    _until(closed, "the listener's connection was left open")
