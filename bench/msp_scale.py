"""MSP scale (issue 20): one agent keeps 500 clients' directories in step.

    python bench/msp_scale.py [--quick] [--backend sqlite|postgresql] [--clients N]
                              [--ad-clients N] [--users N] [--ad-accounts N] [--interval S]
                              [--minutes M] [--storm-minutes M] [--changes-per-minute N]
                              [--py-spy PATH] [--memdump DIR [--memdump-frames N]]

The world (``_msp.MspWorld``): N clients (default 500), each with an Entra directory on a tenant
of its own in the Graph simulator (one process playing them all; 50 to 500 users a tenant,
about 100,000 in all) and a credential per enabled cloud-only user; the first 50 also with an
Active Directory directory (an OU of its own on the machine's Samba DC, 400 accounts each: with
the Entra users' credentials, about 120,000 credentials in all), 5 of those through a fault
proxy. One ``credsync agent`` process (the real CLI) on the vault, default options but the
directories' interval (default 60 s, the product's default), on SQLite (default) or a
throwaway PostgreSQL server.

Measured:

1. **Warm-up**: from the agent's start until every directory has had its first run (full
   passes, credentials linked by name). Then 2 credentials of each directory are switched to
   enforce (confirmed), and the agent drains what that queued.
2. **Steady state**, M minutes (default 15): each directory's periodic runs, their start against
   the time the directory was due (``next_run_at`` as the database had it just before:
   "lag", p50 / p95 / max); password changes made in the vault across all clients (default 30 a
   minute, one at a time), each timed until the directory takes the new password (a bind for
   AD, the simulator's own password check for Entra: "push latency"); the agent's CPU (share
   of one core, from /proc) and peak RSS (VmHWM); the database's growth (bytes and rows of
   runs, run items and audit entries, per hour).
3. **Storm**, M minutes (default 5): 10 tenants answer every request 429 (throttled to one
   request per 10 minutes), the 5 proxied DCs go away (3 refuse connections, 2 accept and never
   answer). The same figures for the other directories: their lag must not move.

Targets (issue 20): lag p95 < 5 s, push p95 < 1 s, agent CPU < 50% of one core, RSS < 500 MB,
in both windows (the storm's for the directories outside it). Database growth is printed per
hour (the retention that bounds it is documented in docs/).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, select, text

import _common as c
from _msp import MspWorld, Timed, tenant_sizes
from _msp_ad import AdOus
from credsync.storage.tables import (
    audit_log,
    directories,
    flags,
    run_items,
    runs,
    sync_queue,
)
from credsync.testing.postgres import TempPostgres
from credsync.testing.samba import SambaDC
from credsync.testing.scaleout import Proc

LAG_P95 = 5.0
PUSH_P95 = 1.0
CPU_SHARE = 0.5
RSS_MB = 500.0
TICK = os.sysconf("SC_CLK_TCK")


@dataclass
class Window:
    """What one window saw: lags per directory, push latencies, the agent's CPU and RSS."""

    name: str
    lags: dict[str, list[float]] = field(default_factory=dict)
    pushes: list[float] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)  # changes not taken after 60 s: which
    cpu_share: float = 0.0
    rss_mb: float = 0.0
    seconds: float = 0.0
    growth: dict[str, float] = field(default_factory=dict)


class Watcher(threading.Thread):
    """Reads the directories' due times and the agent's new runs every 0.5 s: each periodic
    run's start against the due time its directory had just before (the agent writes the next
    one when a run ends, so it is read well before the run starts)."""

    def __init__(self, world: MspWorld) -> None:
        super().__init__(daemon=True)
        self.world = world
        self.names: dict[str, str] = {}
        self.due: dict[str, float] = {}
        self.since = time.time()
        self.window: Window | None = None
        self.first_runs: set[str] = set()
        self.stopping = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            while not self.stopping.wait(0.5):
                self._poll()
        except BaseException as exc:
            self.error = exc

    def _poll(self) -> None:
        since = dt.datetime.fromtimestamp(self.since - 5, dt.UTC)
        with self.world.vault.db.read() as conn:
            dirs = conn.execute(select(directories.c.id, directories.c.name,
                                       directories.c.next_run_at)).all()  # fmt: skip
            found = conn.execute(
                select(runs.c.directory_id, runs.c.started_at, runs.c.kind)
                .where(runs.c.trigger == "agent", runs.c.started_at > since)
                .order_by(runs.c.started_at)
            ).all()
        seen_until = self.since
        for directory_id, started, kind in found:
            start = _epoch(started)
            if start <= self.since:
                continue
            seen_until = max(seen_until, start)
            name = self.names.get(directory_id, directory_id)
            if kind in ("full", "incremental"):
                self.first_runs.add(directory_id)
            due = self.due.pop(directory_id, None)
            if self.window is not None and due is not None and kind != "push":
                self.window.lags.setdefault(name, []).append(max(0.0, start - due))
        self.since = seen_until
        for directory_id, name, next_run in dirs:
            self.names[directory_id] = name
            if next_run is not None:
                self.due[directory_id] = _epoch(next_run)


def _epoch(value: dt.datetime) -> float:
    if value.tzinfo is None:  # SQLite gives them back naive, in UTC
        value = value.replace(tzinfo=dt.UTC)
    return float(value.timestamp())


def proc_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime + stime


def proc_rss(pid: int, key: str = "VmHWM") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def db_size(world: MspWorld) -> dict[str, float]:
    with world.vault.db.read() as conn:
        counts = {
            table.name: float(conn.execute(select(func.count()).select_from(table)).scalar_one())
            for table in (runs, run_items, audit_log)
        }
        if world.url.startswith("postgresql"):
            size = conn.execute(text("SELECT pg_database_size(current_database())")).scalar_one()
        else:
            db = Path(world.url.removeprefix("sqlite:///"))
            size = sum(p.stat().st_size for p in db.parent.glob(db.name + "*"))
    return counts | {"bytes": float(size)}


def measure(world: MspWorld, watcher: Watcher, agent: Proc, name: str, minutes: float,
            per_minute: float, exclude: set[str]) -> Window:  # fmt: skip
    window = Window(name)
    rng = random.Random(name)
    candidates = [t for t in world.timed if t.directory not in exclude]
    before, cpu0, wall0 = db_size(world), proc_cpu(agent.pid), time.monotonic()
    Path(f"/proc/{agent.pid}/clear_refs").write_text("5")  # VmHWM: this window's peak
    watcher.window = window
    end = wall0 + minutes * 60
    gap = 60.0 / per_minute
    while time.monotonic() < end:
        started = time.monotonic()
        timed = rng.choice(candidates)
        took = time_change(world, timed)
        if took is None:
            window.lost.append(f"{timed.kind} {timed.directory} {timed.login}")
            print(f"not taken after 60 s: {window.lost[-1]}; {why(world, timed)}")
        else:
            window.pushes.append(took)
        agent.check()
        if watcher.error is not None:
            raise RuntimeError("the watcher stopped") from watcher.error
        time.sleep(max(0.0, gap - (time.monotonic() - started)))
    watcher.window = None
    window.seconds = time.monotonic() - wall0
    window.cpu_share = (proc_cpu(agent.pid) - cpu0) / window.seconds
    window.rss_mb = proc_rss(agent.pid)
    after = db_size(world)
    hours = window.seconds / 3600
    window.growth = {k: (after[k] - before[k]) / hours for k in after}
    for name_ in exclude:
        window.lags.pop(name_, None)
    return window


def py_spy(agent: Proc, out: Path, minutes: float) -> subprocess.Popen[bytes]:
    """py-spy recording the agent (all its threads, idle samples too) for ``minutes``."""
    exe = Path(sys.executable).parent / "py-spy"
    seconds = str(max(1, round(minutes * 60)))
    return subprocess.Popen(
        [str(exe), "record", "--idle", "-r", "50", "-f", "raw", "-o", str(out), "-d", seconds,
         "-p", str(agent.pid)],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip


def memdump_env(env: dict[str, str], out: Path, frames: int) -> dict[str, str]:
    """The agent's environment for ``--memdump``: ``_memdump/sitecustomize.py`` loaded first,
    tracemalloc on with ``frames`` frames an allocation (0: off, objects counted only)."""
    out.mkdir(parents=True, exist_ok=True)
    path = [str(Path(__file__).resolve().parent / "_memdump"), env.get("PYTHONPATH", "")]
    extra = {"PYTHONPATH": os.pathsep.join(p for p in path if p), "MSP_MEMDUMP_DIR": str(out)}
    if frames > 0:
        extra["PYTHONTRACEMALLOC"] = str(frames)
    return extra


def memdump(agent: Proc, out: Path | None, label: str) -> None:
    """Asks the agent for a snapshot (SIGUSR1) and waits until it is written (up to 5 min)."""
    if out is None:
        return
    done = len(list(out.glob("objects-*.txt")))
    os.kill(agent.pid, signal.SIGUSR1)
    deadline = time.monotonic() + 300
    while len(list(out.glob("objects-*.txt"))) <= done and time.monotonic() < deadline:
        time.sleep(0.5)
    print(f"memdump {done + 1} ({label}): {out}, agent RSS {proc_rss(agent.pid, 'VmRSS'):.0f} MB")


def time_change(world: MspWorld, timed: Timed) -> float | None:
    """Seconds from the change in the vault until the directory takes the new password."""
    started = time.perf_counter()
    password = world.change(timed)
    while time.perf_counter() - started < 60:
        if world.works(timed, password):
            return time.perf_counter() - started
        time.sleep(0.02)
    return None


def why(world: MspWorld, timed: Timed) -> str:
    """What the vault says of a change the directory did not take: the credential's flags
    and queued pushes."""
    with world.vault.db.read() as conn:
        flagged = conn.execute(
            select(flags.c.status, flags.c.detail).where(
                flags.c.credential_id == timed.credential_id, flags.c.resolved_at.is_(None)
            )
        ).all()
        queued = conn.execute(
            select(func.count()).select_from(sync_queue)
            .where(sync_queue.c.credential_id == timed.credential_id)
        ).scalar_one()  # fmt: skip
    return f"flags {[tuple(f) for f in flagged]}, {queued} queued"


def report(window: Window, verdicts: c.Verdicts, others: str = "") -> None:
    lags = [lag for each in window.lags.values() for lag in each]
    if not lags or not window.pushes:
        verdicts.check(False, f"{window.name}: no runs or no pushes were seen")
        return
    lag95, push95 = c.percentile(lags, 95), c.percentile(window.pushes, 95)
    fig = verdicts.figures
    fig[f"{window.name} lag p50/p95/max s"] = [round(c.median(lags), 2), round(lag95, 2),
                                               round(max(lags), 2)]  # fmt: skip
    fig[f"{window.name} runs"] = len(lags)
    fig[f"{window.name} push p50/p95 s"] = [round(c.median(window.pushes), 3), round(push95, 3)]
    fig[f"{window.name} pushes timed / lost"] = [len(window.pushes), window.lost]
    fig[f"{window.name} agent cpu share"] = round(window.cpu_share, 3)
    fig[f"{window.name} agent peak rss MB"] = round(window.rss_mb, 1)
    fig[f"{window.name} growth per hour"] = {k: round(v) for k, v in window.growth.items()}
    print(c.table(
        ["figure", "value"],
        [["runs started (directories)", f"{len(lags)} ({len(window.lags)})"],
         ["run-start lag p50 / p95 / max",
          f"{c.median(lags):.2f} / {lag95:.2f} / {max(lags):.2f} s"],
         ["push latency p50 / p95 (timed, lost)",
          f"{c.ms(c.median(window.pushes))} / {c.ms(push95)} ms "
          f"({len(window.pushes)}, {len(window.lost)})"],
         ["agent CPU (one core)", f"{window.cpu_share:.0%}"],
         ["agent peak RSS", f"{window.rss_mb:.0f} MB"],
         ["database growth per hour", f"{window.growth['bytes'] / 2**20:.0f} MB, "
          f"{window.growth['runs']:.0f} runs, {window.growth['run_items']:.0f} run items, "
          f"{window.growth['audit_log']:.0f} audit entries"]],
        title=f"-- {window.name}{others}",
    ))  # fmt: skip
    verdicts.check(lag95 < LAG_P95, f"{window.name}: run-start lag p95 {lag95:.2f} s{others} "
                   f"(target: under {LAG_P95:.0f} s)")  # fmt: skip
    verdicts.check(push95 < PUSH_P95 and not window.lost,
                   f"{window.name}: push latency p95 {c.ms(push95)} ms, {len(window.lost)} lost"
                   f"{others} (target: under {PUSH_P95 * 1000:.0f} ms, none lost)")  # fmt: skip
    verdicts.check(window.cpu_share < CPU_SHARE,
                   f"{window.name}: agent CPU {window.cpu_share:.0%} of one core "
                   f"(target: under {CPU_SHARE:.0%})")  # fmt: skip
    verdicts.check(window.rss_mb < RSS_MB, f"{window.name}: agent peak RSS {window.rss_mb:.0f}"
                   f" MB (target: under {RSS_MB:.0f} MB)")  # fmt: skip


def warm_up(world: MspWorld, watcher: Watcher, agent: Proc, limit: float) -> float:
    started = time.monotonic()
    total = len(world.directories)
    while len(watcher.first_runs) < total:
        if time.monotonic() - started > limit:
            raise SystemExit(f"only {len(watcher.first_runs)} of {total} directories had a "
                             f"first run in {limit:.0f} s")  # fmt: skip
        agent.check()
        time.sleep(1)
    while True:  # and those first runs ended
        with world.vault.db.read() as conn:
            running = conn.execute(
                select(func.count()).select_from(runs).where(runs.c.state == "running")
            )
            if not running.scalar_one():
                return time.monotonic() - started
        time.sleep(1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--clients", type=int, default=500)
    parser.add_argument("--ad-clients", type=int, default=50)
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--ad-accounts", type=int, default=400)
    parser.add_argument("--blocked", type=int, default=5, help="AD directories made unreachable")
    parser.add_argument("--throttled", type=int, default=10, help="tenants in a 429 storm")
    parser.add_argument("--interval", type=int, default=60)
    parser.add_argument("--minutes", type=float, default=15.0)
    parser.add_argument("--storm-minutes", type=float, default=5.0)
    parser.add_argument("--changes-per-minute", type=float, default=30.0)
    parser.add_argument("--time-limit", type=int, default=4 * 3600)
    parser.add_argument("--py-spy", type=Path, metavar="PATH",
                        help="py-spy on the agent over the storm (raw, to PATH)")  # fmt: skip
    parser.add_argument("--memdump", type=Path, metavar="DIR",
                        help="the agent traces its allocations (tracemalloc) and writes a "
                        "snapshot and its objects by type to DIR after the warm-up and after "
                        "each window (_memdump/sitecustomize.py)")  # fmt: skip
    parser.add_argument("--memdump-frames", type=int, default=8,
                        help="frames kept a traced allocation (0: count objects only)")  # fmt: skip
    parser.add_argument("--ad-world", type=Path, help="keep the AD OUs made, listed in this "
                        "file, and reuse them next time (see _msp_ad.py)")  # fmt: skip
    parser.add_argument("--drop-ad-world", action="store_true",
                        help="delete the OUs kept in --ad-world's file, and stop")  # fmt: skip
    args = parser.parse_args()
    if args.drop_ad_world:
        if args.ad_world is None:
            parser.error("--drop-ad-world needs --ad-world PATH")
        dc = SambaDC()
        try:
            print(f"{AdOus(dc.acquire(), args.ad_world).drop()} kept OUs deleted")
        finally:
            dc.release()
        return 0
    if args.quick:
        args.clients, args.ad_clients, args.users, args.ad_accounts = 12, 3, 1200, 20
        args.blocked, args.throttled, args.interval = 1, 2, 20
        args.minutes, args.storm_minutes = 1.0, 1.0
    c.header("msp_scale: one agent, many clients' directories", args.quick)
    c.time_limit(args.time_limit)
    verdicts = c.Verdicts("msp_scale")
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        if args.backend == "postgresql":
            pg = stack.enter_context(TempPostgres())
            url = pg.create_database(f"msp_{uuid.uuid4().hex[:8]}")
        else:
            url = f"sqlite:///{tmp / 'vault.db'}"
        facts = None
        if args.ad_clients:
            dc = SambaDC()
            facts = dc.acquire()
            stack.callback(dc.release)
        world = MspWorld(url, tmp, facts, ad_world=args.ad_world)
        stack.callback(world.close)
        sizes = tenant_sizes(args.clients, args.users)
        started = time.perf_counter()
        world.build(sizes, ad_clients=args.ad_clients, ad_accounts=args.ad_accounts,
                    blocked=min(args.blocked, args.ad_clients), interval=args.interval)  # fmt: skip
        made = time.perf_counter() - started
        print(
            f"{args.clients} clients ({sum(sizes)} tenant users, {min(sizes)}-{max(sizes)} a "
            f"tenant), {args.ad_clients} with AD ({args.ad_accounts} accounts each), "
            f"{len(world.directories)} directories, made in {made:.0f} s "
            f"on {args.backend}; AD OUs reused: {world.ad.reused() if world.ad else 0}"
        )
        watcher = Watcher(world)
        watcher.start()
        stack.callback(watcher.stopping.set)
        env = world.environment(tmp / "agent")
        if args.memdump is not None:
            env.update(memdump_env(env, args.memdump, args.memdump_frames))
        agent = Proc("agent", ["agent"], env, tmp / "agent.log")
        stack.callback(agent.stop)
        took = warm_up(world, watcher, agent, limit=max(1800.0, 10.0 * args.interval))
        memdump(agent, args.memdump, "warm-up")
        verdicts.figures["warm-up s"] = round(took, 1)
        print(f"warm-up: every directory's first run done {took:.0f} s after the agent started")
        world.pick_timed(per_directory=2)
        time.sleep(5)  # what switching to enforce queued is pushed
        steady = measure(world, watcher, agent, "steady", args.minutes, args.changes_per_minute,
                         exclude=set())  # fmt: skip
        memdump(agent, args.memdump, "steady")
        report(steady, verdicts)
        world.storm(args.throttled)
        out = set(world.throttled_directories) | set(world.blocked_directories)
        spy = py_spy(agent, args.py_spy, args.storm_minutes) if args.py_spy else None
        storm = measure(world, watcher, agent, "storm", args.storm_minutes,
                        args.changes_per_minute, exclude=out)  # fmt: skip
        if spy is not None:
            spy.wait()
        memdump(agent, args.memdump, "storm")
        report(storm, verdicts, others=f" (the {len(storm.lags)} directories outside it)")
    return verdicts.report()


if __name__ == "__main__":
    raise SystemExit(main())
