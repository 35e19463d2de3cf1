"""The sign-in limiter in the database (``sign_in_failures``), on both backends: every server
process on the vault shares one count, a restart keeps it, concurrent failures are all
counted, and the table keeps only the window's rows, however many names are tried. Failures
count per name and address, with looser bounds per address and per name, and are stored under
the vault's HMAC key, never as a plain hash."""

from __future__ import annotations

import hashlib
import os
import threading
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from alembic import command

from credsync.api.state import SIGN_IN_FAILURES, LoginLimiter, ServerState
from credsync.crypto import KeyEncryptionKey
from credsync.storage import Database
from credsync.storage.migrate import alembic_config
from credsync.storage.tables import sign_in_failures
from credsync.testing.postgres import TempPostgres
from credsync.vault import KeyRing, Vault

KEK = KeyEncryptionKey(os.urandom(32))  # the vault's master key, as every server holds it
KEY = KEK.mac_key(SIGN_IN_FAILURES)


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


def rows(db: Database, digest: str | None = None) -> int:
    query = sa.select(sa.func.count()).select_from(sign_in_failures)
    if digest is not None:
        query = query.where(sign_in_failures.c.key_hash == digest)
    with db.read() as conn:
        return int(conn.execute(query).scalar_one())


def limiter(db: Database, **options: object) -> LoginLimiter:
    return LoginLimiter(db=db, key=lambda: KEY, **options)  # type: ignore[arg-type]


def server(db: Database) -> ServerState:
    """A server process on the vault, holding its master key."""
    return ServerState(Vault.open(db), KeyRing.of(KEK))


def test_servers_on_one_database_share_the_count_and_a_restart_keeps_it(db: Database) -> None:
    first, second = server(db), server(db)
    for _ in range(3):
        first.limiter.failed("alice", "192.0.2.7")
    for _ in range(2):
        second.limiter.failed("Alice ", "192.0.2.7")  # names as sign-in finds them
    # Five failures in all: a block, seen by both, for alice from that address only.
    assert 295 <= first.limiter.wait("alice", "192.0.2.7") <= 301
    assert 295 <= second.limiter.wait("ALICE", "192.0.2.7") <= 301
    assert second.limiter.wait("bob", "192.0.2.7") == 0
    assert second.limiter.wait("alice", "192.0.2.8") == 0
    restarted = server(db)
    assert restarted.limiter.wait("alice", "192.0.2.7") > 0
    assert len(restarted.limiter) == 3  # the pair, the address, the name
    restarted.limiter.succeeded("alice", "192.0.2.7")  # clears the pair for every server
    assert first.limiter.wait("alice", "192.0.2.7") == 0
    [pair, address, name] = first.limiter.keys_of("alice", "192.0.2.7")
    assert (rows(db, pair[0]), rows(db, address[0]), rows(db, name[0])) == (0, 5, 5)


def test_one_operators_typos_do_not_lock_out_the_others_behind_the_address(
    db: Database,
) -> None:
    """Per name and address: 5; per address (any names) and per name (any addresses): 25."""
    clock = [1000.0]
    counts = limiter(db, clock=lambda: clock[0])
    assert (counts.limit, counts.ceiling) == (5, 25)
    office, home = "198.51.100.20", "203.0.113.9"
    for _ in range(5):
        counts.failed("alice", office)
    assert counts.wait("alice", office) == 301
    assert counts.wait("bob", office) == 0  # a colleague behind the same NAT
    assert counts.wait("alice", home) == 0  # alice elsewhere
    # Many names from one address meet the address's bound...
    for n in range(20):
        clock[0] += 1
        counts.failed(f"guess{n}", office)
    assert counts.wait("bob", office) == 281  # alice's first failure leaves at 1300
    assert counts.wait("bob", home) == 0
    # ...and one name from many addresses the name's.
    for n in range(25):
        counts.failed("carol", f"192.0.2.{n}")
    assert counts.wait("carol", "192.0.2.200") > 0
    assert counts.wait("dave", "192.0.2.200") == 0
    # A good sign-in clears its own name's failures from its own address...
    for _ in range(4):
        counts.failed("erin", home)
    counts.succeeded("erin", home)
    for _ in range(4):
        counts.failed("erin", home)
    assert counts.wait("erin", home) == 0
    # ...not what the address has against it: signing in to one's own account between
    # guesses does not buy more guesses.
    lab = "192.0.2.99"
    for n in range(24):
        counts.failed(f"other{n}", lab)
    counts.succeeded("mallory", lab)
    counts.failed("other24", lab)
    assert counts.wait("mallory", lab) > 0


def test_failures_are_stored_as_hmacs_under_the_vault_s_key(db: Database) -> None:
    """What was typed as a name (a password, sometimes) can't be guessed back from a row,
    and a limiter without the vault's key counts nothing of them."""
    typed = "Correct-Horse-Battery-9"  # a password typed into the name field
    counts = limiter(db)
    counts.failed(typed, "192.0.2.50")
    with db.read() as conn:
        stored = set(conn.execute(sa.select(sign_in_failures.c.key_hash)).scalars())
    assert len(stored) == 3
    plain = {
        hashlib.sha256(text.encode()).hexdigest()
        for text in (
            typed,
            typed.casefold(),
            f"name:{typed.casefold()}",
            "addr:192.0.2.50",
            "192.0.2.50",
        )
    }
    assert stored.isdisjoint(plain)
    assert stored == {digest for digest, _ in counts.keys_of(typed, "192.0.2.50")}
    other_vault = LoginLimiter(db=db, key=lambda: KeyEncryptionKey(os.urandom(32)).mac_key("x"))
    assert other_vault.keys_of(typed, "192.0.2.50")[0][0] not in stored


def test_the_window_and_retry_after_hold_across_limiters(db: Database) -> None:
    clock = [1000.0]
    one, other = (limiter(db, limit=3, window=60, clock=lambda: clock[0]) for _ in range(2))
    for counts in (one, other, one):
        counts.failed("alice", "192.0.2.1")
        clock[0] += 10
    assert other.wait("alice", "192.0.2.1") == 31  # the first failure leaves the window at 1060
    other.failed("alice", "192.0.2.1")  # a fourth at 1030: blocked until the second leaves
    assert one.wait("alice", "192.0.2.1") == 41
    [pair, _, _] = one.keys_of("alice", "192.0.2.1")
    assert rows(db, pair[0]) == 4  # kept up to the looser bounds (15), for the other keys
    clock[0] = 1070.5
    assert one.wait("alice", "192.0.2.1") == 0
    assert len(other) == 3  # alice's failures at 1020 and 1030 are in the window yet


def test_failures_at_once_from_two_processes_are_all_counted(db: Database) -> None:
    """Two servers (an engine each, in threads here) failing at the same moment: no failure
    is lost, on SQLite (one writer at a time) as on PostgreSQL (inserts, no read-back)."""
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def fail_25_times() -> None:
        own = Database(db.url)
        try:
            counts = limiter(own, limit=50)
            start.wait()
            for _ in range(25):
                counts.failed("alice", "198.51.100.1")
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
    [pair, _, _] = limiter(db).keys_of("alice", "198.51.100.1")
    assert rows(db, pair[0]) == 50
    assert limiter(db, limit=50).wait("alice", "198.51.100.1") > 0
    assert limiter(db, limit=51).wait("alice", "198.51.100.1") == 0


def test_expired_rows_are_swept_and_a_flood_keeps_the_table_small(db: Database) -> None:
    clock = [5000.0]
    counts = limiter(db, limit=3, window=60, max_keys=100, clock=lambda: clock[0])
    for n in range(20):
        counts.failed("carol", f"203.0.113.{n}")
    assert rows(db) == 20 + 20 + 15  # a pair and an address each; carol's newest 15
    clock[0] += 61
    counts.failed("dave", "192.0.2.1")  # a window since the last sweep: the expired rows go
    assert rows(db) == 3
    largest = 0
    for n in range(300):  # a spray of made-up names from made-up addresses
        clock[0] += 0.01
        counts.failed(f"spray{n}", f"10.9.{n // 256}.{n % 256}")
        largest = max(largest, rows(db))
    assert largest <= 100
    assert counts.wait("spray299", "10.9.1.43") == 0
    counts.failed("spray299", "10.9.1.43")
    counts.failed("spray299", "10.9.1.43")
    assert counts.wait("spray299", "10.9.1.43") > 0  # the newest were kept
    with db.read() as conn:
        stored = conn.execute(sa.select(sign_in_failures.c.key_hash)).scalars().all()
    assert all(len(h) == 64 and set(h) <= set("0123456789abcdef") for h in stored)  # digests


def test_the_migration_drops_the_failures_keyed_the_old_way(db: Database) -> None:
    """Rows of the plain-SHA-256 scheme (before the HMAC keys) are deleted on upgrade."""
    with db.engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0010")  # before the HMAC keys
        old = hashlib.sha256(b"name:alice").hexdigest()
        conn.execute(
            sa.text("INSERT INTO sign_in_failures (id, key_hash, at) VALUES (:i, :k, :a)"),
            {"i": str(uuid.uuid4()), "k": old, "a": "2026-01-01 00:00:00"},
        )
    assert rows(db) == 1
    db.upgrade()
    assert rows(db) == 0
