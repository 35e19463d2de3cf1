"""Engines, transactions and schema checks for SQLite and PostgreSQL.

SQLite runs in WAL mode with one writer at a time: write transactions start with
``BEGIN IMMEDIATE`` so two processes queue for the write lock instead of failing half-way (the
busy timeout bounds the wait). Within a process, write transactions also take a lock of the
:class:`Database` first: threads then queue on it and go on as soon as the writer before them
commits, instead of SQLite's busy handler putting them to sleep (1, 2, 5, 10... ms between
tries) while the database is already free. Readers never block. PostgreSQL runs at READ
COMMITTED; services lock the rows they change (``SELECT ... FOR UPDATE``) and check record
versions.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event, exc
from sqlalchemy.engine import Connection, Engine, make_url

from credsync.errors import ConfigError, Conflict, NotFound, SchemaOutOfDate, StorageError

__all__ = ["SCHEMA_REVISION", "Database", "after_commit"]

SCHEMA_REVISION = "0050"
_BUSY_TIMEOUT_S = 60
# A pooled PostgreSQL connection idle for longer than this is pinged before it is handed out
# (see _ping_if_idle); one used more recently is handed out as it is.
PING_AFTER_IDLE_S = 5.0


def normalise_url(url: str) -> str:
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


class Database:
    """One database; hands out read and write transactions."""

    def __init__(self, url: str) -> None:
        self.url = normalise_url(url)
        try:
            parsed = make_url(self.url)
        except exc.ArgumentError as err:
            raise ConfigError(f"CREDSYNC_DATABASE_URL is not a database URL: {err}") from None
        self.dialect = parsed.get_backend_name()
        if self.dialect not in ("sqlite", "postgresql"):
            raise ConfigError(
                f"CREDSYNC_DATABASE_URL: unsupported database {self.dialect!r}; "
                "use sqlite:/// or postgresql://"
            )
        self.safe_url = parsed.render_as_string(hide_password=True)
        self.sqlite_path = (
            Path(parsed.database) if self.dialect == "sqlite" and parsed.database else None
        )
        self.engine = self._make_engine()
        # SQLite's one writer, queued for in this process (see the module's docstring);
        # re-entrant, so a nested write transaction behaves as it would without it
        self._sqlite_writer = threading.RLock() if self.dialect == "sqlite" else None

    def _make_engine(self) -> Engine:
        if self.dialect == "sqlite":
            engine = sa.create_engine(
                self.url,
                hide_parameters=True,
                connect_args={"timeout": _BUSY_TIMEOUT_S, "check_same_thread": False},
            )
            event.listen(engine, "connect", _sqlite_on_connect)
            event.listen(engine, "begin", _sqlite_on_begin)
            engine.dialect.do_begin = _sqlite_do_begin  # type: ignore[method-assign,assignment]
            return engine
        engine = sa.create_engine(
            self.url,
            hide_parameters=True,
            connect_args={"connect_timeout": 10, "application_name": "credsync"},
        )
        event.listen(engine, "checkout", _ping_if_idle(engine))
        event.listen(engine, "checkin", _note_checkin)
        return engine

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    @contextlib.contextmanager
    def read(self) -> Iterator[Connection]:
        with self._transaction(write=False) as conn:
            yield conn

    @contextlib.contextmanager
    def lookup(self) -> Iterator[Connection]:
        """A read whose statements each see the database as of their own start: on PostgreSQL
        outside a transaction (autocommit), which READ COMMITTED gives a read transaction
        anyway, without its BEGIN and COMMIT (two round trips); on SQLite a :meth:`read`.
        For reads only (a statement that writes would commit at once)."""
        if self.is_sqlite or _REHEARSAL.get() is not None:
            with self.read() as conn:
                yield conn
            return
        with self._mapped_errors(), self.engine.connect() as conn:
            yield conn.execution_options(isolation_level="AUTOCOMMIT")

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[Connection]:
        """One read-only transaction that sees the whole database as of one instant while
        others go on writing (a backup): PostgreSQL's REPEATABLE READ, READ ONLY; on SQLite
        (WAL) any read transaction is one snapshot, taken at its first read."""
        with self._mapped_errors(), self.engine.connect() as conn:
            if not self.is_sqlite:
                conn = conn.execution_options(
                    isolation_level="REPEATABLE READ", postgresql_readonly=True
                )
            with conn.begin():
                yield conn

    @contextlib.contextmanager
    def one_read(self) -> Iterator[None]:
        """Every :meth:`read` in the block (in this context: its thread or task) is one read
        transaction, begun at the first and ended with the block: a request that makes
        several small reads (the identity provider's continue step: the domain, the person's
        session, the sign-in request) pays for one pool checkout, BEGIN and COMMIT instead of
        one each. Its reads see one snapshot on SQLite (WAL), each statement its own on
        PostgreSQL (READ COMMITTED), as in any read transaction. Writes stay transactions of
        their own, and one that commits ends the block's read transaction: the reads after
        it begin another, and see what was written. In a rehearsal, or in another such
        block, it changes nothing."""
        if _REHEARSAL.get() is not None or _SHARED_READ.get() is not None:
            yield
            return
        shared = _SharedRead(self)
        token = _SHARED_READ.set(shared)
        try:
            yield
        finally:
            _SHARED_READ.reset(token)
            with self._mapped_errors():
                shared.end()

    @contextlib.contextmanager
    def write(self) -> Iterator[Connection]:
        """A transaction that will write: all of it commits, or none of it."""
        with self._transaction(write=True) as conn:
            yield conn

    @contextlib.contextmanager
    def rehearsal(self) -> Iterator[None]:
        """A dry run of code written for real changes: every transaction this database opens
        in the block (in this context: its thread or task) is a savepoint of one write
        transaction that is rolled back at the block's end. The code sees its own changes as
        it goes (a refusal in one transaction undoes that one only, as it would), and nothing
        is kept; :func:`after_commit` callbacks are never called."""
        if _REHEARSAL.get() is not None:  # pragma: no cover - a wiring mistake
            raise RuntimeError("a rehearsal is already under way")
        with self._mapped_errors(), self.engine.connect() as conn:
            conn = conn.execution_options(credsync_write=True)
            outer = conn.begin()
            token = _REHEARSAL.set((self, conn))
            try:
                yield
            finally:
                _REHEARSAL.reset(token)
                conn.info.pop(_AFTER_COMMIT, None)
                outer.rollback()

    @contextlib.contextmanager
    def _transaction(self, *, write: bool) -> Iterator[Connection]:
        rehearsed = _REHEARSAL.get()
        if rehearsed is not None and rehearsed[0] is self:
            with self._mapped_errors(), rehearsed[1].begin_nested():
                yield rehearsed[1]
            return
        shared = _SHARED_READ.get()
        if shared is not None and shared.db is not self:
            shared = None
        if shared is not None and not write:
            with self._mapped_errors(), shared.read() as conn:
                yield conn
            return
        with self._writer(write), self._mapped_errors(), self.engine.connect() as conn:
            if write:
                conn = conn.execution_options(credsync_write=True)
            try:
                with conn.begin():
                    yield conn
            except BaseException:
                conn.info.pop(_AFTER_COMMIT, None)
                raise
            callbacks = conn.info.pop(_AFTER_COMMIT, ())
        with self._mapped_errors():
            if shared is not None:  # committed: the block's reads after it see it
                shared.written()
            for callback in callbacks:  # committed, and the write lock let go
                callback()

    @contextlib.contextmanager
    def _writer(self, write: bool) -> Iterator[None]:
        """This process's turn to write to SQLite (nothing for reads or PostgreSQL); waits
        as long as SQLite's busy timeout would, then says the database is locked."""
        lock = self._sqlite_writer if write else None
        if lock is None:
            yield
            return
        if not lock.acquire(timeout=_BUSY_TIMEOUT_S):
            raise StorageError(f"database error at {self.safe_url}: database is locked")
        try:
            yield
        finally:
            lock.release()

    @contextlib.contextmanager
    def _mapped_errors(self) -> Iterator[None]:
        try:
            yield
        except exc.IntegrityError as err:
            raise Conflict(
                "the change conflicts with a record written at the same time "
                f"({_first_line(err.orig)}); reload and retry"
            ) from None
        except exc.OperationalError as err:
            raise StorageError(
                f"database error at {self.safe_url}: {_first_line(err.orig)}{self._read_only()}"
            ) from None
        except exc.DBAPIError as err:
            raise StorageError(
                f"database error at {self.safe_url}: {_first_line(err.orig)}"
            ) from None

    def _read_only(self) -> str:
        """What SQLite leaves out of "unable to open database file" when the file system
        (or the file) is read-only: said, so that the operator knows what to mend."""
        path = self.sqlite_path
        if path is None:
            return ""
        target = path if path.exists() else path.parent
        return "" if os.access(target, os.W_OK) else f" ({target} is read-only)"

    def schema_revision(self) -> str | None:
        """The Alembic revision the database is at, or None for an empty database."""
        if self.sqlite_path is not None and not self.sqlite_path.exists():
            return None  # and do not let SQLite create the file as a side effect
        with self.read() as conn:
            return _revision_in(conn)

    def require_schema(self) -> None:
        revision = self.schema_revision()
        if revision is None:
            raise NotFound(f"no credsync vault in {self.safe_url}: run `credsync init` first")
        if revision != SCHEMA_REVISION:
            raise SchemaOutOfDate(
                f"the vault schema is at revision {revision}, this credsync needs "
                f"{SCHEMA_REVISION}: run `credsync db upgrade`"
            )

    def upgrade(self) -> None:
        """Bring the schema to the newest revision (Alembic, imported only here).

        On SQLite the migrations run with foreign keys unchecked, as Alembic advises: its
        batch migrations copy a table that others refer to, drop the old one and rename the
        copy, which SQLite refuses while rows refer to it. They are checked once at the end
        (``PRAGMA foreign_key_check``), in the same transaction: a violation undoes it all."""
        from credsync.storage.migrate import upgrade_to_head

        if self.sqlite_path is not None:
            _prepare_sqlite_file(self.sqlite_path)
        try:
            with self._writer(True), self.engine.connect() as conn:
                raw = conn.connection.driver_connection if self.is_sqlite else None
                if raw is not None:
                    raw.execute("PRAGMA foreign_keys=OFF")  # outside a transaction, or no-op
                try:
                    with conn.begin():
                        if _revision_in(conn) == SCHEMA_REVISION:
                            return  # nothing to do: Alembic would read every revision's file
                        upgrade_to_head(conn)
                        if raw is not None:
                            _check_foreign_keys(conn, self.safe_url)
                finally:
                    if raw is not None:
                        raw.execute("PRAGMA foreign_keys=ON")
        except exc.SQLAlchemyError as err:
            orig = getattr(err, "orig", err)
            raise StorageError(
                f"migration failed at {self.safe_url}: {_first_line(orig)}"
            ) from None

    def is_empty(self) -> bool:
        """Whether the database has no tables at all (a missing SQLite file is empty)."""
        if self.sqlite_path is not None and not self.sqlite_path.exists():
            return True
        with self.read() as conn:
            return not sa.inspect(conn).get_table_names()

    @contextlib.contextmanager
    def first_write(self) -> Iterator[Connection]:
        """One transaction that fills an empty database (a restore): all of it commits or
        none of it does, and a SQLite file it had to create is removed again on failure."""
        created = self.sqlite_path is not None and not self.sqlite_path.exists()
        if self.sqlite_path is not None:
            _prepare_sqlite_file(self.sqlite_path)
        try:
            with self._writer(True), self._mapped_errors(), self.engine.begin() as conn:
                yield conn
        except BaseException:
            if created and self.sqlite_path is not None:
                self.engine.dispose()
                for suffix in ("", "-wal", "-shm", "-journal"):
                    Path(f"{self.sqlite_path}{suffix}").unlink(missing_ok=True)
            raise

    def dispose(self) -> None:
        self.engine.dispose()


def _check_foreign_keys(conn: Connection, where: str) -> None:
    broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if broken:
        tables = sorted({str(row[0]) for row in broken})
        raise StorageError(
            f"migration failed at {where}: rows refer to rows that are missing "
            f"(tables: {', '.join(tables)}); nothing was changed"
        )


def _revision_in(conn: Connection) -> str | None:
    if not sa.inspect(conn).has_table("alembic_version"):
        return None
    revision = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
    return None if revision is None else str(revision)


_AFTER_COMMIT = "credsync_after_commit"
# The database and connection of the rehearsal under way in this context (Database.rehearsal).
_REHEARSAL: ContextVar[tuple[Database, Connection] | None] = ContextVar(
    "credsync_rehearsal", default=None
)


@dataclasses.dataclass
class _SharedRead:
    """The read transaction of a :meth:`Database.one_read` block: begun at its first read,
    ended by a write's commit or by the block's end."""

    db: Database
    conn: Connection | None = None
    stack: contextlib.ExitStack | None = None
    readers: int = 0  # reads of the block under way (a write may sit inside one)
    stale: bool = False  # a write committed while a read was under way

    @contextlib.contextmanager
    def read(self) -> Iterator[Connection]:
        if self.conn is None:
            stack = contextlib.ExitStack()
            conn = stack.enter_context(self.db.engine.connect())
            try:
                stack.enter_context(conn.begin())
            except BaseException:
                stack.close()
                raise
            self.conn, self.stack = conn, stack
        self.readers += 1
        try:
            yield self.conn
        finally:
            self.readers -= 1
            if self.stale and not self.readers:
                self.end()

    def written(self) -> None:
        """A write committed: end the transaction now, or after the reads under way."""
        if self.readers:
            self.stale = True
        else:
            self.end()

    def end(self) -> None:
        stack, self.conn, self.stack, self.stale = self.stack, None, None, False
        if stack is not None:
            stack.close()


_SHARED_READ: ContextVar[_SharedRead | None] = ContextVar("credsync_one_read", default=None)


def after_commit(conn: Connection, callback: Callable[[], None]) -> bool:
    """Call ``callback`` once the write transaction of ``conn`` has committed (never if it
    rolls back): what others may only be told once they can see it (an agent woken for a
    queued push). A callback equal to one already waiting is called once; returns whether
    this one was new."""
    waiting = conn.info.setdefault(_AFTER_COMMIT, [])
    if callback in waiting:
        return False
    waiting.append(callback)
    return True


def _first_line(err: object) -> str:
    text = str(err).strip().splitlines()
    return text[0] if text else type(err).__name__


def _prepare_sqlite_file(path: Path) -> None:
    """Create the parent directory (0700) and an empty database file (0600) before SQLite does."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        if not path.exists():
            fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
            os.close(fd)
    except OSError as err:
        raise StorageError(f"cannot create the database file {path}: {err.strerror}") from None


_CHECKED_IN = "credsync_checked_in"


def _ping_if_idle(engine: Engine) -> Callable[[Any, Any, Any], None]:
    """The pool's pre-ping, for connections idle longer than :data:`PING_AFTER_IDLE_S` only.

    ``pool_pre_ping`` pings on each checkout: a round trip before every transaction, which
    on a busy machine waits for a CPU as a query does. A connection the server closed (a
    restart, an idle timeout) while it sat in the pool is found by the ping and replaced
    before it is used (``DisconnectionError``: the pool connects again); one that breaks
    within seconds of its last use fails its statement instead (a StorageError), and the
    pool drops it and every connection opened before it, so the next transaction connects
    anew."""

    def ping(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        used = record.info.get(_CHECKED_IN)
        if used is None or time.monotonic() - used < PING_AFTER_IDLE_S:
            return  # new (the pool forgets what it knew of a connection it replaced) or recent
        try:
            engine.dialect.do_ping(dbapi_conn)
        except engine.dialect.loaded_dbapi.Error as err:
            raise exc.DisconnectionError(f"ping failed: {type(err).__name__}") from None

    return ping


def _note_checkin(_dbapi_conn: Any, record: Any) -> None:
    record.info[_CHECKED_IN] = time.monotonic()


def _sqlite_on_connect(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.isolation_level = None  # we issue BEGIN ourselves (see _sqlite_on_begin)
    cursor = dbapi_conn.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_S * 1000}")
        cursor.execute("PRAGMA cache_size=-65536")  # 64 MiB of page cache (default: 2 MiB)
        cursor.execute("PRAGMA temp_store=MEMORY")
    finally:
        cursor.close()


_BEGIN = "credsync_begin"


def _sqlite_on_begin(conn: Connection) -> None:
    """Which BEGIN :func:`_sqlite_do_begin` says: IMMEDIATE for a write transaction."""
    write = conn.get_execution_options().get("credsync_write")
    conn.connection.info[_BEGIN] = "BEGIN IMMEDIATE" if write else "BEGIN"


def _sqlite_do_begin(dbapi_conn: Any) -> None:
    """The dialect's ``do_begin`` on SQLite: the BEGIN said straight to the driver (through
    ``exec_driver_sql`` it took SQLAlchemy's statement path: ~5-8 us more a transaction,
    bench/README.md "federated_sign_in.py"); SQLAlchemy still maps its errors (a database
    locked past the busy timeout is a StorageError as before)."""
    dbapi_conn.driver_connection.execute(dbapi_conn.info.pop(_BEGIN, "BEGIN")).close()
