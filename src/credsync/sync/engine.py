"""The engine: one run over one directory, from reading the directory to the stored report.

    read accounts (full, or incremental from the cursor) -> safety rails -> plan (pure)
    -> apply in chunks (each chunk's outcomes, links, flags and report items in one
    transaction) -> cursor, counts and the run's summary (only after the whole run)

Every run is stored, dry runs too. A directory that can't be reached, or that refuses TLS or
our bind, ends the run as ``failed`` and flags the linked credentials with that status; the
next good check clears those flags. Running needs ``vault.read`` and ``directory_admin.use``
(the engine binds with the directory's admin credential); pushes and the restores that follow
a refused push need ``vault.write`` too. A run that acts holds a lease on its directory (one
such run at a time, across processes; see :mod:`credsync.sync.lease`).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Connection

from credsync.connectors.base import (
    Account,
    Capability,
    Connector,
    DirectoryConfig,
    PasswordOptions,
)
from credsync.connectors.registry import ConnectorFactory, open_connector, verifying_kinds
from credsync.errors import ConnectorError, InvalidInput
from credsync.storage.tables import directories, runs
from credsync.sync import lease, store
from credsync.sync.connect import connect, directory_config, load_directory
from credsync.sync.executor import Executor, Rejection, status_of_error
from credsync.sync.model import Action, CredentialState, LinkState, Outcome, PlanItem, Status
from credsync.sync.planner import Rules, cap_pushes, plan, safety_rail
from credsync.sync.reports import RunReport, load_run
from credsync.types import Secret, new_id
from credsync.vault._time import utcnow
from credsync.vault.auth import Actor, Permission
from credsync.vault.directories import Directory, directory_model, find_directory_row
from credsync.vault.keyring import KeyRing
from credsync.vault.secrets import read_secrets, write_secret_version
from credsync.vault.service import Vault

__all__ = ["CHUNK", "Engine"]


def password_options(directory: Directory) -> PasswordOptions:
    """How pushes to this directory set passwords (its force_change and never_expires)."""
    return PasswordOptions(
        must_change=bool(directory.option("force_change")),
        never_expires=bool(directory.option("never_expires")),
    )


def _no_secret(credential_id: str) -> tuple[int, Secret]:
    raise AssertionError(f"no secret loaded for {credential_id}")


CHUNK = 200  # plan items applied (and committed) together


@dataclass
class _Read:
    accounts: dict[str, Account]
    changed: list[Account]
    removed: list[str]
    cursor: str | None
    full: bool


@dataclass
class _Chunk:
    outcomes: list[Outcome]
    link_updates: dict[str, dict[str, Any]]
    rejections: list[Rejection]
    changed_accounts: list[Account]


@dataclass
class _Run:
    id: str
    directory: Directory
    kind: str
    dry_run: bool
    outcomes: list[Outcome] = field(default_factory=list)
    accounts_read: int = 0
    extra: dict[str, Any] = field(default_factory=dict)
    heartbeat: lease.Heartbeat | None = None

    def check_lease(self, *, renew: bool = False) -> None:
        """Stop (lease.LeaseLost) if the run lost its lease; ``renew``: beat first."""
        if self.heartbeat is not None:
            self.heartbeat.renew() if renew else self.heartbeat.check()


class Engine:
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
        self._vault = vault
        self._db = vault.db
        self._keys = keys
        self._actor = actor
        self._factory = factory
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
        with self._db.read() as conn:
            directory = directory_model(find_directory_row(conn, directory_ref))
        kind = "push" if only is not None else self._kind(directory, full)
        run = _Run(self._start(directory, kind, trigger, dry_run), directory, kind, dry_run)
        if on_start is not None:
            on_start(run.id)
        return await self._guarded(run, connector, lambda c: self._run(run, c, only))

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
        run.heartbeat = lease.Heartbeat(
            self._db, run.id, self._clock, self._heartbeat_seconds, holds_lease=not run.dry_run
        )
        run.heartbeat.start()
        try:
            if connector is None:
                connector = self._factory(directory_config(self._db, self._keys, run.directory))
            await body(connector)
        except ConnectorError as exc:
            self._fail(run, exc)
        except lease.LeaseLost as exc:
            self._finish(run, "aborted", str(exc))
        except BaseException as exc:
            self._finish(run, "failed", f"the run stopped: {type(exc).__name__}: {exc}")
            raise
        finally:
            await run.heartbeat.stop()
            if own and connector is not None:
                await connector.close()
        return self.report(run.id)

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
        return directory_config(self._db, self._keys, load_directory(self._db, directory_ref))

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
        with self._db.read() as conn:
            if only is not None:  # a few queued pushes: read just what they need
                creds = store.sync_credentials(conn, directory.client_id, ids=only)
                links = store.load_links(conn, directory.id, ids=only)
                if any(c.id not in links for c in creds):
                    # Linking needs every link (to see conflicts) and the accounts by name.
                    links = store.load_links(conn, directory.id)
                    cached = store.load_accounts_for(conn, directory.id, creds, links)
                else:
                    cached = {}
            else:
                creds = store.sync_credentials(conn, directory.client_id)
                links = store.load_links(conn, directory.id)
                # An incremental run plans over the cached accounts its credentials can touch
                # (linked, or matching an unlinked one by name), with the changes on top.
                cached = (
                    store.load_accounts_for(conn, directory.id, creds, links)
                    if run.kind != "full"
                    else {}
                )
        if only is not None:
            read = await self._read_linked(connector, creds, links, cached)
        else:
            read = await self._read(connector, directory, run.kind, cached)
        if read.full and run.kind == "incremental":
            run.kind = "full"  # the cursor was refused or stale, or DirSync is not allowed
        run.accounts_read = len(read.changed) if not read.full else len(read.accounts)
        with self._db.read() as conn:
            claimed = store.claimed_elsewhere(conn, directory.id, read.accounts)
            rules = self._rules(conn, directory, connector)
        abort = safety_rail(
            accounts_read=len(read.accounts),
            last_count=directory.account_count,
            min_ratio_percent=directory.option("min_account_ratio"),
            full=read.full and only is None,
        )
        items = plan(
            creds,
            links,
            read.accounts,
            claimed_elsewhere=claimed,
            abort_reason=abort,
            rules=rules,
        )
        if abort is None:
            abort = cap_pushes(items, directory.option("push_cap"))
            if abort is not None:
                items = plan(creds, links, read.accounts, abort_reason=abort, rules=rules)
        if run.dry_run or abort is not None:
            run.outcomes = [Outcome(i, i.status, i.action, i.detail) for i in items]
            with self._db.write() as conn:
                store.add_items(conn, run.id, 0, run.outcomes)
            self._finish(run, "aborted" if abort else "done", abort or "dry run: nothing done")
            return
        run.check_lease(renew=True)  # the read may have taken long: still ours, to act on?
        self._store_read(run, read)
        await self._execute(run, connector, items, links, read, creds, advance=only is None)

    @staticmethod
    def _rules(conn: Connection, directory: Directory, connector: Connector) -> Rules:
        can_verify = Capability.VERIFY_BIND in connector.capabilities
        return Rules(
            can_verify=can_verify,
            force_change=bool(directory.option("force_change")),
            managed_elsewhere=(
                {}
                if can_verify
                else store.linked_in_other_directories(
                    conn, directory.id, directory.client_id, kinds=verifying_kinds()
                )
            ),
        )

    def _store_read(self, run: _Run, read: _Read) -> None:
        """What the directory said, into the account cache the planner reads next time."""
        with self._db.write() as conn:
            store.replace_accounts(
                conn, run.directory.id, read.changed, read.removed, self._clock(), full=read.full
            )

    async def _execute(
        self,
        run: _Run,
        connector: Connector,
        items: list[PlanItem],
        links: dict[str, LinkState],
        read: _Read,
        creds: list[CredentialState],
        *,
        advance: bool,
    ) -> None:
        """Apply ``items`` chunk by chunk and finish the run: done, aborted (the push cap),
        or failed (the directory went away or refused us mid-run). ``advance``: a done run
        moves the directory's cursor and counts (a whole run)."""
        executor = Executor(
            connector=connector,
            accounts=read.accounts,
            links=links,
            secret=_no_secret,
            push_cap=run.directory.option("push_cap"),
            options=password_options(run.directory),
            clock=self._clock,
        )
        versions = {c.id: c.secret_version for c in creds}
        # Each chunk is stored in a worker thread while the next one talks to the directory.
        storing: asyncio.Future[None] | None = None
        try:
            for start in range(0, len(items), CHUNK):
                run.check_lease()
                done = await self._act(run, executor, items[start : start + CHUNK], versions)
                if storing is not None:
                    await storing
                storing = asyncio.ensure_future(asyncio.to_thread(self._store, run, done))
        finally:
            if storing is not None:
                await storing
        run.extra.update(binds=executor.binds, pushes=executor.pushes)
        run.check_lease()
        if executor.stopped is None:
            self._finish(run, "done", "", read=read if advance else None)
        elif executor.stop_status is not Status.SKIPPED:  # the directory itself failed
            self._finish(run, "failed", executor.stopped, failed=True)
        else:
            self._finish(run, "aborted", executor.stopped)

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
            directory = directory_model(find_directory_row(conn, directory_ref))
            creds = store.sync_credentials(conn, directory.client_id, include_off=True)
            links = store.load_links(conn, directory.id)
        wanted = {i.credential_id for i in items}
        creds = [c for c in creds if c.id in wanted]
        run = _Run(self._start(directory, "push", trigger, False), directory, "push", False)

        async def body(connector: Connector) -> None:
            read = await self._read_linked(connector, creds, links, {})
            run.accounts_read = len(read.changed)
            run.check_lease(renew=True)
            self._store_read(run, read)
            missing = [i for i in items if (i.account_id or "") not in read.accounts]
            if missing:
                raise InvalidInput(
                    f"the account of {missing[0].account_name!r} is gone from the directory"
                )
            await self._execute(run, connector, items, links, read, creds, advance=False)

        return await self._guarded(run, connector, body)

    async def _act(
        self,
        run: _Run,
        executor: Executor,
        chunk: list[PlanItem],
        versions: dict[str, int],
    ) -> _Chunk:
        """Apply one chunk with the directory; what it did, to be stored by :meth:`_store`."""
        wanted = {
            i.credential_id: versions[i.credential_id]
            for i in chunk
            if i.credential_id and i.action in (Action.VERIFY, Action.PUSH)
        }
        with self._db.read() as conn:
            secrets = read_secrets(conn, self._keys, run.directory.client_id, wanted)
        executor.secret = lambda cid: (wanted[cid], secrets[cid])
        outcomes = await executor.apply_all(chunk)
        secrets.clear()
        done = _Chunk(
            outcomes,
            dict(executor.link_updates),
            list(executor.rejections),
            list(executor.changed_accounts.values()),
        )
        executor.link_updates.clear()
        executor.rejections.clear()
        executor.changed_accounts.clear()
        return done

    def _store(self, run: _Run, done: _Chunk) -> None:
        """One chunk's outcomes, links, flags, restored passwords and report items, in one
        transaction (a thread of its own may run this)."""
        directory = run.directory
        now = self._clock()
        with self._db.write() as conn:
            if run.heartbeat is not None:
                run.heartbeat.touch(conn)
            for rejection in done.rejections:
                if rejection.working_version is None:
                    continue
                working = read_secrets(
                    conn,
                    self._keys,
                    directory.client_id,
                    {rejection.credential_id: rejection.working_version},
                )[rejection.credential_id]
                restored = write_secret_version(
                    conn,
                    self._vault.audit,
                    self._actor,
                    self._keys,
                    rejection.credential_id,
                    working,
                    source="sync",
                    reason=(
                        f"restored version {rejection.working_version}, the password the "
                        f"directory still has: it refused version {rejection.attempted_version}: "
                        f"{rejection.detail}"
                    ),
                )
                done.link_updates.setdefault(rejection.credential_id, {})[
                    "confirmed_secret_version"
                ] = restored
            store.record_outcomes(
                conn,
                directory_id=directory.id,
                client_id=directory.client_id,
                run_id=run.id,
                actor=self._actor.name,
                outcomes=done.outcomes,
                link_updates=done.link_updates,
                now=now,
            )
            if done.changed_accounts:
                store.replace_accounts(
                    conn, directory.id, done.changed_accounts, (), now, full=False
                )
            store.add_items(conn, run.id, len(run.outcomes), done.outcomes)
            for outcome in done.outcomes:
                if outcome.action is Action.PUSH and outcome.status is Status.IN_SYNC:
                    self._vault.audit.append(
                        conn,
                        self._actor,
                        "credential.pushed",
                        target_type="credential",
                        target_id=outcome.item.credential_id or "",
                        client_id=directory.client_id,
                        details={
                            "directory": directory.name,
                            "account": outcome.item.account_name,
                            "run_id": run.id,
                        },
                    )
        run.outcomes.extend(done.outcomes)

    async def _read(
        self, connector: Connector, directory: Directory, kind: str, cached: dict[str, Account]
    ) -> _Read:
        if Capability.CHANGES not in connector.capabilities:
            listed = [a async for a in connector.iter_accounts()]
            return _Read({a.id: a for a in listed}, listed, [], None, True)
        changes = await connector.changes_since(directory.cursor if kind != "full" else None)
        if changes.full:
            everything = {a.id: a for a in changes.changed}
            return _Read(everything, list(changes.changed), [], changes.cursor, True)
        accounts = dict(cached)
        for removed in changes.removed:
            accounts.pop(removed, None)
        for account in changes.changed:
            accounts[account.id] = account
        return _Read(accounts, list(changes.changed), list(changes.removed), changes.cursor, False)

    async def _read_linked(
        self,
        connector: Connector,
        creds: list[CredentialState],
        links: dict[str, LinkState],
        cached: dict[str, Account],
    ) -> _Read:
        """For a few credentials: their linked accounts read fresh (an unlinked one is
        matched against the cached accounts)."""
        accounts = dict(cached)
        changed: list[Account] = []
        removed: list[str] = []
        for cred in creds:
            link = links.get(cred.id)
            if link is None:
                continue
            try:
                account = await connector.get_account(link.account_id)
            except ConnectorError as exc:
                if status_of_error(exc) is not Status.ACCOUNT_MISSING:
                    raise
                accounts.pop(link.account_id, None)
                removed.append(link.account_id)
                continue
            accounts[account.id] = account
            changed.append(account)
        return _Read(accounts, changed, removed, None, False)

    # -- bookkeeping ---------------------------------------------------------------------------
    def _start(self, directory: Directory, kind: str, trigger: str, dry_run: bool) -> str:
        """Store the run as ``running``, once the directory's lease is taken (see lease.py)."""
        run_id = new_id()
        now = self._clock()
        with self._db.write() as conn:
            lease.take(conn, self._vault.audit, directory, now, dry_run=dry_run)
            conn.execute(
                runs.insert().values(
                    id=run_id,
                    directory_id=directory.id,
                    client_id=directory.client_id,
                    kind=kind,
                    trigger=trigger,
                    dry_run=dry_run,
                    actor=self._actor.name,
                    state="running",
                    message="",
                    summary="{}",
                    accounts_read=0,
                    started_at=now,
                    heartbeat_at=now,
                    owner=lease.owner(),
                )
            )
        return run_id

    def _fail(self, run: _Run, exc: ConnectorError) -> None:
        """The directory could not be read: flag every linked credential with the reason."""
        status = status_of_error(exc)
        if status in (Status.ACCOUNT_MISSING, Status.POLICY_REJECTED):
            status = Status.ERROR
        directory = run.directory
        with self._db.read() as conn:
            creds = store.sync_credentials(conn, directory.client_id)
            links = store.load_links(conn, directory.id)
        outcomes = [
            Outcome(
                PlanItem(c.id, c.title, links[c.id].account_id, c.username, Action.FLAG,
                         status, str(exc)),
                status,
                Action.FLAG,
                str(exc),
            )
            for c in creds
            if c.id in links
        ]  # fmt: skip
        if not run.dry_run:
            with self._db.write() as conn:
                store.record_outcomes(
                    conn,
                    directory_id=directory.id,
                    client_id=directory.client_id,
                    run_id=run.id,
                    actor=self._actor.name,
                    outcomes=outcomes,
                    link_updates={},
                    now=self._clock(),
                )
                store.add_items(conn, run.id, 0, outcomes)
        run.outcomes = outcomes
        self._finish(run, "failed", f"{status.value}: {exc}", failed=True)

    def _finish(
        self,
        run: _Run,
        state: str,
        message: str,
        *,
        read: _Read | None = None,
        failed: bool = False,
    ) -> None:
        now = self._clock()
        directory = run.directory
        summary = store.summary_json(run.outcomes, run.extra)
        with self._db.write() as conn:
            if not run.dry_run:
                lease.lock_directory(conn, directory.id)  # first, as a run's start does
            ended = conn.execute(
                runs.update()
                .where(runs.c.id == run.id, runs.c.state == "running")
                .values(
                    kind=run.kind,
                    state=state,
                    message=message,
                    summary=summary,
                    accounts_read=run.accounts_read,
                    finished_at=now,
                )
            )
            if ended.rowcount == 0:
                # Swept as abandoned since its last heartbeat (stored as aborted, audited):
                # another run may hold the lease now, so the directory's cursor and counters
                # are its. A run stopping for that lost lease says why in the row.
                if state == "aborted":
                    conn.execute(
                        runs.update()
                        .where(runs.c.id == run.id, runs.c.state == "aborted")
                        .values(message=message)
                    )
                return
            if not run.dry_run:
                values: dict[str, Any] = {"failures": directories.c.failures + 1} if failed else {}
                if read is not None:
                    values["failures"] = 0
                    if read.cursor is not None:
                        values["cursor"] = read.cursor  # only after a whole run
                    if read.full:
                        values["full_pass_at"] = now
                        values["account_count"] = len(read.accounts)
                if values:
                    conn.execute(
                        directories.update()
                        .where(directories.c.id == directory.id)
                        .values(**values)
                    )
                details: dict[str, Any] = {"run_id": run.id, "kind": run.kind, "state": state}
                details["summary"] = json.loads(summary)
                where = (directory.id, directory.client_id)
                store.audit_run(conn, self._vault.audit, self._actor, where, details)
