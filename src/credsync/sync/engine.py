"""The engine: one run over one directory, from reading the directory to the stored report.

    read accounts (full, or incremental from the cursor: then only the credentials either
    side changed, :mod:`credsync.sync.incremental`) -> safety rails -> auto-create's
    first_seen credentials (:mod:`credsync.sync.auto_create`) -> plan (pure)
    -> apply in chunks (each chunk's outcomes, links, flags and report items in one
    transaction) -> cursor, counts and the run's summary (only after the whole run)

The engine decides the order of things and nothing else: the executor applies a chunk and
returns what it did (:class:`~credsync.sync.executor.Applied`), :class:`RunSecrets` decrypts
a chunk's secrets, and the run recorder (:mod:`credsync.sync.recorder`) makes every write.

Every run is stored, dry runs too. A directory that can't be reached, or that refuses TLS or
our bind, ends the run as ``failed`` and flags the linked credentials with that status; the
next good check clears those flags. Running needs ``vault.read`` and ``directory_admin.use``
(the engine binds with the directory's admin credential); pushes and the restores that follow
a refused push need ``vault.write`` too. A run that acts holds a lease on its directory (one
such run at a time, across processes; see :mod:`credsync.sync.lease`).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy.engine import Connection

from credsync import logcontext
from credsync.connectors.base import (
    Capability,
    Connector,
    DirectoryConfig,
)
from credsync.connectors.registry import ConnectorFactory, open_connector, verifying_kinds
from credsync.errors import ConnectorError, InvalidInput
from credsync.storage import link_reads
from credsync.sync import lease, quarantine, store
from credsync.sync.auto_create import FirstSeen, auto_create_items, first_seen, with_created
from credsync.sync.connect import DirectoryService, connect, directory_config, load_directory
from credsync.sync.executor import Applied, Executor, password_options
from credsync.sync.incremental import narrow
from credsync.sync.model import Action, CredentialState, LinkState, Outcome, PlanItem, Status
from credsync.sync.planner import Rules, plan, safety_rail, supersede
from credsync.sync.recorder import RunRecorder, RunSecrets, WholePass
from credsync.sync.reports import RunReport, load_run
from credsync.sync.run_failure import flag_linked, wait_asked
from credsync.sync.run_reads import Loaded, load, read_directory, read_linked, read_streamed
from credsync.sync.scope import Scope, scope_of
from credsync.sync.streamed import Read, StreamedPass
from credsync.types import Secret
from credsync.vault._time import utcnow
from credsync.vault.auth import Actor, Permission
from credsync.vault.directories import Directory, directory_model, find_directory_row
from credsync.vault.keyring import KeyRing
from credsync.vault.quarantine_defaults import vault_defaults
from credsync.vault.service import Vault

__all__ = ["CHUNK", "Engine"]

log = logging.getLogger("credsync.sync")


CHUNK = 200  # plan items that bind or push applied (and committed) together, at most
QUIET_CHUNK = 2000  # items in all (most touching no directory: in step) per chunk, at most


@dataclass
class _Run:
    """What the engine keeps of a run while it works; every write is the recorder's."""

    recorder: RunRecorder
    kind: str
    accounts_read: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def directory(self) -> Directory:
        return self.recorder.directory

    def finish(
        self, state: str, message: str, *, whole: WholePass | None = None, failed: bool = False
    ) -> None:
        self.recorder.finish(
            state,
            message,
            kind=self.kind,
            accounts_read=self.accounts_read,
            extra=self.extra,
            whole=whole,
            failed=failed,
        )


class Engine(DirectoryService):
    def __init__(
        self,
        vault: Vault,
        keys: KeyRing,
        actor: Actor,
        *,
        factory: ConnectorFactory = open_connector,
        clock: Callable[[], dt.datetime] = utcnow,
        heartbeat_seconds: float = lease.HEARTBEAT_SECONDS,
    ) -> None:
        super().__init__(vault, keys, actor, factory=factory)
        self._clock = clock
        self._heartbeat_seconds = heartbeat_seconds

    # -- entry points ------------------------------------------------------------------------
    def directories_of(self, client_ref: str) -> list[Directory]:
        found = self._vault.directories.list(self._actor, client_ref)
        if not found:
            raise InvalidInput(
                f"client {client_ref!r} has no directory: add one with `credsync directory add`"
            )
        return found

    async def run(
        self,
        directory_ref: str,
        *,
        dry_run: bool = False,
        full: bool = False,
        trigger: str = "cli",
        only: Sequence[str] | None = None,
        connector: Connector | None = None,
        on_start: Callable[[str], None] | None = None,
    ) -> RunReport:
        """One run over the directory. ``only``: just these credential ids (the agent's
        immediate pushes); such a run reads just their accounts. ``connector``: an open one
        to reuse (the agent keeps one per directory); otherwise one is opened and closed.
        ``on_start``: told the run's id as soon as the run is stored (state ``running``), so
        that a caller can follow it while it runs. Refused with RunInProgress (before anything is
        stored) while another run that acts is under way on the directory, unless ``dry_run``.
        """
        self._actor.require(Permission.VAULT_READ, Permission.DIRECTORY_ADMIN_USE)
        if not dry_run:
            self._actor.require(Permission.VAULT_WRITE)
        # Its reads and writes of the database in worker threads, here and below (an agent's
        # event loop serves hundreds of directories: none waits for SQLite's write lock).
        directory = await asyncio.to_thread(self._directory, directory_ref)
        kind = "push" if only is not None else self._kind(directory, full)
        run = _Run(await asyncio.to_thread(self._start, directory, kind, trigger, dry_run), kind)
        if on_start is not None:
            on_start(run.recorder.run_id)
        with logcontext.fields(
            run_id=run.recorder.run_id, directory_id=directory.id, client_id=directory.client_id
        ):
            report = await self._guarded(run, connector, lambda c: self._run(run, c, only))
            log.info("%s run %s: %s", kind, report.state, report.message)
            return report

    async def _guarded(
        self,
        run: _Run,
        connector: Connector | None,
        body: Callable[[Connector], Awaitable[None]],
    ) -> RunReport:
        """Run ``body`` with a connector (opened and closed here unless one was given): a
        directory failure ends the run as failed with flags; anything else is recorded and
        raised."""
        own = connector is None
        heartbeat = run.recorder.heartbeat
        heartbeat.start()
        try:
            if connector is None:
                connector = self._factory(directory_config(self._db, self._keys, run.directory))
            await body(connector)
        except ConnectorError as exc:
            await asyncio.to_thread(self._fail, run, exc)
        except lease.LeaseLost as exc:
            run.finish("aborted", str(exc))
        except BaseException as exc:
            run.finish("failed", f"the run stopped: {type(exc).__name__}: {exc}")
            raise
        finally:
            await heartbeat.stop()
            if own and connector is not None:
                await connector.close()
        return await asyncio.to_thread(self.report, run.recorder.run_id)

    def _directory(self, ref: str) -> Directory:
        with self._db.read() as conn:
            return directory_model(find_directory_row(conn, ref, self._actor), vault_defaults(conn))

    def report(self, run_id: str) -> RunReport:
        with self._db.read() as conn:
            return load_run(conn, run_id)

    @property
    def keys(self) -> KeyRing:
        return self._keys

    def connect(self, directory_ref: str) -> Connector:
        """A connector for the directory (it connects on first use; close it when done)."""
        return connect(self._db, self._keys, self._actor, directory_ref, factory=self._factory)

    def config(self, directory_ref: str) -> DirectoryConfig:
        """The connector settings of a directory, its bind password decrypted."""
        self._actor.require(Permission.DIRECTORY_ADMIN_USE)
        directory = load_directory(self._db, directory_ref, self._actor)
        return directory_config(self._db, self._keys, directory)

    # -- the run -----------------------------------------------------------------------------
    def _kind(self, directory: Directory, full: bool) -> str:
        if full or directory.cursor is None or directory.full_pass_at is None:
            return "full"
        age = self._clock() - directory.full_pass_at
        if age > dt.timedelta(hours=directory.option("full_pass_hours")):
            return "full"
        return "incremental"

    async def _run(self, run: _Run, connector: Connector, only: Sequence[str] | None) -> None:
        directory = run.directory
        if only is not None:
            creds, links, cached = await asyncio.to_thread(load, self._db, directory, only)
            read = await read_linked(connector, creds, links, cached)
        else:
            # A full run's vault side is loaded in a worker thread while the directory is read
            # (the DC's time and the database's overlap); an incremental one loads what its
            # changes concern once it has them (:mod:`credsync.sync.incremental`). A streamed
            # read's sink, given pages, waits for the whole vault side.
            incremental = run.kind == "incremental"
            loading = None if incremental else asyncio.ensure_future(
                asyncio.to_thread(load, self._db, directory, None))  # fmt: skip

            def plans_over() -> Awaitable[Loaded]:
                if loading is not None:
                    return loading
                return asyncio.to_thread(load, self._db, directory, None)

            try:
                read = await self._reading(connector, run, plans_over)
                creds, links, _ = await loading if loading is not None else ([], {}, {})
            except BaseException:
                if loading is not None:
                    loading.cancel()
                    with contextlib.suppress(BaseException):
                        await loading
                raise
            if read.full and incremental:  # the cursor was refused: every credential
                creds, links, _ = await asyncio.to_thread(load, self._db, directory, None)
        if Capability.CHANGE_AUTHORS in connector.capabilities and read.changed:
            with self._db.read() as conn:
                kept = store.keep_authors(conn, directory.id, read.changed)
            read = replace(read, changed=kept, accounts=read.accounts | {a.id: a for a in kept})
        if read.full and run.kind == "incremental":
            run.kind = "full"  # the cursor was refused or stale, or DirSync is not allowed
        planned: set[str] | None = None  # an incremental run's: the credentials it concerns
        linked = len(links)
        if not read.full and only is None:
            narrowed = await asyncio.to_thread(narrow, self._db, directory, read)
            creds, links, read, linked = (
                narrowed.creds,
                narrowed.links,
                narrowed.read,
                narrowed.linked,
            )
            planned = {c.id for c in creds}
            run.extra.update(narrowed.summary())
        run.accounts_read = len(read.changed) if not read.full else read.size
        abort = safety_rail(
            accounts_read=read.size,
            last_count=directory.account_count,
            min_ratio_percent=directory.option("min_account_ratio"),
            full=read.full and only is None,
        )
        made = FirstSeen()
        if only is None and abort is None:
            made = await first_seen(
                self._vault, self._keys, self._actor, directory, connector,
                dry_run=run.recorder.dry_run,
                changed=None if read.full else [a.id for a in read.changed],
            )  # fmt: skip
            creds, links, accounts = with_created(self._db, directory, made, creds, links)
            if planned is not None:  # read again with the made ones: those still, and these
                creds = [c for c in creds if c.id in planned or c.id in made.created]
            notes = read.notes if made.note is None else (*read.notes, made.note)
            read = replace(read, accounts={**accounts, **read.accounts}, notes=notes)
        claimed, rules, scope = await asyncio.to_thread(
            self._around, directory, connector, read.accounts)  # fmt: skip
        creds = scope.planned(creds, links)  # not another directory's business (sync.scope)
        if read.full and only is None and abort is None and not run.recorder.dry_run:
            await asyncio.to_thread(scope.close_flags, self._db, self._actor.name, self._clock())
        items = plan(
            creds,
            links,
            read.accounts,
            claimed_elsewhere=claimed,
            abort_reason=abort,
            rules=rules,
        )
        if abort is None:
            screened = await quarantine.screen(
                self._vault, self._actor, directory, run.recorder.run_id, items, links,
                read.accounts, {c.id: c.secret_version for c in creds},
                linked=linked if only is None else 0,  # a few pushes: no percentage
                dry_run=run.recorder.dry_run, at=self._clock(), connector=connector,
            )  # fmt: skip
            items, abort = screened.items, screened.abort
            if screened.held:  # the report says how many the thresholds held
                run.extra["quarantined"] = screened.held
            if screened.note is not None:
                read = replace(read, notes=(*read.notes, screened.note))
        items = auto_create_items(items, made)
        if run.recorder.dry_run or abort is not None:
            run.recorder.store_plan([Outcome(i, i.status, i.action, i.detail) for i in items])
            said = abort or "; ".join(("dry run: nothing done", *read.notes))
            run.finish("aborted" if abort else "done", said)
            return
        await asyncio.to_thread(self._store_read, run, read)
        await self._execute(run, connector, items, links, read, creds, advance=only is None)

    def _reading(
        self, connector: Connector, run: _Run, plans_over: Callable[[], Awaitable[Loaded]]
    ) -> Awaitable[Read]:
        """The directory's read for the run: streamed into a sink where the connector can."""
        directory = run.directory
        if Capability.STREAMED_READS not in connector.capabilities:
            return read_directory(connector, directory, run.kind)
        sink = StreamedPass(self._db, directory.id, plans_over,
                            write=not run.recorder.dry_run, clock=self._clock)  # fmt: skip
        return read_streamed(connector, directory, run.kind, sink)

    @staticmethod
    def _store_read(run: _Run, read: Read) -> None:
        run.recorder.check_lease(renew=True)  # the read may have taken long: still ours?
        run.recorder.store_read(read.changed, read.removed, full=read.full, seen=read.seen)

    def _around(self, directory: Directory, connector: Connector,
                accounts: Mapping[str, Any]) -> tuple[Mapping[str, str], Rules, Scope]:  # fmt: skip
        with self._db.read() as conn:
            claimed = link_reads.claimed_elsewhere(conn, directory.id, accounts)
            return claimed, self._rules(conn, directory, connector), scope_of(conn, directory)

    @staticmethod
    def _rules(conn: Connection, directory: Directory, connector: Connector) -> Rules:
        can_verify = Capability.VERIFY_BIND in connector.capabilities
        return Rules(
            can_verify=can_verify,
            knows_authors=Capability.CHANGE_AUTHORS in connector.capabilities,
            force_change=bool(directory.option("force_change")),
            managed_elsewhere=(
                {}
                if can_verify
                else link_reads.linked_elsewhere(
                    conn, directory.id, directory.client_id, kinds=verifying_kinds()
                )
            ),
        )

    async def _execute(
        self,
        run: _Run,
        connector: Connector,
        items: list[PlanItem],
        links: dict[str, LinkState],
        read: Read,
        creds: list[CredentialState],
        *,
        advance: bool,
    ) -> None:
        """Apply ``items`` chunk by chunk and finish the run: done, aborted (the push cap),
        or failed (the directory went away or refused us mid-run). ``advance``: a done run
        moves the directory's cursor and counts (a whole run)."""
        directory, recorder = run.directory, run.recorder
        recorder.know(links)
        secrets = RunSecrets(self._vault, self._keys, self._actor, directory.client_id)
        executor = Executor(
            connector=connector,
            accounts=read.accounts,
            links=links,
            push_cap=directory.option("push_cap"),
            journal=recorder.journal(secrets),
            options=password_options(directory),
            clock=self._clock,
        )
        versions = {c.id: c.secret_version for c in creds}
        binds = 0

        def decrypt(chunk: list[PlanItem]) -> asyncio.Future[dict[str, tuple[int, Secret]]]:
            return asyncio.ensure_future(asyncio.to_thread(secrets.for_chunk, chunk, versions))

        # Each chunk is stored in a worker thread while the next one talks to the directory,
        # and the next chunk's secrets are decrypted in another meanwhile (so the binds and
        # pushes go on from one chunk to the next: two chunks' plaintext at most).
        chunks = list(_chunks(items))
        storing: asyncio.Future[None] | None = None
        ahead = decrypt(chunks[0]) if chunks else None
        try:
            for n, chunk in enumerate(chunks):
                recorder.check_lease()
                recorder.reserve(chunk)
                sent = await ahead if ahead is not None else {}
                ahead = decrypt(chunks[n + 1]) if n + 1 < len(chunks) else None
                done: Applied = await executor.apply_all(chunk, sent)
                sent.clear()  # the chunk's plaintext goes as soon as it was used
                binds += done.binds
                if storing is not None:
                    await storing
                storing = asyncio.ensure_future(
                    asyncio.to_thread(recorder.store_chunk, done, secrets)
                )
        finally:
            if ahead is not None:  # the run stopped early: the next chunk's plaintext goes
                with contextlib.suppress(Exception):
                    (await ahead).clear()
            if storing is not None:
                await storing
        run.extra.update(binds=binds, pushes=executor.pushes)

        def finish() -> None:
            recorder.check_lease()
            if executor.stopped is None:
                whole = WholePass(read.cursor, read.full, read.size) if advance else None
                run.finish("done", "; ".join(read.notes), whole=whole)
            elif executor.stop_status is not Status.SKIPPED:  # the directory itself failed
                run.finish("failed", executor.stopped, failed=True)
            else:
                run.finish("aborted", executor.stopped)

        await asyncio.to_thread(finish)

    async def apply(
        self,
        directory_ref: str,
        items: list[PlanItem],
        *,
        trigger: str,
        connector: Connector | None = None,
    ) -> RunReport:
        """A run of ``items`` decided elsewhere (an operator resolving a flag): the linked
        accounts are read fresh, then the items are applied and stored like any run's."""
        self._actor.require(
            Permission.VAULT_READ, Permission.VAULT_WRITE, Permission.DIRECTORY_ADMIN_USE
        )
        with self._db.read() as conn:
            row = find_directory_row(conn, directory_ref, self._actor)
            directory = directory_model(row, vault_defaults(conn))
            creds = store.sync_credentials(conn, directory.client_id, include_off=True)
            links = store.load_links(conn, directory.id)
        wanted = {i.credential_id for i in items}
        creds = [c for c in creds if c.id in wanted]
        items = [supersede(i, links.get(i.credential_id or "")) for i in items]
        run = _Run(self._start(directory, "push", trigger, False), "push")

        async def body(connector: Connector) -> None:
            read = await read_linked(connector, creds, links, {})
            run.accounts_read = len(read.changed)
            run.recorder.check_lease(renew=True)
            run.recorder.store_read(read.changed, read.removed, full=read.full)
            missing = [i for i in items if (i.account_id or "") not in read.accounts]
            if missing:
                raise InvalidInput(
                    f"the account of {missing[0].account_name!r} is gone from the directory"
                )
            await self._execute(run, connector, items, links, read, creds, advance=False)

        return await self._guarded(run, connector, body)

    # -- bookkeeping ---------------------------------------------------------------------------
    def _start(self, directory: Directory, kind: str, trigger: str, dry_run: bool) -> RunRecorder:
        """The run stored as ``running``, once the directory's lease is taken."""
        return RunRecorder.start(
            self._vault,
            self._actor,
            directory,
            kind=kind,
            trigger=trigger,
            dry_run=dry_run,
            clock=self._clock,
            heartbeat_seconds=self._heartbeat_seconds,
        )

    def _fail(self, run: _Run, exc: ConnectorError) -> None:
        """The directory could not be read: flag every linked credential with the reason. A
        wait the directory asked for (a 429's Retry-After) is kept in the summary
        (``retry_after``, seconds): the agent's next run of it waits that long."""
        run.extra.update(wait_asked(exc))
        run.finish("failed", flag_linked(self._db, run.recorder, exc), failed=True)


def _chunks(items: list[PlanItem]) -> Iterator[list[PlanItem]]:
    """``items`` in order, a chunk at a time: up to :data:`CHUNK` that bind or push, and up
    to :data:`QUIET_CHUNK` in all (a periodic run's thousands in step: a few transactions)."""
    start = 0
    while start < len(items):
        end, acting = start, 0
        while end < len(items) and end - start < QUIET_CHUNK and acting < CHUNK:
            acting += items[end].action in (Action.VERIFY, Action.PUSH)
            end += 1
        yield items[start:end]
        start = end
