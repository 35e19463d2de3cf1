"""The agent killed mid-relay, for real (issue 15: "the agent restarting mid-relay, nothing
lost, nothing pushed twice"): ``credsync agent`` runs as a process of its own on the test's
vault (a SQLite file both share), relaying passwords captured in the real Samba DC to the
Graph simulator, which is made slow so that the agent is mid-way when it gets SIGKILL (a
crash, not a stop). More passwords change while it is down; a new agent process takes over
(the dead one's claims released as the end of their lease would release them).
Then every cloud user signs in with its newest password, and no user had the same password
written twice (the simulator's per-user log of password writes)."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from agent_procs import Agents
from credsync.storage import push_queue
from credsync.storage.tables import run_items, runs, sync_queue
from credsync.testing.graphsim import sign_in
from credsync.vault._time import utcnow

from .conftest import RelayWorld
from .test_relay_realtime import capture

USERS = 12
LATENCY = 0.15  # seconds each password write waits in the tenant (one after another)
WAIT = 60.0  # seconds: the longest any bounded wait here may take


@pytest.fixture
def agents(rw: RelayWorld, tmp_path: Path) -> Iterator[Agents]:
    started = Agents(rw.sw.vault_world.url, tmp_path / "agent-home", wait=WAIT)
    try:
        yield started
    finally:
        started.close()


def queue_rows(rw: RelayWorld) -> list[Any]:
    with rw.sw.vault.db.read() as conn:
        query = sa.select(sync_queue.c.id, sync_queue.c.claimed_by, sync_queue.c.dead_at)
        return list(conn.execute(query).all())


def test_an_agent_killed_mid_relay_and_started_again_loses_nothing_and_pushes_nothing_twice(
    rw: RelayWorld, agents: Agents
) -> None:
    pairs = []
    for _ in range(USERS):
        user, _ = rw.ad_user()
        pairs.append((user, rw.cloud_user(user.name)))
    rw.link_ad()
    assert rw.run(apply=True).pushed == USERS  # each pair in step: its first write
    forwarder = rw.cw.enroll()
    newest = {cloud.id: user.password for user, cloud in pairs}
    given: dict[str, list[str]] = {cloud.id: [user.password] for user, cloud in pairs}

    def change(n: int, password: str) -> None:
        user, cloud = pairs[n]
        capture(rw, user, forwarder, password)
        newest[cloud.id] = password
        given[cloud.id].append(password)

    for n in range(USERS):  # K pushes queued before the agent starts
        change(n, f"Before-Crash-{n}-Pw9!")
    baseline = rw.writes()
    rw.tenant.latency.set(LATENCY, method="PATCH", path_prefix="/v1.0/users")

    first = agents.start()
    agents.until(lambda: rw.writes() > baseline, first, "no relayed password landed")
    first.send_signal(signal.SIGKILL)
    first.wait(10)
    landed = rw.writes() - baseline
    assert landed < USERS, "every push had landed before the kill: make the tenant slower"

    for n in (0, 1, USERS - 1):  # changes while no agent runs
        change(n, f"While-Down-{n}-Pw9!")
    # What the dead agent had sent is finished by the tenant (it was under way there). Its
    # claims on the queue hold for the agent's lease (two minutes, which leaves time for just
    # that); rather than wait, the test releases them as if that had passed.
    agents.until(lambda: rw.sim.open_connections() == 0, None, "the tenant is still busy")
    rw.tenant.latency.clear()
    claimed = [r.id for r in queue_rows(rw) if r.claimed_by is not None]
    assert claimed, "the killed agent held no claim on the queue"
    with rw.sw.vault.db.write() as conn:
        push_queue.release(conn, claimed, utcnow())

    second = agents.start()
    agents.until(lambda: not queue_rows(rw), second, "the queue was not emptied after a restart")
    second.send_signal(signal.SIGTERM)
    assert second.wait(30) == 0, agents.logs()

    # The dead agent's pushes that were under way reached the tenant: the new one saw them
    # landed (the target's stamp moved since the intent) and sent them no more.
    with rw.sw.vault.db.read() as conn:
        details = conn.execute(
            sa.select(run_items.c.detail)
            .join(runs, runs.c.id == run_items.c.run_id)
            .where(runs.c.kind == "relay", runs.c.trigger == "agent")
        ).scalars()
        landed_before = [d for d in details if "had landed before a restart" in d]
    assert landed_before, "no push was under way at the kill: nothing tried the landed check"
    log = rw.tenant.password_log
    for _, cloud in pairs:
        signed = sign_in(rw.sim, cloud.upn, newest[cloud.id], tenant=rw.tenant)
        assert signed.ok, f"{cloud.upn}: its newest password does not sign in ({signed.code})"
        twice = [n for n, pw in enumerate(given[cloud.id]) if log.count(cloud.id, pw) > 1]
        assert not twice, f"{cloud.upn}: its passwords {twice} (in the order given) written twice"
        count = log.count(cloud.id, newest[cloud.id])
        assert count == 1, f"{cloud.upn}: its newest password was written {count} times"
