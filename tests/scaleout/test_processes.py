"""Scale-out with real processes: 2 ``credsync serve`` and 3 ``credsync agent`` on one
PostgreSQL, 5,000 queued pushes to the Samba AD DC, one agent killed -9 and one server
restarted midway; every push done exactly once, proved from the directory itself.

The queue coalesces the pushes of one credential that wait together (a run pushes the
credential's current secret once, see docs/scale-out.md), so the 5,000 pushes are 1,000
accounts (4 directories of 250) changed 5 times, each change queued once the previous one
has been pushed: each account's password must be written exactly 5 times, which the
version of ``unicodePwd`` and ``pwdLastSet`` in its replication metadata counts. Meanwhile
"sync now" runs go through both servers' API every 2 seconds (each a run that pushes
whatever its directory has pending). The full size took 12 minutes on the 2-core machine at
load 2-5 (setting up 1,000 accounts 3 of them; the takeover of the killed agent's work about
80 s: its claims last 30 s, its run's lease a minute, then the sweep); see docs/scale-out.md.
"""

from __future__ import annotations

import collections
import json
import os
import random
import socket
import threading
import time
import uuid
from pathlib import Path

import httpx
import pytest

from credsync.agent.queue_rows import LEASE
from credsync.storage.tables import runs, sync_queue
from credsync.sync.lease import STALE_AFTER
from credsync.testing.postgres import TempPostgres
from credsync.testing.samba import SambaFacts
from credsync.testing.scaleout import Proc, ScaleWorld, bind_works
from credsync.vault._time import utcnow

pytestmark = [pytest.mark.postgres, pytest.mark.samba, pytest.mark.slow]

# The size (4 x 250 accounts x 5 waves = 5,000 pushes) with CREDSYNC_SCALEOUT=full;
# CI's run is 4 x 20 x 3 = 240 pushes with the same processes, kill -9 and restart (the full
# size takes 12 minutes, see the docstring). CI's run does not wait out the killed agent's
# leases (~80 s of sleeping): it dates them back as that wait would leave them
# (``_expire_leases_of``), and the surviving agents take the work over through the same claim
# and sweep; the full size waits for them and measures the real takeover.
FULL = os.environ.get("CREDSYNC_SCALEOUT") == "full"
DIRECTORIES = 4
ACCOUNTS = 250 if FULL else 20  # per directory
WAVES = 5 if FULL else 3
DRAIN = 600.0  # seconds a wave may take at most (the takeover of a killed agent's work: ~80 s)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class SyncNow(threading.Thread):
    """ "Sync now" through the servers' API, one directory after another, alternating
    servers, every 2 seconds; counts the answers (a server restarting refuses the
    connection meanwhile)."""

    def __init__(self, urls: list[str], token: str, directories: list[str]) -> None:
        super().__init__(daemon=True)
        self.urls, self.token, self.directories = urls, token, directories
        self.answers: collections.Counter[str] = collections.Counter()
        self.halt = threading.Event()

    def run(self) -> None:
        n = 0
        with httpx.Client(headers={"Authorization": f"Bearer {self.token}"}, timeout=30) as http:
            while not self.halt.wait(2.0):
                url = self.urls[n % len(self.urls)]
                name = self.directories[n % len(self.directories)]
                n += 1
                try:
                    answer = http.post(f"{url}/api/v1/directories/{name}/runs")
                    self.answers[str(answer.status_code)] += 1
                except httpx.TransportError:
                    self.answers["unreachable"] += 1


def _expire_leases_of(world: ScaleWorld, owner: str) -> None:
    """What the leases' length without ``owner`` (a killed agent) would do, without the wait:
    its claims on the queue ended, its running runs silent for twice ``STALE_AFTER``. Only
    its own: the live agents' claims and runs are left alone."""
    long_ago = utcnow() - 2 * STALE_AFTER
    with world.vault.db.write() as conn:
        conn.execute(
            sync_queue.update()
            .where(sync_queue.c.claimed_by == owner)
            .values(claimed_until=long_ago)
        )
        conn.execute(
            runs.update()
            .where(runs.c.owner == owner, runs.c.state == "running")
            .values(heartbeat_at=long_ago)
        )


def _wait_up(url: str, token: str, proc: Proc) -> None:
    deadline = time.monotonic() + 90
    while True:
        try:
            answer = httpx.get(
                f"{url}/api/v1/clients", headers={"Authorization": f"Bearer {token}"}, timeout=5
            )
            if answer.status_code == 200:
                return
        except httpx.TransportError:
            pass
        proc.check()
        assert time.monotonic() < deadline, proc.tail()
        time.sleep(0.2)


def test_three_agents_two_servers_push_every_change_exactly_once(
    pg_server: TempPostgres, samba_dc: SambaFacts, tmp_path: Path
) -> None:
    began = time.monotonic()
    url = pg_server.create_database(f"scaleout_{uuid.uuid4().hex[:8]}")
    world = ScaleWorld.create(url, samba_dc, directories=DIRECTORIES, accounts=ACCOUNTS)
    procs: list[Proc] = []
    sync_now: SyncNow | None = None
    try:
        set_up = time.monotonic() - began
        _, token_secret = world.vault.access.create_token(world.admin, "scaleout")
        token = token_secret.reveal()
        baseline = world.versions()
        assert len(baseline) == DIRECTORIES * ACCOUNTS
        ports = [_free_port(), _free_port()]
        servers = [
            Proc(
                f"server{i}",
                ["serve", "--port", str(port), "--no-agent"],
                world.environment(tmp_path / f"server{i}"),
                tmp_path / f"server{i}.log",
            )
            for i, port in enumerate(ports)
        ]
        agents = [
            Proc(
                f"agent{i}",
                ["agent"],
                world.environment(tmp_path / f"agent{i}"),
                tmp_path / f"agent{i}.log",
            )
            for i in range(3)
        ]
        procs = [*servers, *agents]
        urls = [f"http://127.0.0.1:{p}" for p in ports]
        for server_url, server in zip(urls, servers, strict=True):
            _wait_up(server_url, token, server)
        sync_now = SyncNow(urls, token, world.directories)
        sync_now.start()
        pushes_started = time.monotonic()
        takeover: dict[str, float] = {}
        for wave in range(1, WAVES + 1):
            world.queue_wave()
            live = [p for p in procs if p.popen is not None]
            if wave == 2:  # an agent killed -9 while it holds claimed pushes
                # Whichever agent is first seen holding claims is the victim: which of the three
                # wins the wave's pushes is the race under test, not something to wait for (on a
                # slow machine one agent may take none of a wave).
                by_owner = {f"{socket.gethostname()}:{a.pid}": a for a in agents}
                deadline = time.monotonic() + DRAIN
                while True:
                    claimed = world.backlog().claimed
                    holders = [o for o in by_owner if claimed.get(o)]
                    if holders:
                        break
                    assert time.monotonic() < deadline, "no agent ever claimed a push"
                    time.sleep(0.02)
                owner = holders[0]
                victim = by_owner[owner]
                held = set(claimed[owner])
                victim.kill9()
                killed = time.monotonic()
                if not FULL:
                    _expire_leases_of(world, owner)
                first = None
                while True:
                    left = held & world.backlog().waiting
                    if first is None and len(left) < len(held):
                        first = time.monotonic() - killed
                    if not left:
                        break
                    assert time.monotonic() - killed < DRAIN, f"{len(left)} never taken over"
                    time.sleep(0.1)
                takeover = {"first": first or 0.0, "all": time.monotonic() - killed}
                takeover["held"] = len(held)
                live = [p for p in procs if p.popen is not None]
            if wave == 3:  # a server restarted midway through the wave
                total = len(world.backlog().waiting)
                while len(world.backlog().waiting) > total // 2:
                    time.sleep(0.05)
                assert servers[0].stop() == 0, servers[0].tail()
                servers[0].start()
                _wait_up(urls[0], token, servers[0])
            world.wait_drained(DRAIN, live)
        pushing = time.monotonic() - pushes_started
        sync_now.halt.set()
        sync_now.join(timeout=60)
        for proc in procs:
            assert proc.stop() == 0, f"{proc.name}: {proc.tail()}"

        # Every push done exactly once: the directory wrote each password WAVES times.
        after = world.versions()
        writes = {dn: (after[dn][0] - b[0], after[dn][1] - b[1]) for dn, b in baseline.items()}
        wrong = {dn: w for dn, w in writes.items() if w != (WAVES, WAVES)}
        assert not wrong, f"{len(wrong)} accounts not written exactly {WAVES} times: {wrong}"
        # ... and the vault knows it: every link confirms the credential's current version.
        confirmed = world.confirmed_versions()
        assert len(confirmed) == DIRECTORIES * ACCOUNTS
        assert all(link == current for link, current in confirmed.values())
        assert {current for _, current in confirmed.values()} == {1 + WAVES}
        backlog = world.backlog()
        assert not backlog.waiting
        assert backlog.given_up == 0
        # No run counted twice: each ended run audited once at most (every run but the
        # agent's quiet ones: done, nothing stored, see compaction.audited), none left running.
        runs = [r for r in world.runs() if not r.dry_run]
        assert not [r for r in runs if r.state == "running"]
        audited = collections.Counter(world.audited_runs())
        assert [r for r, n in audited.items() if n > 1] == []
        assert set(audited) <= {r.id for r in runs}
        must = {
            r.id
            for r in runs
            if r.trigger != "agent" or r.state != "done" or json.loads(r.summary).get("pushes")
        }
        assert must <= set(audited)
        states = collections.Counter(f"{r.trigger}:{r.kind}:{r.state}" for r in runs)
        recorded = sum(json.loads(r.summary).get("pushes", 0) for r in runs)
        # The killed agent's pushes that reached AD without being recorded are confirmed by
        # one bind afterwards, never pushed again: the recorded count can only fall short.
        assert recorded <= DIRECTORIES * ACCOUNTS * WAVES
        # The final passwords work (a sample: binds are bad-password counts when they fail).
        sample = random.Random(18).sample(world.accounts, 20)
        assert all(bind_works(samba_dc, a.dn, a.password) for a in sample)
        for proc in procs:  # no secret in any process's output
            text = proc.log.read_text(errors="replace")
            assert not [a for a in sample if a.password in text]
        print(
            f"\nscale-out: set-up {set_up:.0f} s; {DIRECTORIES * ACCOUNTS * WAVES} pushes in "
            f"{pushing:.0f} s ({DIRECTORIES * ACCOUNTS * WAVES / pushing:.0f}/s, takeover "
            f"included); takeover after kill -9: first {takeover['first']:.1f} s, all "
            f"{takeover['held']:.0f} held pushes {takeover['all']:.1f} s (claim lease "
            f"{LEASE.total_seconds():.0f} s, run lease {STALE_AFTER.total_seconds():.0f} s); "
            f"pushes recorded by runs {recorded}; runs {dict(states)}; sync now "
            f"{dict(sync_now.answers)}; whole test {time.monotonic() - began:.0f} s"
        )
    finally:
        if sync_now is not None:
            sync_now.halt.set()
        for proc in procs:
            proc.stop()
        world.close()
