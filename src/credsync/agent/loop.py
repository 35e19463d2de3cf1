"""The agent: periodic runs per directory and immediate pushes from the queue.

- **Queue.** A secret changed under enforce leaves a row in the push queue (same transaction as
  the change; see :mod:`credsync.storage.push_queue`). The agent is woken as soon as that
  transaction commits (:mod:`credsync.storage.queue_signal`): by a change made in its own
  process (``credsync serve``), and on PostgreSQL by one made in any process, through a
  connection of its own listening for ``NOTIFY`` (reconnected with a backoff when it drops). It
  polls the queue too (default every 0.2 s): the only way on SQLite across processes, and the
  safety net of a lost notification. It claims due rows with a lease (``FOR UPDATE SKIP LOCKED``
  on PostgreSQL, the single writer lock on SQLite; LEASE seconds, renewed while it works on
  them; none of a directory another agent holds claims in), and runs a ``push`` run for just
  those credentials, up to PARALLEL_DIRECTORIES directories at once. Done rows are deleted; rows
  whose run failed (the directory unreachable, refusing TLS or our bind; the database away) go
  back with a backoff (at least its Retry-After), and are given up after ``GIVE_UP_AFTER``
  failures (about a day). A push that can't be made at all (its secret does not decrypt, a bug)
  is given up at once (the others claimed with it are tried one by one), and the agent goes on.
  A given-up push stays visible on the credential and is audited (``credential.push_given_up``);
  the periodic runs still push in enforce mode, and a newer change is queued afresh. A restart
  loses nothing: an expired lease is claimed again.
- **Relays.** Queued pushes of credentials a relay carries to the directory (the target side of
  a relay pair) are pushed by :func:`credsync.sync.relay_push.push_queued` (a ``relay`` run), in
  any sync mode but off; a refusal is a flag, never a retry. The rest go to the engine's push
  run.
- **Periodic runs.** Each directory whose client has directory sync on runs every
  ``interval`` seconds, at its own point of the interval plus a random jitter
  (:mod:`credsync.sync.schedule`: many directories spread out): incremental from its cursor,
  a full pass when the last is older than ``full_pass_hours``. A failed run (unreachable,
  TLS, bind refused) backs off exponentially up to an hour, and waits at least as long as the
  directory asked (a throttled tenant's Retry-After); the next good run clears flags.
- Connectors stay open between rounds (one per directory, reopened when the directory's
  settings change), so a push costs one LDAP modify, not a new TLS session (memory:
  :mod:`.memory`, arenas capped at start, freed memory handed back after full runs).
- **One run per directory.** A run holds a lease on its directory (see
  :mod:`credsync.sync.lease`). A directory with a run under way elsewhere (another agent, a
  server, the CLI) is skipped this round and logged at info, not counted as a failure: its
  periodic run waits for its next turn, its queued pushes go back to the queue and are tried
  again BUSY_RETRY seconds later (no attempt counted). Pushes for a directory whose periodic
  run this agent has under way are not claimed until that run ends. At start and every
  SWEEP_SECONDS the agent marks runs abandoned by a process that stopped as aborted, and at
  start and every hour (its clock) it prunes old runs (:mod:`credsync.sync.retention`).
- **Saved import selections.** Every SELECTIONS_SECONDS the agent runs the saved selections
  whose interval has elapsed (:meth:`SavedSelections.run_due`, one at a time), with the lease
  and heartbeat of sync runs (one under way elsewhere is skipped this round); an agent whose
  actor lacks ``directory.setup`` (the import's permission) leaves them alone.
- **Remote agents.** A directory a live remote agent serves (docs/remote-agent.md) is left to
  it: its queued pushes are not claimed here, nor its periodic runs made.
- **Operators.** An admin agent synchronises the operators imported from the MSP's tenant
  every OPERATOR_SYNC_SECONDS once sign-in with Microsoft is set up (a thread of its own;
  :mod:`credsync.sync.operator_import`); a failure is logged and tried again next time.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import os
import random
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass

from credsync.agent import memory
from credsync.agent.queue_rows import RENEW_SECONDS, Claimed, QueueRows
from credsync.config import Retention
from credsync.connectors.base import Connector
from credsync.connectors.registry import ConnectorFactory, open_connector
from credsync.errors import (
    Conflict,
    ConnectorError,
    CredsyncError,
    RunInProgress,
    StorageError,
)
from credsync.storage import directories as directory_rows
from credsync.storage import queue_signal, remote_agents
from credsync.sync import lease
from credsync.sync.connect import load_directory
from credsync.sync.engine import Engine
from credsync.sync.model import AGENT_TRIGGER
from credsync.sync.people_selections import SavedSelections
from credsync.sync.relay_push import PushJob, push_queued, queued_jobs
from credsync.sync.retention import HourlyPrune, PruneJson
from credsync.sync.run_failure import RETRY_AFTER
from credsync.sync.schedule import schedule_after_run
from credsync.vault._time import utcnow
from credsync.vault.auth import Actor, Permission
from credsync.vault.clients import require_all_clients
from credsync.vault.keyring import KeyRing
from credsync.vault.service import Vault

__all__ = ["Agent"]

log = logging.getLogger("credsync.agent")

SELECTIONS_SECONDS = 5.0  # how often the agent looks for saved import selections that are due
OPERATOR_SYNC_SECONDS = 900.0  # between two syncs of the operators imported from the tenant
# A directory a remote agent serves is left to it while the agent was seen this recently.
REMOTE_ALIVE = dt.timedelta(seconds=30)
# Failures of a push run that a later attempt may not meet (anything else is given up at once).
_RETRIED = (ConnectorError, StorageError, Conflict)


@dataclass
class _Open:
    version: int
    connector: Connector


class Agent:
    def __init__(
        self,
        vault: Vault,
        keys: KeyRing,
        actor: Actor,
        *,
        poll_seconds: float = 0.2,
        factory: ConnectorFactory = open_connector,
        clock: Callable[[], dt.datetime] = utcnow,
        rng: random.Random | None = None,
        on_round: Callable[[], None] | None = None,
        retention: Retention | None = None,
    ) -> None:
        """``on_round``: called as the loop goes round (the heartbeat file of an agent in its
        own process, :mod:`credsync.agent.heartbeat`); :attr:`last_round` says when it last
        did (``time.time()``; None before the first), for the server's ``/readyz``."""
        actor.require(Permission.VAULT_READ, Permission.VAULT_WRITE, Permission.DIRECTORY_ADMIN_USE)
        # It serves every client's directories and queued pushes.
        require_all_clients(actor, "running the agent")
        self._vault = vault
        self._db = vault.db
        self._actor = actor
        self._engine = Engine(vault, keys, actor, factory=factory, clock=clock)
        self._rows = QueueRows(vault.db, vault.audit, actor, clock)
        self._factory = factory
        self._clock = clock
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not security
        self._poll = max(0.01, poll_seconds)
        self._name = f"{socket.gethostname()}:{os.getpid()}"
        self._open: dict[str, _Open] = {}
        self._periodic: dict[str, asyncio.Task[None]] = {}
        self._busy: set[str] = set()  # directories found busy elsewhere (logged once)
        self._swept_at = -float("inf")  # monotonic time of the last sweep
        self.stop_event = asyncio.Event()
        self._keys = keys
        self._wake = asyncio.Event()  # a push was queued (see the module's docstring)
        # On PostgreSQL, while running: the connection told of pushes queued anywhere.
        self.listener: queue_signal.QueueListener | None = None
        self._selections: asyncio.Task[None] | None = None
        self._selections_at = -float("inf")  # monotonic time of the last look for due ones
        self._saved = (
            SavedSelections(vault, keys, actor, factory=factory, clock=clock)
            if actor.can(Permission.DIRECTORY_SETUP)
            else None
        )
        self._operators_at = -float("inf")  # monotonic time of the last operator sync
        self._operators: asyncio.Task[None] | None = None
        self._on_round = on_round
        self.last_round: float | None = None
        self._pruning = HourlyPrune(retention or Retention())  # credsync.sync.retention
        self._prune: asyncio.Task[PruneJson | None] | None = None

    # -- main loop -----------------------------------------------------------------------------
    async def run(self, *, once: bool = False) -> None:
        memory.limit_arenas()  # before its threads allocate (see credsync.agent.memory)
        loop = asyncio.get_running_loop()

        def wake() -> None:  # from any thread, once a queueing transaction has committed
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(self._wake.set)

        undo = queue_signal.on_queued(self._db, wake)
        if not once and not self._db.is_sqlite:
            self.listener = queue_signal.QueueListener(self._db, wake)
            self.listener.start()
        try:
            while not self.stop_event.is_set():
                self.last_round = time.time()
                if self._on_round is not None:
                    self._on_round()
                await self._sweep()
                self._start_prune()
                await self.drain_queue()
                await self._start_due_runs()
                self._start_due_selections()
                self._start_operator_sync()
                if once:
                    if self._periodic:
                        await asyncio.gather(*self._periodic.values())
                    if self._selections is not None:
                        await self._selections
                    if self._operators is not None:
                        await self._operators
                    if self._prune is not None:
                        await self._prune
                    await self.drain_queue()
                    return
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self._poll)
                self._wake.clear()
        finally:
            undo()
            if self.listener is not None:
                self.listener.stop()
                await asyncio.to_thread(self.listener.join, 10.0)
                self.listener = None
            tasks = list(self._periodic.values())
            if self._selections is not None:
                tasks.append(self._selections)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            if self._operators is not None:
                await asyncio.gather(self._operators, return_exceptions=True)
            if self._prune is not None and not self._prune.done():  # (of this loop)
                await asyncio.gather(self._prune, return_exceptions=True)
            await self.close()

    async def close(self) -> None:
        for entry in self._open.values():
            with contextlib.suppress(Exception):
                await entry.connector.close()
        self._open.clear()

    def stop(self) -> None:
        self.stop_event.set()
        self._wake.set()

    async def _sweep(self) -> None:
        """Runs abandoned by a process that stopped: marked aborted (at start, then every
        SWEEP_SECONDS)."""
        now = asyncio.get_running_loop().time()
        if now - self._swept_at < lease.SWEEP_SECONDS:
            return
        self._swept_at = now
        try:
            await asyncio.to_thread(
                lease.sweep_abandoned, self._db, self._vault.audit, self._clock()
            )
        except CredsyncError as exc:
            log.warning("abandoned runs were not swept: %s", exc)

    def _start_prune(self) -> None:
        """The retention's prune, when due (hourly by the agent's clock), in a thread."""
        now = self._clock()
        if (self._prune is None or self._prune.done()) and self._pruning.take(now):
            args = (self._db, self._vault.audit, self._actor, now)
            self._prune = asyncio.create_task(asyncio.to_thread(self._pruning.run, *args))

    def _start_operator_sync(self) -> None:
        """The operators' sync, when due and the agent runs as an admin (see the module)."""
        now = asyncio.get_running_loop().time()
        busy = self._operators is not None and not self._operators.done()
        if busy or now - self._operators_at < OPERATOR_SYNC_SECONDS:
            return
        if not self._actor.can(Permission.ADMIN):
            return
        self._operators_at = now
        self._operators = asyncio.create_task(asyncio.to_thread(self._sync_operators))

    def _sync_operators(self) -> None:
        from credsync.sync.operator_import import OperatorImport

        try:
            if not self._vault.operator_sign_in.configured():
                return
            report = OperatorImport(self._vault, self._keys).sync(self._actor)
        except CredsyncError as exc:
            log.warning("the operators were not synchronised with the tenant: %s", exc)
            return
        changed = [x for x in report.lines if x["action"] not in ("unchanged", "skipped")]
        if changed:
            log.info("operators synchronised with the tenant: %s", report.to_json()["counts"])

    def _skipped(self, directory_id: str, exc: RunInProgress) -> None:
        """A run under way elsewhere: said at info level, once until the directory is free."""
        if directory_id not in self._busy:
            self._busy.add(directory_id)
            log.info("skipping directory %s this round: %s", directory_id, exc)

    # -- connectors ------------------------------------------------------------------------------
    async def _connector(self, directory_id: str, version: int) -> Connector:
        entry = self._open.get(directory_id)
        if entry is not None and entry.version == version:
            return entry.connector
        if entry is not None:
            with contextlib.suppress(Exception):
                await entry.connector.close()
        connector = self._engine.connect(directory_id)
        self._open[directory_id] = _Open(version, connector)
        return connector

    async def _drop_connector(self, directory_id: str) -> None:
        entry = self._open.pop(directory_id, None)
        if entry is not None:
            with contextlib.suppress(Exception):
                await entry.connector.close()

    # -- the queue -------------------------------------------------------------------------------
    def _claim(self) -> Claimed:
        """Due queue rows claimed for this agent (none of a directory whose periodic run this
        agent has under way)."""
        running = [d for d, task in list(self._periodic.items()) if not task.done()]
        only = self._only()
        if only is None:
            running += self._elsewhere()
        return self._rows.claim(self._name, running, only)

    async def drain_queue(self) -> int:
        """Push what is claimed, to its directories (PARALLEL_DIRECTORIES at most) at once,
        the claims renewed meanwhile; returns how many queue rows were handled."""
        claimed = await asyncio.to_thread(self._claim)
        if not claimed:
            return 0
        ids = [e[0] for entries in claimed.values() for e in entries]
        keep = asyncio.create_task(self._keep_claims(ids), name="credsync-claims")
        try:
            await asyncio.gather(*(self._push(d, e) for d, e in claimed.items()))
        finally:
            keep.cancel()
            await asyncio.gather(keep, return_exceptions=True)
        return len(ids)

    async def _keep_claims(self, ids: list[int]) -> None:
        """The claims on ``ids`` renewed every RENEW_SECONDS while they are worked on (rows
        done meanwhile are gone; a failure is logged: the claim then expires, and the row
        may be claimed again by another agent, whose run waits for the directory's lease)."""
        while True:
            await asyncio.sleep(RENEW_SECONDS)
            try:
                await asyncio.to_thread(self._rows.renew, self._name, ids)
            except CredsyncError as exc:
                log.warning("claims on queued pushes were not renewed: %s", exc)

    async def _push(self, directory_id: str, entries: list[tuple[int, str]]) -> None:
        jobs = await asyncio.to_thread(
            queued_jobs, self._db, directory_id, sorted({e[1] for e in entries})
        )
        if jobs:
            await self._relay(directory_id, [e for e in entries if e[1] in jobs], jobs)
            entries = [e for e in entries if e[1] not in jobs]
            if not entries:
                return
        ids = [e[0] for e in entries]
        version = await asyncio.to_thread(self._version_of, directory_id)
        if version is None:  # the directory was removed meanwhile
            await asyncio.to_thread(self._rows.done, ids)
            return
        try:
            connector = await self._connector(directory_id, version)
            report = await self._engine.run(
                directory_id,
                only=sorted({e[1] for e in entries}),
                trigger=AGENT_TRIGGER,
                connector=connector,
            )
        except RunInProgress as exc:  # a run under way elsewhere: these wait, nothing counted
            self._skipped(directory_id, exc)
            await asyncio.to_thread(self._rows.later, ids)
            return
        except _RETRIED as exc:  # the directory or the database away, a write that collided
            log.warning("queued pushes for directory %s failed: %s", directory_id, exc)
            await self._drop_connector(directory_id)
            await asyncio.to_thread(self._rows.retry, ids, str(exc))
            return
        except Exception as exc:  # retrying will not help: the pushes are given up
            await self._drop_connector(directory_id)
            by_credential: dict[str, list[tuple[int, str]]] = {}
            for entry in entries:
                by_credential.setdefault(entry[1], []).append(entry)
            if len(by_credential) > 1:  # which one can't be made? one run each finds out
                for alone in by_credential.values():
                    await self._push(directory_id, alone)
                return
            if isinstance(exc, CredsyncError):
                log.warning("queued pushes for directory %s can't be made: %s", directory_id, exc)
            else:
                log.exception("queued pushes for directory %s crashed", directory_id)
            await asyncio.to_thread(
                self._rows.give_up, ids, f"the push can't be made: {type(exc).__name__}: {exc}"
            )
            return
        if report.state == "failed":  # again after the backoff and the directory's Retry-After
            await self._drop_connector(directory_id)
            wait = report.summary.get(RETRY_AFTER)
            await asyncio.to_thread(self._rows.retry, ids, report.message, wait)
            return
        self._busy.discard(directory_id)
        await asyncio.to_thread(self._rows.done, ids)

    def _version_of(self, directory_id: str) -> int | None:
        with self._db.read() as conn:
            return directory_rows.version_of(conn, directory_id)

    async def _relay(
        self, directory_id: str, entries: list[tuple[int, str]], jobs: dict[str, PushJob]
    ) -> None:
        """Queued relays (see :mod:`credsync.sync.relay_push`): done, or retried later when
        the directory is away; a refusal is a flag, never a retry."""
        ids = [e[0] for e in entries]
        version = await asyncio.to_thread(self._version_of, directory_id)
        if version is None:
            await asyncio.to_thread(self._rows.done, ids)
            return
        try:
            connector = await self._connector(directory_id, version)
            directory = load_directory(self._db, directory_id)
            wanted = sorted({e[1] for e in entries})
            await push_queued(
                self._db, self._keys, self._actor, directory, connector, [jobs[c] for c in wanted]
            )
        except _RETRIED as exc:
            log.warning("queued relays to directory %s failed: %s", directory_id, exc)
            await self._drop_connector(directory_id)
            await asyncio.to_thread(self._rows.retry, ids, str(exc))
            return
        except Exception as exc:
            log.exception("queued relays to directory %s crashed", directory_id)
            await asyncio.to_thread(
                self._rows.give_up, ids, f"the relay can't be made: {type(exc).__name__}: {exc}"
            )
            return
        await asyncio.to_thread(self._rows.done, ids)

    # -- saved import selections -----------------------------------------------------------------
    def _start_due_selections(self) -> None:
        now = asyncio.get_running_loop().time()
        if self._saved is None or now - self._selections_at < SELECTIONS_SECONDS:
            return
        if self._selections is not None and not self._selections.done():
            return
        self._selections_at = now
        self._selections = asyncio.create_task(self._run_selections(self._saved))

    async def _run_selections(self, saved: SavedSelections) -> None:
        try:
            for done in await saved.run_due():
                log.info("saved selection run %s: %s %s", done["id"], done["state"], done["totals"])
        except CredsyncError as exc:
            log.warning("saved selections were not run: %s", exc)
        except Exception:
            log.exception("saved selections crashed")

    # -- periodic runs ---------------------------------------------------------------------------
    def _only(self) -> list[str] | None:
        """The only directories whose work this agent claims (None: any)."""
        return None

    def _elsewhere(self) -> set[str]:
        """Directories this agent leaves alone: those a live remote agent serves (see
        docs/remote-agent.md)."""
        with self._db.read() as conn:
            return remote_agents.served_directories(conn, seen_since=self._clock() - REMOTE_ALIVE)

    async def _start_due_runs(self) -> None:
        """A task for each directory whose periodic run is due (looked up in a worker thread:
        the round reads only the due directories' ids, not every directory's row)."""
        for directory_id, version in await asyncio.to_thread(self._due):
            running = self._periodic.get(directory_id)
            if running is not None and not running.done():
                continue
            self._periodic[directory_id] = asyncio.create_task(
                self._periodic_run(directory_id, version)
            )

    def _due(self) -> list[tuple[str, int]]:
        elsewhere = self._elsewhere()
        with self._db.read() as conn:
            due = directory_rows.due(conn, self._clock())
        return [(d, version) for d, version in due if d not in elsewhere]

    async def _periodic_run(self, directory_id: str, version: int) -> None:
        state = "failed"
        wait: float | None = None  # what a failed run's directory asked (Retry-After)
        try:
            conn = await self._connector(directory_id, version)
            report = await self._engine.run(directory_id, trigger=AGENT_TRIGGER, connector=conn)
            state = report.state
            wait = report.summary.get(RETRY_AFTER)  # only a failed run's summary has it
            self._busy.discard(directory_id)
            log.info("run %s on %s: %s %s", report.id, report.directory, state, report.summary)
            if report.kind == "full" and memory.trim_due():  # freed memory handed back
                await asyncio.to_thread(memory.trim)
        except RunInProgress as exc:  # a run under way elsewhere: this one waits for its next turn
            self._skipped(directory_id, exc)
            state = "skipped"
        except CredsyncError as exc:
            log.warning("periodic run of directory %s failed: %s", directory_id, exc)
        except Exception:
            log.exception("periodic run of directory %s crashed", directory_id)
        if state == "failed":
            await self._drop_connector(directory_id)
        await asyncio.to_thread(self._schedule, directory_id, wait)
        self._wake.set()  # its pushes, queued meanwhile and left waiting, are claimed now

    def _schedule(self, directory_id: str, retry_after: float | None) -> None:
        schedule_after_run(
            self._db, directory_id, self._clock(), self._rng, retry_after=retry_after
        )
