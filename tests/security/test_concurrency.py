"""Two real processes writing the same vault, on SQLite (WAL) and on PostgreSQL: no write is
lost, nothing is corrupted, the audit chain does not fork, and a write based on a stale read is
refused with a clear error and leaves nothing behind.

The workers (in ``_workers.py``) run under multiprocessing's "forkserver" start method: each is
forked from a server process, a fresh interpreter (not this one) that has imported credsync,
SQLAlchemy and psycopg once, instead of a fresh interpreter per worker importing them anew
("spawn": about a second each). Nothing of this process reaches them; they open their own
database connections, sign in and derive the key themselves.
"""

from __future__ import annotations

import collections
import itertools
import multiprocessing
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa

from credsync.storage.tables import credentials, secret_versions
from credsync.types import Secret
from credsync.vault.drafts import make_draft

from ._safe import check_absent, check_secret, check_secrets
from ._top import PASSPHRASE, VaultWorld
from ._workers import SYNC_EVERY, Login, add_clients, hammer, stale_reader, updater

pytestmark = pytest.mark.slow

CTX = multiprocessing.get_context("forkserver")
# What the workers import (Python 3.11's forkserver does not put this process's sys.path in
# place before its preload: _workers itself, under tests/, is imported by each worker).
CTX.set_forkserver_preload(
    ["credsync.vault", "credsync.storage", "credsync.cli.exits", "psycopg",
     "sqlalchemy.dialects.postgresql.psycopg"]
)  # fmt: skip
N_SHARED = 40  # set_password calls per process on the one credential both write
N_OWN = 15  # set_password calls per process on a credential of its own
N_ADD = 10  # new credentials per process
TIMEOUT_S = 300


def _login(world: VaultWorld, name: str) -> Login:
    """A technician the worker signs in as (the world's operators have ``<name>-password-1234``)."""
    world.operator(name, "technician")
    return Login(world.url, name, f"{name}-password-1234", PASSPHRASE)


def _run_processes(targets: list[tuple[Callable[..., None], tuple[Any, ...]]]) -> list[Any]:
    """Start one process per (target, args) with a shared result queue appended to the args;
    return their results once all have finished."""
    queue = CTX.Queue()
    procs = [
        CTX.Process(target=target, args=(*args, queue), daemon=True) for target, args in targets
    ]
    for proc in procs:
        proc.start()
    try:
        results = [queue.get(timeout=TIMEOUT_S) for _ in procs]
    finally:
        for proc in procs:
            proc.join(timeout=TIMEOUT_S)
            if proc.is_alive():
                proc.kill()
                proc.join()
    assert [p.exitcode for p in procs] == [0] * len(procs)
    failed = [(r["error"], r["message"]) for r in results if not r["ok"]]
    assert failed == []
    return results


def _add(world: VaultWorld, client: str, title: str, password: str) -> str:
    draft = make_draft(title=title, password=Secret(password), username=title)
    return world.vault.credentials.add(world.admin, world.keys, client, draft).id


def _check_history(world: VaultWorld, cred_id: str, expected: dict[int, str], what: str) -> None:
    """Versions 1..n all present, in order, each opening to the value written at it."""
    history = world.vault.credentials.history(world.admin, world.keys, cred_id, reveal=True)
    versions = [h.version for h in reversed(history)]
    newest = max(expected)
    assert versions == list(range(1, newest + 1)), what
    check_secrets([h.password for h in reversed(history)], [expected[v] for v in versions], what)
    revealed = world.vault.credentials.reveal(world.admin, world.keys, cred_id)
    assert revealed.credential.secret_version == newest
    check_secret(revealed.password, expected[newest], f"{what}: current password")


def _check_storage_consistent(world: VaultWorld) -> None:
    """Every credential points at its newest secret version, and its versions have no gap."""
    with world.db.engine.connect() as conn:
        versions = (
            sa.select(
                secret_versions.c.credential_id,
                sa.func.count().label("n"),
                sa.func.max(secret_versions.c.version).label("newest"),
            )
            .group_by(secret_versions.c.credential_id)
            .subquery()
        )
        rows = conn.execute(
            sa.select(
                credentials.c.id, credentials.c.secret_version, versions.c.n, versions.c.newest
            ).join(versions, versions.c.credential_id == credentials.c.id, isouter=True)
        ).all()
        bad = [r.id for r in rows if not (r.secret_version == r.newest == r.n)]
        assert bad == []
        if world.db.is_sqlite:
            assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
            assert conn.exec_driver_sql("PRAGMA foreign_key_check").all() == []


def test_two_processes_writing_at_once_lose_nothing(world: VaultWorld) -> None:
    vault, admin = world.vault, world.admin
    vault.clients.add(admin, world.keys, "Contoso")
    logins = {"ann": _login(world, "ann"), "ben": _login(world, "ben")}
    shared = _add(world, "Contoso", "Shared", "shared-initial")
    own = {tag: _add(world, "Contoso", f"Own {tag}", f"{tag}-own-initial") for tag in logins}
    before = vault.audit.verify(admin)
    assert before.ok
    count_before = vault.clients.get(admin, "Contoso").credential_count

    barrier = CTX.Barrier(len(logins))
    counts = (N_SHARED, N_OWN, N_ADD)
    results = _run_processes(
        [
            (hammer, (login, tag, "Contoso", shared, own[tag], counts, barrier))
            for tag, login in logins.items()
        ]
    )
    assert sorted(r["tag"] for r in results) == sorted(logins)
    by_tag = {r["tag"]: r for r in results}

    # one audit entry per write, in one unbroken chain
    report = vault.audit.verify(admin)
    assert report.ok, report.problem
    writes = 2 * (N_SHARED + N_OWN + N_ADD)
    assert report.entries == report.head_seq == before.entries + writes
    sets = vault.audit.list(admin, target_id=shared, action="credential.password_set", limit=1000)
    assert sorted(e.details["secret_version"] for e in sets) == list(range(2, 2 * N_SHARED + 2))
    assert collections.Counter(e.actor for e in sets) == {"ann": N_SHARED, "ben": N_SHARED}
    # the workers meet every SYNC_EVERY rounds, so each block of rounds holds writes of both:
    # in the log the writers alternate at least once per block (the writes really overlapped)
    actors = [e.actor for e in sorted(sets, key=lambda e: e.seq)]
    switches = sum(1 for a, b in itertools.pairwise(actors) if a != b)
    assert switches >= N_SHARED // SYNC_EVERY

    # the shared credential: every write got its own version, none lost, none doubled
    written = {1: "shared-initial"}  # version -> password (never in an assertion message)
    handed_out = [1]
    for tag, result in by_tag.items():
        got = [version for version, _ in result["shared"]]
        assert len(got) == N_SHARED
        assert got == sorted(got), f"{tag} saw its own writes out of order"
        handed_out += got
        written.update(dict(result["shared"]))
    assert sorted(handed_out) == list(range(1, 2 * N_SHARED + 2))  # none doubled, none lost
    _check_history(world, shared, written, "shared credential")
    assert vault.credentials.get(admin, shared).version == 1 + 2 * N_SHARED

    # each process's own credential
    for tag, result in by_tag.items():
        assert [version for version, _ in result["own"]] == list(range(2, N_OWN + 2))
        expected = {1: f"{tag}-own-initial", **dict(result["own"])}
        _check_history(world, own[tag], expected, f"{tag}'s own credential")

    # every credential added is there and opens to what was written
    added = [item for r in results for item in r["added"]]
    assert len(added) == len({cred_id for cred_id, _ in added}) == 2 * N_ADD
    for cred_id, value in added:
        check_secret(vault.credentials.reveal(admin, world.keys, cred_id).password, value, "added")
    assert vault.clients.get(admin, "Contoso").credential_count == count_before + 2 * N_ADD

    assert vault.audit.verify(admin).ok
    _check_storage_consistent(world)


def test_stale_update_from_another_process_is_refused(world: VaultWorld) -> None:
    vault, admin = world.vault, world.admin
    vault.clients.add(admin, world.keys, "Contoso")
    reader, writer = _login(world, "ann"), _login(world, "ben")
    cred_id = _add(world, "Contoso", "DC admin", "stale-initial")
    before = vault.audit.verify(admin)
    attempt, newer = "stale-attempt-by-ann", "newer-by-ben"

    read_done, updated = CTX.Event(), CTX.Event()
    results = _run_processes(
        [
            (stale_reader, (reader, cred_id, attempt, read_done, updated)),
            (updater, (writer, cred_id, newer, read_done, updated)),
        ]
    )
    by_role = {r["role"]: r for r in results}
    assert by_role["updater"]["version"] == 2
    assert by_role["reader"]["seen_version"] == 1
    refused = by_role["reader"]["refused"]
    assert sorted(refused) == ["delete", "edit", "set_password"]
    for write, (error, exit_code, message) in refused.items():
        assert (error, exit_code) == ("StaleVersion", 5), write
        assert f"credential {cred_id} was changed since you read it" in message
        assert "now version 2, you had version 1" in message
        assert message.endswith("reload and retry")
        check_absent({"the refused password": attempt}, message, f"the {write} error")

    # nothing of the refused writes is stored: only ben's change happened
    cred = vault.credentials.get(admin, cred_id)
    assert (cred.version, cred.secret_version) == (2, 2)
    assert cred.deleted_at is None
    assert not cred.has_notes
    _check_history(world, cred_id, {1: "stale-initial", 2: newer}, "stale credential")
    report = vault.audit.verify(admin)
    assert report.ok
    entries = vault.audit.list(admin, limit=report.entries - before.entries)
    actions = [(e.actor, e.action) for e in reversed(entries)]
    assert actions == [
        ("ben", "credential.password_set"),
        ("alice", "credential.history_reveal"),
        ("alice", "credential.reveal"),
    ]
    _check_storage_consistent(world)


def test_two_processes_adding_the_same_name_create_it_once(world: VaultWorld) -> None:
    vault, admin = world.vault, world.admin
    logins = [_login(world, "ann"), _login(world, "ben")]
    names = [f"Race {n}" for n in range(6)]
    before = vault.audit.verify(admin)
    barrier = CTX.Barrier(len(logins))
    results = _run_processes([(add_clients, (login, names, barrier)) for login in logins])
    for name in names:
        outcomes = [r["outcome"][name] for r in results]
        assert outcomes.count("added") == 1, name
        [refused] = [o for o in outcomes if o != "added"]
        error, exit_code, message = refused.split("|", 2)
        assert error in ("AlreadyExists", "Conflict"), name
        assert exit_code == "5"
        assert "already exists" in message or "reload and retry" in message
    clients = [c.name for c in vault.clients.list(admin)]
    assert sorted(clients) == names
    report = vault.audit.verify(admin)
    assert report.ok
    assert report.entries == before.entries + len(names)
