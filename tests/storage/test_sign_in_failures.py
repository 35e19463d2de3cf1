"""The sign-in limiter in the database (``sign_in_failures``), on both backends: every server
process on the vault shares one count, a restart keeps it, concurrent failures are all
counted, and the table keeps only the window's rows, however many names are tried."""

from __future__ import annotations

import hashlib
import threading
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from credsync.api.state import LoginLimiter, ServerState
from credsync.storage import Database
from credsync.storage.tables import sign_in_failures
from credsync.testing.postgres import TempPostgres
from credsync.vault import KeyRing, Vault


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def shared_db(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Database]:
    """One database (the schema only) per backend for the module."""
    name = None
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('limiter') / 'vault.db'}"
    else:
        server: TempPostgres = request.getfixturevalue("pg_server")
        name = f"l_{uuid.uuid4().hex[:12]}"
        url = server.create_database(name)
    db = Database(url)
    db.upgrade()
    try:
        yield db
    finally:
        db.dispose()
        if name is not None:
            request.getfixturevalue("pg_server").drop_database(name)


@pytest.fixture
def db(shared_db: Database) -> Database:
    """The module's database with no failures in it."""
    with shared_db.write() as conn:
        conn.execute(sign_in_failures.delete())
    return shared_db


def rows(db: Database, key: str | None = None) -> int:
    query = sa.select(sa.func.count()).select_from(sign_in_failures)
    if key is not None:
        digest = hashlib.sha256(key.encode()).hexdigest()
        query = query.where(sign_in_failures.c.key_hash == digest)
    with db.read() as conn:
        return int(conn.execute(query).scalar_one())


def test_servers_on_one_database_share_the_count_and_a_restart_keeps_it(db: Database) -> None:
    first, second = (ServerState(Vault.open(db), KeyRing(None)) for _ in range(2))
    keys = ("addr:192.0.2.7", "name:alice")
    for _ in range(3):
        first.limiter.failed(*keys)
    for _ in range(2):
        second.limiter.failed(*keys)
    # Five failures in all: a block, seen by both, for the address with any name.
    assert 295 <= first.limiter.wait(*keys) <= 301
    assert 295 <= second.limiter.wait("addr:192.0.2.7", "name:bob") <= 301
    assert second.limiter.wait("addr:192.0.2.8", "name:bob") == 0
    restarted = ServerState(Vault.open(db), KeyRing(None))
    assert restarted.limiter.wait("name:alice") > 0
    assert len(restarted.limiter) == 2
    restarted.limiter.succeeded(*keys)  # a good sign-in clears them for every server
    assert first.limiter.wait(*keys) == 0
    assert rows(db) == 0


def test_the_window_and_retry_after_hold_across_limiters(db: Database) -> None:
    clock = [1000.0]
    one, other = (LoginLimiter(limit=3, window=60, db=db, clock=lambda: clock[0]) for _ in range(2))
    for limiter in (one, other, one):
        limiter.failed("name:alice")
        clock[0] += 10
    assert other.wait("name:alice") == 31  # the first failure leaves the window at 1060
    other.failed("name:alice")  # a fourth at 1030: blocked until the second (1010) leaves
    assert one.wait("name:alice") == 41
    assert rows(db, "name:alice") == 3  # more than the limit tells nothing more
    clock[0] = 1070.5
    assert one.wait("name:alice") == 0
    assert len(other) == 1  # alice's failures at 1020 and 1030 are in the window yet


def test_failures_at_once_from_two_processes_are_all_counted(db: Database) -> None:
    """Two servers (an engine each, in threads here) failing at the same moment: no failure
    is lost, on SQLite (one writer at a time) as on PostgreSQL (inserts, no read-back)."""
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def fail_25_times() -> None:
        own = Database(db.url)
        try:
            limiter = LoginLimiter(limit=50, db=own)
            start.wait()
            for _ in range(25):
                limiter.failed("addr:198.51.100.1")
        except BaseException as err:  # pragma: no cover - reported below
            errors.append(err)
        finally:
            own.dispose()

    threads = [threading.Thread(target=fail_25_times) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert rows(db, "addr:198.51.100.1") == 50
    assert LoginLimiter(limit=50, db=db).wait("addr:198.51.100.1") > 0
    assert LoginLimiter(limit=51, db=db).wait("addr:198.51.100.1") == 0


def test_expired_rows_are_swept_and_a_flood_keeps_the_table_small(db: Database) -> None:
    clock = [5000.0]
    limiter = LoginLimiter(limit=3, window=60, max_keys=100, db=db, clock=lambda: clock[0])
    for n in range(20):
        limiter.failed(f"addr:203.0.113.{n}", "name:carol")
    assert rows(db) == 20 + 3
    clock[0] += 61
    limiter.failed("name:dave")  # a window since the last sweep: the expired rows go
    assert rows(db) == 1
    largest = 0
    for n in range(300):  # a spray of made-up names
        clock[0] += 0.01
        limiter.failed(f"name:spray{n}")
        largest = max(largest, rows(db))
    assert largest <= 100
    assert limiter.wait("name:spray299") == 0
    limiter.failed("name:spray299")
    limiter.failed("name:spray299")
    assert limiter.wait("name:spray299") > 0  # the newest were kept
    with db.read() as conn:
        stored = conn.execute(sa.select(sign_in_failures.c.key_hash)).scalars().all()
    assert all(len(h) == 64 and set(h) <= set("0123456789abcdef") for h in stored)  # digests
