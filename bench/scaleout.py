"""Scale-out on PostgreSQL: 3 ``credsync agent`` processes against 1, and the takeover after a kill.

    python bench/scaleout.py [--quick] [--directories N] [--accounts N] [--latency MS]

On a throwaway PostgreSQL server of its own, a vault with N Active Directory directories
(default 12, an OU of its own each on the machine's Samba DC, a client each) of M linked
accounts each (default 84: 1,008 in all; enforce, confirmed), it measures, in the same run:

1. Throughput, the DC near: every credential's password changed once (one queued push
   each), then 1 agent process started and timed until the queue is empty: the baseline.
   The same again with 3 agent processes: pushes/s and the ratio to the baseline, timed from
   the moment the first agent runs (after its start-up and sign-in) until the queue is
   empty. The Samba DC, PostgreSQL and the agents share this machine's 2 cores, and the DC
   writes one password at a time: here that is what bounds both, not the agents.
2. Throughput, the DC across a link: the same two measurements with every directory reached
   through a proxy that delays each packet ``--latency`` ms each way (default 50: a 100 ms
   round trip, customers' sites across a WAN), where an agent waits on its directories, as
   agents serving customers' sites do. An agent pushes to 4 directories at once (one run
   each, one password write at a time on the directory's connection), so 3 agents work on
   12 directories at once where 1 works on 4.
3. Takeover: the same with 3 agents (the DC near), one (started first) killed -9 once the
   other two run while it holds claimed pushes; the time from the kill to the first, and to
   the last, of its claimed pushes done by another agent. It is bounded by the leases (the
   claim's, and its run's on the directory), printed beside it.

Each account's password must have been written exactly once per change (its replication
metadata counts the writes): checked at the end.
"""

from __future__ import annotations

import argparse
import socket
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import _common as c
from credsync.agent.queue_rows import LEASE
from credsync.sync.lease import STALE_AFTER, SWEEP_SECONDS
from credsync.testing.fault_proxy import FaultProxy
from credsync.testing.postgres import TempPostgres
from credsync.testing.samba import SambaDC, SambaFacts
from credsync.testing.scaleout import Proc, ScaleWorld

TARGET_RATIO = 2.0  # 3 agents against 1, the DC across a link (waiting on the directory)
DRAIN = 900.0


def agents(world: ScaleWorld, home: Path, count: int, tag: str) -> list[Proc]:
    return [
        Proc(f"agent{i}", ["agent"], world.environment(home / f"{tag}{i}"), home / f"{tag}{i}.log")
        for i in range(count)
    ]


def stop(procs: list[Proc]) -> None:
    for proc in procs:
        proc.stop()


def settle(world: ScaleWorld, home: Path) -> None:
    """One agent until the directories' first periodic runs are done (and scheduled far
    ahead), so that the measured phases only push what was queued."""
    procs = agents(world, home, 1, "settle")
    try:
        running(procs)
        while True:
            done = {
                r.directory_id for r in world.runs() if r.trigger == "agent" and r.state == "done"
            }
            if len(done) == len(world.directories):
                break
            procs[0].check()
            time.sleep(0.2)
        world.wait_drained(DRAIN, procs)
    finally:
        stop(procs)


def running(procs: list[Proc]) -> None:
    """Until the first of ``procs`` has signed in and runs (its "running as" line)."""
    while not any("credsync agent: running" in p.log.read_text(errors="replace") for p in procs):
        for proc in procs:
            proc.check()
        time.sleep(0.02)


def throughput(world: ScaleWorld, home: Path, count: int) -> float:
    """Pushes/s of ``count`` agent processes over one change of every credential, from the
    moment the first of them runs (Python's start-up and the sign-in left out: on a loaded
    machine they take seconds) until the queue is empty."""
    world.queue_wave()
    pushes = len(world.accounts)
    procs = agents(world, home, count, f"run{world.waves}-")
    try:
        running(procs)
        started = time.monotonic()
        world.wait_drained(DRAIN, procs)
        took = time.monotonic() - started
    finally:
        stop(procs)
    print(f"{count} agent(s): {pushes} pushes in {took:.1f} s ({pushes / took:.1f}/s)")
    return pushes / took


def takeover(world: ScaleWorld, home: Path) -> tuple[float, float, int]:
    """Seconds from a kill -9 to the first and the last of the killed agent's claimed pushes
    done elsewhere, and how many it held."""
    world.queue_wave()
    procs = agents(world, home, 1, f"kill{world.waves}-")  # the victim first: it claims
    try:
        victim = procs[0]
        owner = f"{socket.gethostname()}:{victim.pid}"
        while not world.backlog().claimed.get(owner):
            victim.check()
            time.sleep(0.02)
        procs += [
            Proc(f"agent{i}", ["agent"], world.environment(home / f"kill-{i}"), home / f"k{i}.log")
            for i in (1, 2)
        ]
        running(procs[1:])
        held = set(world.backlog().claimed.get(owner, ())) & world.backlog().waiting
        victim.kill9()
        killed = time.monotonic()
        first: float | None = None
        while True:
            left = held & world.backlog().waiting
            if first is None and len(left) < len(held):
                first = time.monotonic() - killed
            if not left:
                break
            if time.monotonic() - killed > DRAIN:
                raise TimeoutError(f"{len(left)} claimed pushes never taken over")
            time.sleep(0.05)
        last = time.monotonic() - killed
        world.wait_drained(DRAIN, procs[1:])
    finally:
        stop(procs)
    return first or 0.0, last, len(held)


def dc_address(facts: SambaFacts) -> tuple[str, int]:
    """The DC's LDAPS host and port, as its URL names them."""
    parsed = urlsplit(facts.ldaps_url)
    return parsed.hostname or "127.0.0.1", parsed.port or 636


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--directories", type=int, default=12)
    parser.add_argument("--accounts", type=int, default=84)
    parser.add_argument("--latency", type=float, default=50.0, help="ms each way (default 50)")
    parser.add_argument("--time-limit", type=int, default=2400)
    args = parser.parse_args()
    if args.quick:
        args.directories, args.accounts = 6, 10
    c.header("scaleout: agent processes on one PostgreSQL, pushing to Samba AD", args.quick)
    c.time_limit(args.time_limit)
    verdicts = c.Verdicts("scaleout")
    dc = SambaDC()
    facts = dc.acquire()
    try:
        with TempPostgres() as pg, tempfile.TemporaryDirectory() as tmp:
            url = pg.create_database(f"scaleout_{uuid.uuid4().hex[:8]}")
            started = time.monotonic()
            world = ScaleWorld.create(
                url, facts, directories=args.directories, accounts=args.accounts
            )
            try:
                print(
                    f"set up {len(world.accounts)} linked accounts in {args.directories} "
                    f"directories in {time.monotonic() - started:.0f} s"
                )
                home = Path(tmp)
                baseline = world.versions()
                settle(world, home)
                one = throughput(world, home, 1)
                three = throughput(world, home, 3)
                proxy = FaultProxy(dc_address(facts))
                try:
                    proxy.latency = args.latency / 1000
                    world.point_at(proxy.url)
                    print(f"the DC across a link: {args.latency:.0f} ms each way")
                    far_one = throughput(world, home, 1)
                    far_three = throughput(world, home, 3)
                    world.point_at(facts.ldaps_url)
                finally:
                    proxy.close()
                first, last, held = takeover(world, home)
                after = world.versions()
                wrong = [
                    dn
                    for dn, (pwd, stamp) in baseline.items()
                    if after[dn] != (pwd + world.waves, stamp + world.waves)
                ]
            finally:
                world.close()
        ratio, far_ratio = three / one, far_three / far_one
        bound = LEASE.total_seconds(), STALE_AFTER.total_seconds() + SWEEP_SECONDS
        verdicts.figures |= {
            "pushes_per_s_1_agent": round(one, 1),
            "pushes_per_s_3_agents": round(three, 1),
            "ratio_3_to_1": round(ratio, 2),
            "latency_ms_each_way": args.latency,
            "pushes_per_s_1_agent_across_link": round(far_one, 1),
            "pushes_per_s_3_agents_across_link": round(far_three, 1),
            "ratio_3_to_1_across_link": round(far_ratio, 2),
            "takeover_first_s": round(first, 1),
            "takeover_all_s": round(last, 1),
            "takeover_held_pushes": held,
            "claim_lease_s": bound[0],
            "run_lease_and_sweep_s": bound[1],
        }
        print()
        print(c.table(["figure", "value"], [[k, v] for k, v in verdicts.figures.items()]))
        verdicts.check(
            not wrong,
            f"every account's password written exactly once per change ({len(wrong)} not)",
        )
        verdicts.check(
            far_ratio >= TARGET_RATIO,
            f"the DC across a link: 3 agents push {far_three:.1f}/s, {far_ratio:.2f}x 1 agent's "
            f"{far_one:.1f}/s (target >= {TARGET_RATIO:.1f}x); the DC near: {three:.1f}/s "
            f"against {one:.1f}/s ({ratio:.2f}x, the one DC's writes bound both)",
        )
        verdicts.check(
            last <= max(bound) + 30,
            f"takeover after kill -9: first push {first:.1f} s, all {held} {last:.1f} s (claim "
            f"lease {bound[0]:.0f} s, run lease + sweep {bound[1]:.0f} s; target: the longer "
            "+ 30 s)",
        )
        return verdicts.report()
    finally:
        dc.release()


if __name__ == "__main__":
    raise SystemExit(main())
