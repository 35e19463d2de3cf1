"""The push queue (storage.push_queue) on both backends: claims that hold and expire, acks,
releases, the backoff, the dead letter (given up after the last attempt, or at once; never
claimed again; replaced by a newer change, settled by a run), and on PostgreSQL two claims at
once taking different rows (FOR UPDATE SKIP LOCKED). Revision 0010 round trip."""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import sqlalchemy as sa
from alembic import command

from credsync.storage import credentials as credential_rows
from credsync.storage import directories as directory_rows
from credsync.storage import push_queue
from credsync.storage.migrate import alembic_config
from credsync.storage.tables import sync_queue
from credsync.testing.postgres import TempPostgres
from credsync.types import Secret
from credsync.vault.directories import DirectoryInput
from credsync.vault.drafts import make_draft
from vault.helpers import VaultWorld, add_bind_credential, make_world

NOW = dt.datetime(2026, 12, 6, 12, 0, tzinfo=dt.UTC)
LEASE = dt.timedelta(seconds=120)


@dataclass
class Queue:
    world: VaultWorld
    creds: list[str]
    directories: list[str]

    def enqueue(self, cred: int, version: int = 2, at: dt.datetime = NOW) -> None:
        with self.world.db.write() as conn:
            push_queue.enqueue(conn, self.creds[cred], self.directories, version, at)

    def claim(self, owner: str = "agent-1", at: dt.datetime = NOW, limit: int = 200) -> list:
        with self.world.db.write() as conn:
            return push_queue.claim(conn, owner=owner, now=at, lease=LEASE, limit=limit)

    def rows(self) -> list[sa.Row]:
        with self.world.db.read() as conn:
            return list(conn.execute(sa.select(sync_queue).order_by(sync_queue.c.id)).all())


def build(world: VaultWorld, creds: int = 2, directories: int = 2) -> Queue:
    vault, admin, keys = world.vault, world.admin, world.keys
    client = f"Client {uuid.uuid4().hex[:8]}"
    vault.clients.add(admin, keys, client, directory_sync=True)
    bind = add_bind_credential(world, client)
    made = [
        vault.directories.add(
            admin,
            client,
            f"dc{n}-{uuid.uuid4().hex[:6]}",
            "active-directory",
            DirectoryInput.of(
                {
                    "url": "ldaps://127.0.0.1:1",
                    "base_dn": "DC=example,DC=test",
                    "bind_credential": bind.id,
                }
            ),
        ).id
        for n in range(directories)
    ]
    users = [
        vault.credentials.add(
            admin,
            keys,
            client,
            make_draft(title=f"User {n}", username=f"user{n}", password=Secret("Pa55-word-1!")),
        ).id
        for n in range(creds)
    ]
    return Queue(world, users, made)


def test_a_claimed_push_is_not_claimed_again_until_its_claim_expires(world: VaultWorld) -> None:
    q = build(world)
    q.enqueue(0)
    first = q.claim("agent-1")
    assert [(c.credential_id, c.directory_id) for c in first] == [
        (q.creds[0], d) for d in q.directories
    ]
    assert q.claim("agent-2", NOW + LEASE) == []  # the claim holds for its whole lease
    again = q.claim("agent-2", NOW + LEASE + dt.timedelta(seconds=1))  # its holder stopped
    assert [c.id for c in again] == [c.id for c in first]
    assert {r.claimed_by for r in q.rows()} == {"agent-2"}
    with world.db.write() as conn:
        push_queue.ack(conn, [again[0].id])
    assert [r.id for r in q.rows()] == [again[1].id]


def test_a_directory_another_agent_holds_claims_in_is_left_to_it(world: VaultWorld) -> None:
    """Agent 2 takes none of directory 0's rows while agent 1 holds live claims there (its
    run would only wait for agent 1's), but those of directory 1; once agent 1's claims have
    expired, directory 0's remaining rows are anyone's."""
    q = build(world, creds=3)
    for cred in range(3):
        with world.db.write() as conn:
            push_queue.enqueue(conn, q.creds[cred], [q.directories[0]], 2, NOW)
    first = q.claim("agent-1", limit=1)
    assert [c.directory_id for c in first] == [q.directories[0]]
    q.enqueue(0, version=3)  # both directories
    second = q.claim("agent-2")
    assert {c.directory_id for c in second} == {q.directories[1]}
    assert len(q.claim("agent-1")) == 3  # its own directory's rest (its claims don't stop it)
    expired = NOW + LEASE + dt.timedelta(seconds=1)
    later = q.claim("agent-3", at=expired)
    assert {c.directory_id for c in later} == set(q.directories)


def test_a_claim_of_several_directories_takes_the_oldest_rows_of_each(world: VaultWorld) -> None:
    """With ``directories``, up to ``limit`` rows of each of that many directories, those
    whose oldest due row is oldest first: one agent works on several directories at once."""
    q = build(world, creds=3, directories=3)
    for cred in range(3):  # directory 2's rows first, then 1's, then 0's
        for d in (2, 1, 0):
            with world.db.write() as conn:
                push_queue.enqueue(conn, q.creds[cred], [q.directories[d]], 2, NOW)
    with world.db.write() as conn:
        claimed = push_queue.claim(conn, owner="a", now=NOW, lease=LEASE, limit=2, directories=2)
    by_directory: dict[str, list[str]] = {}
    for c in claimed:
        by_directory.setdefault(c.directory_id, []).append(c.credential_id)
    assert by_directory == {
        q.directories[2]: q.creds[:2],
        q.directories[1]: q.creds[:2],
    }


def test_a_renewed_claim_holds_until_its_new_end_and_only_its_holder_renews(
    world: VaultWorld,
) -> None:
    q = build(world, directories=1)
    q.enqueue(0)
    q.enqueue(1)
    claimed = [c.id for c in q.claim("agent-1")]
    renewed_until = NOW + 2 * LEASE
    with world.db.write() as conn:
        assert push_queue.renew(conn, "agent-1", claimed, renewed_until) == 2
        assert push_queue.renew(conn, "agent-2", claimed, NOW + 5 * LEASE) == 0
        push_queue.ack(conn, claimed[:1])
        assert push_queue.renew(conn, "agent-1", claimed, renewed_until) == 1  # acked: gone
    assert q.claim("agent-2", NOW + LEASE + dt.timedelta(seconds=1)) == []
    again = q.claim("agent-2", renewed_until + dt.timedelta(seconds=1))
    assert [c.id for c in again] == claimed[1:]


def test_a_released_push_waits_without_counting_an_attempt(world: VaultWorld) -> None:
    q = build(world, directories=1)
    q.enqueue(0)
    [claimed] = q.claim()
    with world.db.write() as conn:
        push_queue.release(conn, [claimed.id], NOW + dt.timedelta(seconds=2))
    assert q.claim(at=NOW + dt.timedelta(seconds=1)) == []
    assert [c.id for c in q.claim(at=NOW + dt.timedelta(seconds=2))] == [claimed.id]
    [row] = q.rows()
    assert (row.attempts, row.last_error, row.dead_at) == (0, None, None)


def test_failed_attempts_back_off_then_the_push_is_given_up(world: VaultWorld) -> None:
    q = build(world, directories=1)
    q.enqueue(0)
    [claimed] = q.claim()
    at = NOW
    for attempt in range(1, push_queue.GIVE_UP_AFTER):
        with world.db.write() as conn:
            given_up = push_queue.retry_later(conn, [claimed.id], "unreachable: no answer", at)
        assert given_up == []
        [row] = q.rows()
        wait = push_queue.delay_after(attempt - 1)
        assert (row.attempts, row.last_error, row.claimed_by) == (
            attempt,
            "unreachable: no answer",
            None,
        )
        assert q.claim(at=at + dt.timedelta(seconds=wait - 0.5)) == []
        [claimed] = q.claim(at=at + dt.timedelta(seconds=wait))
        at += dt.timedelta(seconds=wait)
    assert push_queue.delay_after(0) == 1.0
    assert push_queue.delay_after(40) == push_queue.MAX_DELAY
    with world.db.write() as conn:
        [given_up] = push_queue.retry_later(conn, [claimed.id], "unreachable: still none", at)
    assert (given_up.credential_id, given_up.directory_id) == (q.creds[0], q.directories[0])
    assert given_up.attempts == push_queue.GIVE_UP_AFTER
    assert given_up.secret_version == 2
    assert given_up.dead_reason == (
        f"given up after {push_queue.GIVE_UP_AFTER} failed attempts: unreachable: still none"
    )
    [row] = q.rows()  # kept, for people to see
    assert row.dead_reason == given_up.dead_reason
    assert row.dead_at is not None
    assert q.claim(at=at + dt.timedelta(days=365)) == []  # and never claimed again
    with world.db.read() as conn:
        [shown] = push_queue.of_credential(conn, q.creds[0])
    assert (shown.attempts, shown.dead_reason) == (push_queue.GIVE_UP_AFTER, given_up.dead_reason)


def test_a_push_given_up_at_once_and_a_newer_change_queued_afresh(world: VaultWorld) -> None:
    q = build(world, creds=2)
    q.enqueue(0)
    q.enqueue(1)
    claimed = q.claim()
    mine = [c.id for c in claimed if c.credential_id == q.creds[0]]
    with world.db.write() as conn:
        given_up = push_queue.give_up(conn, mine, "the push can't be made: IntegrityError", NOW)
        assert push_queue.give_up(conn, mine, "again", NOW) == []  # given up once
    assert sorted(g.directory_id for g in given_up) == sorted(q.directories)
    assert {g.attempts for g in given_up} == {0}
    with world.db.read() as conn:
        assert push_queue.given_up_credentials(conn, q.directories[0]) == {q.creds[0]}
    # The credential's password changes again: the given-up pushes make way for new ones.
    q.enqueue(0, version=3, at=NOW + dt.timedelta(minutes=5))
    rows = [r for r in q.rows() if r.credential_id == q.creds[0]]
    assert [(r.secret_version, r.attempts, r.dead_at) for r in rows] == [(3, 0, None)] * 2
    later = q.claim(at=NOW + dt.timedelta(minutes=5))  # (user 1's claims expired meanwhile)
    assert sorted(c.credential_id for c in later).count(q.creds[0]) == 2


def test_a_run_in_step_settles_given_up_pushes_of_its_directory_only(world: VaultWorld) -> None:
    q = build(world, creds=2)
    q.enqueue(0)
    q.enqueue(1)
    claimed = q.claim()
    with world.db.write() as conn:
        push_queue.give_up(conn, [c.id for c in claimed], "unreachable", NOW)
        push_queue.settle(conn, q.directories[0], [q.creds[0]])
    left = {(r.credential_id, r.directory_id) for r in q.rows()}
    assert left == {
        (q.creds[0], q.directories[1]),
        (q.creds[1], q.directories[0]),
        (q.creds[1], q.directories[1]),
    }


def test_forgetting_a_credential_or_a_directory_drops_its_pushes(world: VaultWorld) -> None:
    q = build(world, creds=2)
    q.enqueue(0)
    q.enqueue(1)
    with world.db.write() as conn:
        push_queue.forget_credential(conn, q.creds[0])
        push_queue.forget_directory(conn, q.directories[0])
    assert {(r.credential_id, r.directory_id) for r in q.rows()} == {(q.creds[1], q.directories[1])}


@pytest.fixture
def pg_world(pg_server: TempPostgres) -> Iterator[VaultWorld]:
    name = f"t_{uuid.uuid4().hex[:12]}"
    built = make_world(pg_server.create_database(name))
    try:
        yield built
    finally:
        built.db.dispose()
        pg_server.drop_database(name)


def test_two_claims_at_once_on_postgresql_take_different_rows(pg_world: VaultWorld) -> None:
    """The first claim's transaction is still open (its rows locked) when the second claims:
    it skips them and takes the next, without waiting."""
    q = build(pg_world, creds=3, directories=1)
    for n in range(3):
        q.enqueue(n)
    holding, release = threading.Event(), threading.Event()
    first: list = []

    def claim_and_hold() -> None:
        with pg_world.db.write() as conn:
            first.extend(push_queue.claim(conn, owner="a", now=NOW, lease=LEASE, limit=2))
            holding.set()
            release.wait(30)

    thread = threading.Thread(target=claim_and_hold)
    thread.start()
    try:
        assert holding.wait(30)
        second = q.claim("b", limit=3)
    finally:
        release.set()
        thread.join(30)
    assert len(first) == 2
    assert [c.credential_id for c in second] == [q.creds[2]]
    assert {r.claimed_by for r in q.rows()} == {"a", "b"}


def test_revision_0010_round_trip_keeps_waiting_pushes(world: VaultWorld) -> None:
    q = build(world, creds=2, directories=1)
    q.enqueue(0)
    q.enqueue(1)
    claimed = q.claim()
    with world.db.write() as conn:
        push_queue.give_up(conn, [claimed[1].id], "unreachable", NOW)
    with world.db.engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0009")
        columns = {c["name"] for c in sa.inspect(conn).get_columns("sync_queue")}
        assert {"dead_at", "dead_reason"} & columns == set()
        left = conn.execute(sa.text("SELECT credential_id FROM sync_queue")).scalars().all()
    assert left == [q.creds[0]]  # the given-up push went with its columns; the waiting one stays
    world.db.upgrade()
    [row] = q.rows()
    assert (row.credential_id, row.dead_at, row.attempts) == (q.creds[0], None, 0)
    assert [c.credential_id for c in q.claim(at=NOW + LEASE * 2)] == [q.creds[0]]


@pytest.mark.parametrize("held", ["directory", "credential"])
def test_a_queued_push_does_not_wait_for_the_row_locks_of_runs_and_changes(
    pg_world: VaultWorld, held: str
) -> None:
    """A run's start and end lock its directory's row, a password change its credential's:
    ``FOR NO KEY UPDATE``, so the foreign-key checks of a push queued meanwhile (``FOR KEY
    SHARE``) take no lock that waits. With ``FOR UPDATE`` they waited, and a password change
    (the audit head, then the queue) and a run's end (the directory, then the audit head)
    deadlocked on PostgreSQL with several processes."""
    q = build(pg_world, creds=1, directories=1)
    holding, release = threading.Event(), threading.Event()

    def lock_and_hold() -> None:
        with pg_world.db.write() as conn:
            if held == "directory":
                assert directory_rows.lock(conn, q.directories[0])
            else:
                credential_rows.lock(conn, q.creds[0])
            holding.set()
            release.wait(60)

    thread = threading.Thread(target=lock_and_hold)
    thread.start()
    try:
        assert holding.wait(30)
        with pg_world.db.write() as conn:
            conn.execute(sa.text("SET LOCAL lock_timeout = '50ms'"))  # any wait fails
            push_queue.enqueue(conn, q.creds[0], q.directories, 2, NOW)
    finally:
        release.set()
        thread.join(30)
    assert [(r.credential_id, r.secret_version) for r in q.rows()] == [(q.creds[0], 2)]
