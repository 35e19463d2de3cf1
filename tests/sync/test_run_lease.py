"""One run per directory across processes, and runs left ``running`` by a process that
stopped: engines starting at once (both backends), the heartbeat that keeps a long run's lease
and the run that lost it, a real process killed mid-run (and one killed mid-push against the
Samba DC, whose pushes the next run settles), the agent meeting a busy directory, and the CLI
(locally and through a real server) meeting a run under way or abandoned."""

from __future__ import annotations

import asyncio
import datetime as dt
import importlib.util
import logging
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from credsync.agent.loop import Agent
from credsync.cli.exits import exit_code_of
from credsync.connectors.registry import open_connector
from credsync.errors import RunInProgress, SyncAborted, SyncError
from credsync.storage.tables import run_items, runs, sync_queue
from credsync.sync import lease
from credsync.sync.reports import RunReport, load_run
from credsync.testing import prefork
from credsync.types import Secret, SyncMode
from credsync.vault._time import utcnow
from vault.helpers import ADMIN_PASSWORD, PASSPHRASE

from .entra import EntraWorld
from .helpers import SyncWorld, update_directory
from .proxy import CuttableProxy
from .test_enforce_mode import binds


def _load(path: Path, name: str) -> Any:
    """A test folder's module by path (``tests/`` is no package; see vault/helpers.py)."""
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


# The CLI tests' helpers: the command in this process, and `credsync serve` as a process.
clitools = _load(Path(__file__).parent.parent / "cli" / "conftest.py", "_credsync_lease_cli")


class Held:
    """The real connector, its directory reads held until ``go`` is set (``reading`` tells
    that one has begun): a run that takes as long as the test needs."""

    def __init__(self, inner: Any, reading: threading.Event, go: threading.Event) -> None:
        self.inner, self.reading, self.go = inner, reading, go

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def _hold(self) -> None:
        self.reading.set()
        assert await asyncio.to_thread(self.go.wait, 30), "the test never let the run go on"

    async def changes_since(self, cursor: str | None, **kwargs: Any) -> Any:
        await self._hold()
        return await self.inner.changes_since(cursor, **kwargs)  # a streamed read's sink too

    async def get_account(self, ref: str) -> Any:
        await self._hold()
        return await self.inner.get_account(ref)

    async def iter_accounts(self, *args: Any, **kwargs: Any) -> Any:
        await self._hold()
        async for account in self.inner.iter_accounts(*args, **kwargs):
            yield account


class Clock:
    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, delta: dt.timedelta) -> None:
        self.now += delta


class Running:
    """``engine.run`` in a thread of its own, its directory reads held (see Held)."""

    def __init__(self, ew: EntraWorld, **engine: Any) -> None:
        self.reading, self.go = threading.Event(), threading.Event()
        self.started = threading.Event()
        self.run_id: str | None = None
        self.report: RunReport | None = None
        self.error: BaseException | None = None
        factory = lambda config: Held(open_connector(config), self.reading, self.go)  # noqa: E731
        self.engine = ew.engine(factory=factory, **engine)
        self._directory = ew.directory
        self._barrier: threading.Barrier | None = None
        self._thread = threading.Thread(target=self._work)

    def start(self, barrier: threading.Barrier | None = None) -> Running:
        self._barrier = barrier
        self._thread.start()
        return self

    def _on_start(self, run_id: str) -> None:
        self.run_id = run_id
        self.started.set()

    def _work(self) -> None:
        if self._barrier is not None:
            self._barrier.wait()
        try:
            self.report = asyncio.run(self.engine.run(self._directory, on_start=self._on_start))
        except BaseException as exc:
            self.error = exc
        finally:
            self.started.set()

    def holding(self) -> str:
        """Wait until the run is stored and reading (holding the lease); its id."""
        assert self.reading.wait(15), self.error
        assert self.run_id is not None
        return self.run_id

    def finish(self) -> RunReport:
        self.go.set()
        self._thread.join(30)
        assert not self._thread.is_alive()
        assert self.error is None, self.error
        assert self.report is not None
        return self.report

    def join(self) -> None:
        self._thread.join(30)


def _row(ew: EntraWorld, run_id: str) -> Any:
    with ew.vault.db.read() as conn:
        return conn.execute(sa.select(runs).where(runs.c.id == run_id)).one()


def _enforced(ew: EntraWorld) -> tuple[Any, Any]:
    """A tenant user, and a credential for it under enforce, linked and the link confirmed
    (its first run pushes)."""
    user = ew.add_user()
    cred = ew.add(user, mode=SyncMode.ENFORCE)
    ew.link_confirmed(cred, user.id)
    return user, cred


def _refused(ew: EntraWorld, **engine: Any) -> str:
    with pytest.raises(RunInProgress) as caught:
        asyncio.run(ew.engine(**engine).run(ew.directory))
    return str(caught.value)


# -- engines -----------------------------------------------------------------------------------
def test_of_runs_started_at_once_one_acts_and_the_others_are_refused(
    ew_both: EntraWorld,
) -> None:
    ew = ew_both
    _, cred = _enforced(ew)
    barrier = threading.Barrier(3)
    racers = [Running(ew).start(barrier) for _ in range(3)]
    for racer in racers:
        assert racer.started.wait(15)
    winners = [r for r in racers if r.run_id is not None]
    losers = [r for r in racers if r.run_id is None]
    assert len(winners) == 1
    winner = winners[0]
    run_id = winner.holding()
    for loser in losers:
        loser.join()
        assert isinstance(loser.error, RunInProgress)
        message = str(loser.error)
        assert f"has a run under way: run {run_id[:8]} (full, trigger cli, started by alice" in (
            message
        )
        assert f"on {socket.gethostname()}:{os.getpid()})" in message
    with ew.vault.db.read() as conn:
        stored = conn.execute(sa.select(runs.c.id)).all()
    assert [r.id for r in stored] == [run_id]  # the refused runs stored nothing
    # A plan acts on nothing: it neither waits for the lease nor takes it.
    plan = ew.run(dry_run=True)
    assert (plan.state, ew.items(plan)[cred.id]) == ("done", ("pending", "push"))
    assert _refused(ew).startswith(f"directory {ew.directory!r} has a run under way")
    report = winner.finish()
    assert (report.state, ew.items(report)[cred.id]) == ("done", ("in_sync", "push"))
    assert ew.run().state == "done"  # the lease is free again


def test_a_heartbeat_keeps_a_long_run_s_lease_and_a_silent_run_loses_it(
    ew_both: EntraWorld,
) -> None:
    ew = ew_both
    user, cred = _enforced(ew)
    clock = Clock()
    # A run reading for longer than the stale limit, beating all along: its lease holds.
    beating = Running(ew, clock=clock, heartbeat_seconds=0.02).start()
    run_id = beating.holding()
    clock.advance(lease.STALE_AFTER * 2)
    deadline = time.monotonic() + 5
    while _row(ew, run_id).heartbeat_at is None or (
        lease.last_sign_of_life(_row(ew, run_id)) < clock.now
    ):
        assert time.monotonic() < deadline, "the heartbeat never came"
        time.sleep(0.02)
    assert f"run {run_id[:8]}" in _refused(ew, clock=clock)
    first = beating.finish()
    assert (first.state, ew.items(first)[cred.id]) == ("done", ("in_sync", "push"))
    # A run whose process stalls (no heartbeat) for longer than that: the next start takes
    # it for abandoned, marks it aborted, and goes ahead.
    ew.set_password(cred, "After-The-Stall-Passw0rd-1!")
    silent = Running(ew, clock=clock, heartbeat_seconds=3600).start()
    stalled_id = silent.holding()
    stalled_at = clock.now
    clock.advance(lease.STALE_AFTER + dt.timedelta(seconds=1))
    taking_over = asyncio.run(ew.engine(clock=clock).run(ew.directory))
    assert (taking_over.state, ew.items(taking_over)[cred.id]) == ("done", ("in_sync", "push"))
    swept = _row(ew, stalled_id)
    assert swept.state == "aborted"
    assert swept.message == (
        f"abandoned: no sign of life since {stalled_at:%Y-%m-%d %H:%M:%S} UTC "
        "(the process running it stopped)"
    )
    audited = ew.vault.audit.list(ew.admin, action="sync.run", target_id=swept.directory_id)
    by_run = {e.details["run_id"]: e for e in audited}
    assert (by_run[stalled_id].actor, by_run[stalled_id].details["state"]) == ("system", "aborted")
    # The stalled run wakes up: it finds its lease gone and stops before acting.
    late = silent.finish()
    assert late.state == "aborted"
    assert late.message.startswith("stopped: the run lost its lease on the directory")
    assert late.items == ()
    assert ew.tenant.check_password(user.id, "After-The-Stall-Passw0rd-1!")
    assert ew.vault.directories.get(ew.admin, ew.directory).failures == 0


def test_a_heartbeat_dated_far_ahead_does_not_hold_the_lease_for_good(ew: EntraWorld) -> None:
    """A process whose clock ran a day ahead died holding the lease: its heartbeat is dated
    in the future, and the next start takes it for abandoned rather than waiting a day."""
    _, cred = _enforced(ew)
    stuck = asyncio.run(ew.engine().run(ew.directory, dry_run=True))  # a row to make stuck
    ahead = utcnow() + dt.timedelta(days=1)
    with ew.vault.db.write() as conn:
        conn.execute(
            runs.update()
            .where(runs.c.id == stuck.id)
            .values(state="running", dry_run=False, finished_at=None, heartbeat_at=ahead)
        )
    ran = asyncio.run(ew.engine().run(ew.directory))
    assert (ran.state, ew.items(ran)[cred.id]) == ("done", ("in_sync", "push"))
    assert _row(ew, stuck.id).state == "aborted"


# -- a real process, killed ----------------------------------------------------------------------
@pytest.fixture
def cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Iterator[Any]:
    """The credsync command (in this process, or as a process) on a sync test's vault."""
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    made = clitools.Cli(home, capsys)
    yield made
    log = logging.getLogger("credsync")  # in-process runs leave the log file open
    for handler in list(log.handlers):
        log.removeHandler(handler)
        handler.close()


def _sign_in(cli: Any, ew: SyncWorld) -> None:
    cli.env = {
        "CREDSYNC_HOME": str(cli.home),
        "CREDSYNC_DATABASE_URL": ew.vault_world.url,
        "CREDSYNC_PASSPHRASE": PASSPHRASE,
        "CREDSYNC_OPERATOR": "alice",
        "CREDSYNC_OPERATOR_PASSWORD": ADMIN_PASSWORD,
    }


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A TCP port that accepts connections and never says a word (a hung Graph endpoint)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield int(listener.getsockname()[1])


def _running_ids(ew: SyncWorld) -> list[str]:
    with ew.vault.db.read() as conn:
        return list(conn.execute(sa.select(runs.c.id).where(runs.c.state == "running")).scalars())


def _spawn(cli: Any, args: list[str]) -> prefork.Child:
    """``credsync ARGS`` as the CLI's operator, in a session of its own (to be killed), its
    standard streams /dev/null: a process forked from one that has done the imports."""
    return prefork.spawn(args, {**clitools.clean_environ(), **cli.env}, new_session=True)


def _until(
    done: Callable[[], object],
    proc: prefork.Child,
    seconds: float,
    before: str,
    never: str,
    every: float = 0.05,
) -> None:
    """Wait until ``done()``, with ``proc`` still alive (else: it ended before ``before``)."""
    deadline = time.monotonic() + seconds
    while not done():
        assert proc.poll() is None, f"the process ended before {before}"
        assert time.monotonic() < deadline, never
        time.sleep(every)


def test_a_killed_process_s_run_blocks_the_cli_until_it_is_swept(
    ew: EntraWorld, cli: Any, silent_port: int
) -> None:
    _sign_in(cli, ew)
    _, cred = _enforced(ew)
    update_directory(ew.vault, ew.admin, ew.directory, url=f"https://127.0.0.1:{silent_port}")
    args = ["sync", "run", ew.client, "--directory", ew.directory]
    proc = _spawn(cli, args)
    try:
        _until(lambda: _running_ids(ew), proc, 30, "its run started", "the run never started")
        (run_id,) = _running_ids(ew)
        # The process is alive and its run under way: the CLI is refused (exit 5, Conflict).
        error = cli.fails(5, *args)
        assert f"run {run_id[:8]} (full, trigger cli, started by alice" in error
        assert f"on {socket.gethostname()}:{proc.pid})" in error
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    assert _running_ids(ew) == [run_id]  # left running by the crash
    update_directory(ew.vault, ew.admin, ew.directory, url=ew.sim.graph_url)
    # Minutes later (the engine's clock), the next run takes the silent one for abandoned.
    later = utcnow() + lease.STALE_AFTER + dt.timedelta(seconds=5)
    report = asyncio.run(ew.engine(clock=lambda: later).run(ew.directory))
    assert (report.state, ew.items(report)[cred.id]) == ("done", ("in_sync", "push"))
    with ew.vault.db.read() as conn:
        dead = load_run(conn, run_id)
    assert dead.state == "aborted"
    assert dead.message.startswith("abandoned: no sign of life since ")
    assert dead.finished_at == dead.started_at  # its last sign of life: the start
    shown = cli.json("sync", "show", run_id[:8])
    assert (shown["state"], shown["message"]) == ("aborted", dead.message)


def _attempted_items(world: Any) -> int:
    with world.vault.db.read() as conn:
        query = sa.select(sa.func.count()).where(run_items.c.status == "attempted")
        return int(conn.execute(query).scalar_one())


def _audit(sw: SyncWorld, action: str) -> list[Any]:
    return list(sw.vault.audit.list(sw.admin, action=action, limit=1000))


@pytest.mark.samba
@pytest.mark.parametrize("replies_only", [True, False], ids=["sent", "sent-or-not"])
def test_pushes_of_a_killed_run_are_audited_and_settled_by_the_next_run(
    sw_both: SyncWorld, cli: Any, replies_only: bool
) -> None:
    """Issue 13, finding 2: `credsync sync run` killed (SIGKILL) while its pushes wait for a
    DC that stopped answering (its replies held; with ``sent-or-not`` the requests not sent
    yet too). Each push has its intent stored and audited; the report shows those under way
    "attempted, outcome unknown"; the next run settles each with one lockout-safe check (a
    bind where the password moved: it took; none where it did not: pushed again), audits the
    outcome, and pushes nothing twice."""
    sw = sw_both
    _sign_in(cli, sw)
    proxy = CuttableProxy(("127.0.0.1", 636))
    try:
        update_directory(sw.vault, sw.admin, sw.directory, url=proxy.url)
        users = [sw.ad.create_user() for _ in range(12)]
        creds = [sw.add(u, mode=SyncMode.ENFORCE) for u in users]
        sw.run()
        sw.confirm()
        wanted = {c.id: f"Killed-Run-{n}-Passw0rd!" for n, c in enumerate(creds)}
        for cred in creds:
            sw.set_password(cred, wanted[cred.id])
        args = ["sync", "run", sw.client, "--directory", sw.directory]
        proc = _spawn(cli, args)
        try:
            _until(
                lambda: _attempted_items(sw), proc, 60, "it pushed", "the run never pushed", 0.005
            )
            proxy.freeze(replies_only=replies_only)  # the pushes under way wait for the DC
            time.sleep(1.0)  # well within the connector's timeout
            assert proc.poll() is None
        finally:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(10)
        proxy.cut()  # what the frozen proxy held goes nowhere
    finally:
        proxy.close()
    (killed,) = [r for r in _running_ids(sw)]
    with sw.vault.db.read() as conn:
        left = load_run(conn, killed)
    unknown = {i.credential_id for i in left.items if i.status == "attempted"}
    assert unknown, "no push was left under way"
    assert all("outcome unknown" in i.detail for i in left.items if i.status == "attempted")
    attempted = _audit(sw, "credential.push_attempted")
    assert {e.target_id for e in attempted} >= unknown
    assert all(e.details["run_id"] == killed for e in attempted)
    done_before = {e.target_id for e in _audit(sw, "credential.pushed")}
    assert not done_before & unknown
    took = {cid for cid in unknown if binds(sw, _dn(users, creds, cid), wanted[cid])}
    if replies_only:  # the push on the wire reached the DC, which applied it
        assert took
    # The next run (minutes later: the killed one is abandoned) settles them first.
    update_directory(sw.vault, sw.admin, sw.directory, url=sw.ad.facts.ldaps_url)
    later = utcnow() + lease.STALE_AFTER + dt.timedelta(seconds=5)
    report = asyncio.run(sw.engine(clock=lambda: later).run(sw.directory))
    assert report.state == "done"
    with sw.vault.db.read() as conn:
        swept = load_run(conn, killed)
    assert swept.state == "aborted"
    assert [i.status for i in swept.items].count("attempted") == len(unknown)
    items = sw.items(report)
    for cid in unknown:
        assert items[cid] == (("in_sync", "verify") if cid in took else ("in_sync", "push"))
    assert report.summary.get("binds", 0) == len(took)  # one bind each, and only there
    for user, cred in zip(users, creds, strict=True):
        assert binds(sw, user.dn, wanted[cred.id])
    # Every intent has its outcome in the audit log; nothing was pushed twice.
    pushed = _audit(sw, "credential.pushed")
    failed = _audit(sw, "credential.push_failed")
    assert len(_audit(sw, "credential.push_attempted")) == len(pushed) + len(failed)
    assert sorted(e.target_id for e in pushed) == sorted(c.id for c in creds)
    settled = {e.target_id: e.details for e in pushed + failed if "attempt_run" in e.details}
    assert set(settled) == unknown
    assert all(d["attempt_run"] == killed for d in settled.values())
    for cid in took:
        assert settled[cid]["found_by"] == "bind"
    for cid in unknown - took:
        assert settled[cid]["outcome"] == "not_pushed"


def _dn(users: list[Any], creds: list[Any], cid: str) -> str:
    return str(next(u.dn for u, c in zip(users, creds, strict=True) if c.id == cid))


# -- the agent ---------------------------------------------------------------------------------
def _queued(ew: EntraWorld) -> list[Any]:
    with ew.vault.db.read() as conn:
        return list(conn.execute(sa.select(sync_queue)).all())


def test_the_agent_skips_a_busy_directory_and_does_it_next_round(
    ew: EntraWorld, caplog: pytest.LogCaptureFixture
) -> None:
    user, cred = _enforced(ew)
    ew.run()
    ew.set_password(cred, "Queued-While-Busy-1!")
    assert len(_queued(ew)) == 1
    elsewhere = Running(ew).start()
    busy_id = elsewhere.holding()
    clock = Clock()
    caplog.set_level(logging.INFO, logger="credsync")
    asyncio.run(Agent(ew.vault, ew.keys, ew.admin, clock=clock).run(once=True))
    skipped = [r for r in caplog.records if "skipping directory" in r.getMessage()]
    assert len(skipped) == 1  # said once, at info, with the run under way
    assert skipped[0].levelno == logging.INFO
    assert f"run {busy_id[:8]}" in skipped[0].getMessage()
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    (queued,) = _queued(ew)  # the push waits, nothing counted against it
    assert (queued.attempts, queued.claimed_by, queued.last_error) == (0, None, None)
    assert not ew.tenant.check_password(user.id, "Queued-While-Busy-1!")
    assert ew.vault.directories.get(ew.admin, ew.directory).failures == 0
    elsewhere.finish()  # it pushed too (enforce): the queued push still runs, to be sure
    ew.set_password(cred, "Queued-While-Busy-2!")
    clock.advance(dt.timedelta(minutes=5))  # the next round: the push and the periodic run due
    asyncio.run(Agent(ew.vault, ew.keys, ew.admin, clock=clock).run(once=True))
    assert _queued(ew) == []
    assert ew.tenant.check_password(user.id, "Queued-While-Busy-2!")
    with ew.vault.db.read() as conn:
        agent_runs = conn.execute(
            sa.select(runs.c.kind, runs.c.state).where(runs.c.trigger == "agent")
        ).all()
    assert sorted(tuple(r) for r in agent_runs) == [("incremental", "done"), ("push", "done")]


# -- through a server --------------------------------------------------------------------------
@pytest.fixture
def server(ew: EntraWorld, cli: Any) -> Iterator[tuple[Any, str]]:
    """``credsync serve`` (a real process) on the world's vault, and an API token."""
    _sign_in(cli, ew)
    _, token = ew.vault.access.create_token(ew.admin, "lease-test")
    served = cli.serve()
    try:
        yield served, token.reveal()
    finally:
        served.stop()


def _followed_in_thread(follow: Callable[[], Any]) -> tuple[threading.Thread, dict[str, Any]]:
    out: dict[str, Any] = {}

    def work() -> None:
        try:
            out["run"] = follow()
        except BaseException as exc:
            out["error"] = exc

    thread = threading.Thread(target=work)
    thread.start()
    return thread, out


def test_through_a_server_a_busy_directory_is_refused_and_the_poll_ends(
    ew: EntraWorld,
    cli: Any,
    server: tuple[Any, str],
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> None:
    from credsync.cli.commands import sync as sync_commands
    from credsync.cli.ports import sync as sync_port
    from credsync.cli.remote import Remote, path_of

    served, token = server
    remote = Remote(served.url, Secret(token))
    request.addfinalizer(remote.close)
    _enforced(ew)
    held = Running(ew, heartbeat_seconds=3600).start()
    run_id = held.holding()
    # Another process holds the lease: the server refuses (409 run_in_progress), exit 5.
    error = cli.fails(
        5, "sync", "run", ew.client, "--directory", ew.directory, env=served.remote(token)
    )
    assert f"run {run_id[:8]} (full, trigger cli, started by alice" in error
    # A remote `sync run` follows the run; its process stops beating (the row is made to look
    # 10 minutes silent): the server shows it aborted, and the poll ends there, exit 9.
    first = remote.get(path_of("runs", run_id), items_limit=0)
    assert first["state"] == "running"
    assert first["heartbeat_at"] is not None
    thread, out = _followed_in_thread(lambda: sync_port.followed(remote, first))
    time.sleep(0.2)
    silent_since = utcnow() - dt.timedelta(minutes=10)
    with ew.vault.db.write() as conn:
        conn.execute(
            runs.update()
            .where(runs.c.id == run_id)
            .values(started_at=silent_since, heartbeat_at=silent_since)
        )
    thread.join(15)
    assert "error" not in out, out
    ended = out["run"]
    assert ended["state"] == "aborted"
    assert ended["message"].startswith("abandoned: no sign of life since ")
    with pytest.raises(SyncAborted) as caught:
        sync_commands._emit_runs([sync_port.run_record(ended)], as_json=True)
    assert exit_code_of(caught.value) == 9  # as for a failed run
    held.finish()
    # A run that shows no sign of life at all (an older server that never ends it): the poll
    # gives up after RUN_SILENT_MAX rather than wait for ever.
    quiet = Running(ew, heartbeat_seconds=3600).start()
    quiet_id = quiet.holding()
    monkeypatch.setattr(sync_port, "RUN_SILENT_MAX", 0.3)
    started = remote.get(path_of("runs", quiet_id), items_limit=0)
    with pytest.raises(SyncError, match="has shown no sign of life for 0 s"):
        sync_port.followed(remote, started)
    quiet.finish()
