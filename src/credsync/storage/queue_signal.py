"""Telling agents that a push was queued, so that they push at once instead of at their next
poll of the queue (:mod:`credsync.storage.push_queue`).

- **In this process** (``credsync serve`` runs its agent beside the API; any SQLite or
  PostgreSQL vault): :func:`queued` is called in the transaction that queued the rows, and once
  that transaction has **committed** (never before: a woken agent must see the rows; never on a
  rollback or in a rehearsal) it calls every waker registered with :func:`on_queued` for the
  same database engine.
- **Across processes, on PostgreSQL**: :func:`queued` also says ``NOTIFY credsync_push_queue``
  in that transaction, which PostgreSQL delivers at commit (and drops on a rollback) to every
  connection listening. An agent keeps one such connection in a :class:`QueueListener`: a
  thread blocking on its socket (no busy loop, no query while idle), which reconnects with a
  backoff when the connection drops and wakes its agent once it is back (what was queued
  meanwhile is seen then).
- **Across processes, on SQLite** there is no such signal: an agent in another process (``serve
  --workers N``'s agent process, ``credsync agent``) finds the rows at its next poll.

The agent's poll stays in every case as the safety net: a lost signal costs one poll interval.
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from credsync.storage.database import Database, after_commit

__all__ = ["CHANNEL", "LISTENER_NAME", "QueueListener", "on_queued", "queued"]

log = logging.getLogger("credsync.storage")

CHANNEL = "credsync_push_queue"
LISTENER_NAME = "credsync queue listener"  # its connection's application_name
_BACKOFF_FIRST = 0.5  # seconds before the first reconnect; doubled up to _BACKOFF_MAX
_BACKOFF_MAX = 30.0

# The wakers of each database engine in this process (set by agents).
_WAKERS: weakref.WeakKeyDictionary[Engine, list[Callable[[], None]]] = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()


def on_queued(db: Database, wake: Callable[[], None]) -> Callable[[], None]:
    """Call ``wake`` (from any thread) whenever a transaction of ``db`` that queued pushes has
    committed; returns the undo."""
    with _LOCK:
        _WAKERS.setdefault(db.engine, []).append(wake)

    def undo() -> None:
        with _LOCK:
            wakers = _WAKERS.get(db.engine, [])
            if wake in wakers:
                wakers.remove(wake)

    return undo


def queued(conn: Connection) -> None:
    """Pushes were queued in the transaction of ``conn``: the agents are told once it commits
    (in this process; on PostgreSQL in every process listening). Once per transaction, however
    many rows it queued."""
    if after_commit(conn, _Tell(conn.engine)) and conn.dialect.name == "postgresql":
        # delivered at commit; the payload says who already woke its own agents
        conn.execute(sa.select(sa.func.pg_notify(CHANNEL, _sender(conn.engine))))


def _sender(engine: Engine) -> str:
    """This process's engine, as a notification's payload names it."""
    return f"{os.getpid()}-{id(engine)}"


@dataclass(frozen=True)
class _Tell:
    """Wakes the agents of one engine (equal for the same engine: registered once)."""

    engine: Engine

    def __call__(self) -> None:
        with _LOCK:
            wakers = list(_WAKERS.get(self.engine, ()))
        for wake in wakers:
            wake()


class QueueListener:
    """A thread listening for :data:`CHANNEL` on a connection of its own to a PostgreSQL
    ``db``, calling ``wake`` for each notification (and once after each reconnect), but those
    of ``db`` in this process (its wakers were called already, :func:`on_queued`). Start it
    with :meth:`start`, end it with :meth:`stop` (returns at once; :meth:`join` waits)."""

    def __init__(self, db: Database, wake: Callable[[], None]) -> None:
        if db.is_sqlite:
            raise ValueError("SQLite has no notifications: the agent polls")
        self._db = db
        self._wake = wake
        self._stop = threading.Event()
        self._read_end, self._write_end = os.pipe()  # stop() interrupts the wait at once
        self._pipe_lock = threading.Lock()
        self._pipe_closed = False
        self._thread = threading.Thread(target=self._run, name="credsync-queue-listener")
        self._thread.daemon = True
        self.connected = threading.Event()  # set while listening (for tests and readiness)
        self.backend_pid: int | None = None

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        with self._pipe_lock:  # (the thread closes the pipe as it ends)
            if not self._pipe_closed:
                os.write(self._write_end, b"x")

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    def _run(self) -> None:
        delay = _BACKOFF_FIRST
        try:
            while not self._stop.is_set():
                try:
                    conn = self._connect()
                except Exception as exc:  # the database away: poll meanwhile, try again
                    log.warning(
                        "queue notifications unavailable (%s); polling, retrying in %.1f s",
                        _first_line(exc),
                        delay,
                    )
                    if self._pause(delay):
                        return
                    delay = min(_BACKOFF_MAX, delay * 2)
                    continue
                delay = _BACKOFF_FIRST
                try:
                    self._wake()  # whatever was queued while nobody listened
                    self._listen(conn)
                except Exception as exc:
                    if not self._stop.is_set():
                        log.warning(
                            "queue notifications lost (%s); polling, reconnecting",
                            _first_line(exc),
                        )
                finally:
                    self.connected.clear()
                    self.backend_pid = None
                    with contextlib.suppress(Exception):
                        conn.close()
        finally:
            with self._pipe_lock:
                self._pipe_closed = True
                os.close(self._read_end)
                os.close(self._write_end)

    def _connect(self) -> Any:
        """A connection of the database's own settings, out of its pool, listening."""
        pooled = self._db.engine.raw_connection()
        conn: Any = pooled.driver_connection
        pooled.detach()
        try:
            conn.rollback()  # the pool's ping may have opened a transaction
            conn.autocommit = True
            conn.execute("SELECT set_config('application_name', %s, false)", (LISTENER_NAME,))
            conn.execute(f"LISTEN {CHANNEL}")
            self.backend_pid = conn.info.backend_pid
        except BaseException:
            conn.close()
            raise
        self.connected.set()
        return conn

    def _listen(self, conn: Any) -> None:
        """Wait on the connection's socket (and the stop pipe); wake for each notification.
        A dropped connection raises (libpq reads its end)."""
        pgconn = conn.pgconn
        sock = pgconn.socket
        own = _sender(self._db.engine).encode()
        while not self._stop.is_set():
            ready, _, _ = select.select([sock, self._read_end], [], [])
            if self._read_end in ready:
                return
            pgconn.consume_input()  # raises once the server has closed the connection
            told = False
            while (notice := pgconn.notifies()) is not None:
                told = told or notice.extra != own  # its own were told in-process
            if told:
                self._wake()

    def _pause(self, seconds: float) -> bool:
        """Wait ``seconds`` or until stopped; whether stopped."""
        ready, _, _ = select.select([self._read_end], [], [], seconds)
        return bool(ready) or self._stop.is_set()


def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return text[0] if text else type(err).__name__
