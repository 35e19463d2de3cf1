"""Scenario 2: the DC stopped mid-run and restarted, and the DC answering slowly, played by
:class:`credsync.testing.fault_proxy.FaultProxy` between credsync and the shared DC's LDAPS
port (the DC itself is shared with other people's tests and is never stopped). A
``credsync agent`` process pushes one password change per account; the test counts the
writes on the DC itself (not through the proxy) as scenario 1 does."""

from __future__ import annotations

import signal
from typing import Any

import pytest
import sqlalchemy as sa

from agent_procs import Agents
from credsync.storage.tables import sync_queue
from credsync.testing.fault_proxy import FaultProxy
from credsync.types import SyncMode
from sync.helpers import SyncWorld, update_directory

from .ad import binds, password_versions, pwd_last_set
from .agents import queue_rows
from .figures import Figure, Stopwatch, record

# minutes each: scheduled first in parallel runs (tests/conftest.py, _longest_first)
pytestmark = pytest.mark.slow

ACCOUNTS = 30


def _world(adw: SyncWorld, proxy: FaultProxy, count: int) -> tuple[list[Any], list[Any]]:
    update_directory(adw.vault, adw.admin, adw.directory, url=proxy.url)
    users = [adw.ad.create_user() for _ in range(count)]
    creds = [adw.add(u, mode=SyncMode.ENFORCE) for u in users]
    first = adw.run()
    assert first.state == "done", f"the first run (no fault yet): {first.state}: {first.message}"
    assert len(adw.confirm()) == count, "not every account was linked"
    return users, creds


def _queued(adw: SyncWorld, count: int) -> None:
    """Each change left its push in the queue (before the agent took any)."""
    rows = queue_rows(adw.vault.db)
    assert len(rows) == count, f"{len(rows)} pushes queued for {count} changes"


def _failed_rows(adw: SyncWorld) -> list[Any]:
    with adw.vault.db.read() as conn:
        query = sa.select(sync_queue.c.attempts, sync_queue.c.last_error)
        return [r for r in conn.execute(query) if r.attempts > 0]


def _count(adw: SyncWorld, users: list[Any], before: dict[str, int], wanted: list[str]) -> Figure:
    after = password_versions(adw.ad, [u.dn for u in users])
    writes = [after[u.dn] - before[u.dn] for u in users]
    wrong = [u.name for u, pw in zip(users, wanted, strict=True) if not binds(adw.ad, u.dn, pw)]
    return Figure(
        "",
        operations=len(users),
        lost=len(wrong) + sum(1 for w in writes if w < 1),
        duplicates=sum(w - 1 for w in writes if w > 1),
    )


def test_the_dc_stopped_mid_run_and_restarted(adw: SyncWorld, agents: Agents) -> None:
    proxy = FaultProxy(("127.0.0.1", 636))
    try:
        users, creds = _world(adw, proxy, ACCOUNTS)
        before = password_versions(adw.ad, [u.dn for u in users])
        start = pwd_last_set(adw.ad)
        proxy.latency = 0.02  # slow enough for the stop to land mid-run
        wanted = [f"Outage-{n}-Pw9!" for n in range(ACCOUNTS)]
        for cred, password in zip(creds, wanted, strict=True):
            adw.set_password(cred, password)
        _queued(adw, ACCOUNTS)
        agent = agents.start()

        def landed() -> int:
            now = pwd_last_set(adw.ad)
            return sum(1 for dn, stamp in now.items() if stamp > start.get(dn, 0))

        agents.until(lambda: landed() >= ACCOUNTS // 4, agent, "no push landed")
        proxy.stop()  # the DC "stops": open connections reset, new ones refused
        assert landed() < ACCOUNTS, "every push had landed before the stop: slow the proxy"
        agents.until(lambda: bool(_failed_rows(adw)), agent, "no push failed while it was down")
        errors = sorted({r.last_error for r in _failed_rows(adw)})
        flags = set(adw.flags().values())
        proxy.latency = 0.0
        clock = Stopwatch()
        proxy.start()  # the DC "restarts"
        agents.until(lambda: not queue_rows(adw.vault.db), agent, "the pushes did not resume")
        recover = clock.seconds()
        agent.send_signal(signal.SIGTERM)
        assert agent.wait(30) == 0, agents.logs()
    finally:
        proxy.close()
    figure = _count(adw, users, before, wanted)
    figure.scenario = "DC stopped mid-run, restarted (proxy)"
    figure.recover_seconds = recover
    figure.detail = f"{ACCOUNTS} pushes; error while down: {errors[0]!r}"
    record(figure)
    # a clear error, in the directory's words: the queue's and the credential's
    assert all("unreachable" in e.lower() or "connect" in e.lower() for e in errors), errors
    assert flags <= {"unreachable"}, flags
    assert figure.lost == 0
    assert figure.duplicates == 0
    assert adw.flags() == {}, "the flags of the outage stayed after the pushes resumed"


def test_the_dc_answering_slowly(adw: SyncWorld, agents: Agents) -> None:
    proxy = FaultProxy(("127.0.0.1", 636))
    count = 10
    try:
        users, creds = _world(adw, proxy, count)
        before = password_versions(adw.ad, [u.dn for u in users])
        proxy.latency = 0.2  # every packet, both ways
        wanted = [f"Slow-{n}-Pw9!" for n in range(count)]
        for cred, password in zip(creds, wanted, strict=True):
            adw.set_password(cred, password)
        _queued(adw, count)
        clock = Stopwatch()
        agent = agents.start()
        agents.until(lambda: not queue_rows(adw.vault.db), agent, "the slow pushes never ended")
        took = clock.seconds()
        agent.send_signal(signal.SIGTERM)
        assert agent.wait(60) == 0, agents.logs()
    finally:
        proxy.close()
    figure = _count(adw, users, before, wanted)
    figure.scenario = "DC answering slowly (200 ms a packet)"
    figure.recover_seconds = None
    figure.detail = f"{count} pushes done in {took:.1f} s, {proxy.accepted} connections"
    record(figure)
    assert figure.lost == 0
    assert figure.duplicates == 0
    assert adw.flags() == {}
