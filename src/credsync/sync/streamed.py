"""What a run read, and a full read taken page by page (connectors with ``streamed_reads``).

A full pass over a tenant of 100,000 users used to hold every account three times over while
the cache was rewritten in one statement list; a run plans over the few thousand its
credentials can touch. :class:`StreamedPass` is the sink the connector hands each page to:
the pages go into the account cache :data:`BATCH` accounts a transaction (who changed a
password is kept from the cache for the same stamp, as :func:`credsync.sync.store.keep_authors`
does for a whole read), and only the accounts a plan over the run's credentials can touch stay
in memory: those linked to them, and those whose names an unlinked credential's username may
match (the planner matches exactly).

Each batch is written in a worker thread while the connector fetches and maps the next pages,
one batch under way at a time (the next waits for it, so memory holds two batches at most):
written in the event loop's thread, the read stood still for each batch (the page after the
one fetched ahead was asked for only once the batch was in), and SQLite's own work, which
the driver does with the interpreter lock released for each row's step, could not overlap
the parsing of the next pages (issue 19, bench/README.md). A write that fails fails the read;
a read that fails waits for the write under way first, so nothing is left writing.

The cache is written page by page, but it only loses accounts once the run goes on to act:
:meth:`credsync.sync.recorder.RunRecorder.store_read` then drops the cached accounts the read
did not see (``seen``). A pass that a safety rail stops (far fewer accounts than last time)
or a dry run leaves them, so a later incremental run plans over what was there; a dry run
writes nothing at all.

While the pages of a full read come, what the process held before it is frozen out of the cyclic
garbage collector (``gc.freeze``, undone when the read ends): a pass makes ~100,000 accounts
that live until their batch is stored, enough survivors to set off a handful of full
collections, each walking the whole heap of a long-lived process (the engine, the vault, an
agent's clients) for nothing: 0.4-0.8 s of CPU of a 100,000-user pass (issue 19). Only the
collector's bookkeeping changes: a frozen object still dies by its reference count, and any
cycle among them is collected after the pass; a pass running beside another (an agent's
runs) finds the heap frozen and leaves it to the one that froze it. A process that froze its
heap itself (a fork server's child) is left as it is.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import datetime as dt
import functools
import gc
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from collections.abc import Set as AbstractSet
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from credsync.connectors.base import Account, Capability, ChangeSet, Connector, StreamedChanges
from credsync.storage import accounts as account_rows
from credsync.storage.database import Database
from credsync.sync import store
from credsync.sync.model import CredentialState, LinkState

__all__ = ["BATCH", "Read", "StreamedPass"]

BATCH = 5_000  # accounts stored in one transaction (a commit per page cost more than its rows)


@dataclass(frozen=True)
class Read:
    """What a run read: ``accounts`` to plan over (by id), ``changed`` and ``removed`` to
    store, the new cursor. ``seen``: a streamed full read's every account id (then
    ``accounts`` holds only those the plan can touch, and the pages are stored already)."""

    accounts: dict[str, Account]
    changed: list[Account]
    removed: list[str]
    cursor: str | None
    full: bool
    notes: tuple[str, ...] = ()  # the connector's, for the run's message
    seen: AbstractSet[str] | None = None

    @property
    def size(self) -> int:
        """How many accounts this read knows of: ``accounts``, or ``seen`` when streamed."""
        return len(self.seen) if self.seen is not None else len(self.accounts)


@contextlib.contextmanager
def _old_heap_frozen() -> Iterator[None]:
    """What lives now out of the cyclic collector's way until the block ends (see the module
    docstring); nothing when something in the process froze objects already."""
    if gc.get_freeze_count():
        yield
        return
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def _answers(account: Account, keys: AbstractSet[str]) -> bool:
    """Whether one of ``account``'s names (:meth:`Account.names`) is among ``keys``, without
    making the set of its names."""
    username = account.username
    if username.casefold() in keys:
        return True
    upn, domain = account.upn, account.domain
    if upn and upn != username and upn.casefold() in keys:
        return True
    return bool(domain) and f"{domain}\\{username}".casefold() in keys


class StreamedPass:
    """The sink of a streamed full read (see the module docstring). ``write``: store the
    pages (False: a dry run)."""

    def __init__(
        self,
        db: Database,
        directory_id: str,
        plans_over: Callable[
            [], Awaitable[tuple[Sequence[CredentialState], Mapping[str, LinkState], object]]
        ],
        *,
        write: bool,
        clock: Callable[[], dt.datetime],
    ) -> None:
        """``plans_over``: the run's credentials and links (and anything after them), asked
        for and awaited when the first page comes (an incremental read may bring none)."""
        self._db = db
        self._directory_id = directory_id
        self._write = write
        self._clock = clock
        self._plans_over = plans_over
        self._ids: set[str] | None = None
        self._keys: set[str] = set()
        self.kept: dict[str, Account] = {}
        self.seen: set[str] = set()
        self._cached: bool | None = None  # whether the cache held any account at the start
        self._pending: dict[str, Account] = {}
        self._removed: set[str] = set()
        self._writing: asyncio.Future[list[Account]] | None = None  # the batch being stored
        self._writer: ThreadPoolExecutor | None = None  # the thread that stores, during a read

    async def changes(self, connector: Connector, cursor: str | None) -> ChangeSet:
        """``connector.changes_since(cursor)``, a full read streamed into this sink where the
        connector can (then ``streamed``: every page stored and counted)."""
        if Capability.STREAMED_READS not in connector.capabilities or not isinstance(
            connector, StreamedChanges
        ):
            return await connector.changes_since(cursor)
        # Only a full read (no cursor) makes enough accounts for the collector to matter; an
        # agent's incremental runs (hundreds a minute) would pay the freeze's walk of the heap
        # for nothing (issue 20: half the agent's CPU at 500 directories).
        with (
            _old_heap_frozen() if cursor is None else contextlib.nullcontext(),
            ThreadPoolExecutor(1, thread_name_prefix="credsync-cache") as self._writer,
        ):
            try:
                changes = await connector.changes_since(cursor, sink=self.page)
                await self.flush()
                await self._settle()
            except BaseException:
                with contextlib.suppress(Exception):  # no write left running; the read's error
                    await self._settle()
                raise
            finally:
                self._writer = None
        return changes

    async def page(self, accounts: Sequence[Account], removed: Sequence[str]) -> None:
        """A page of the read: buffered, and stored :data:`BATCH` accounts at a time."""
        if self._ids is None:
            creds, links, _ = await self._plans_over()
            self._ids = {link.account_id for link in links.values()}
            for cred in creds:  # every credential's names: a superset of what the planner asks
                self._keys |= store.name_keys(cred.username)
        pending = self._pending
        for key in removed:
            pending.pop(key, None)
            self._removed.add(key)
        for account in accounts:
            key = account.id
            if key in pending:  # the last appearance wins (and goes last)
                del pending[key]
            pending[key] = account
        if len(pending) >= BATCH:
            await self.flush()

    async def flush(self) -> None:
        """Store what is buffered in a worker thread, while the read goes on (one batch under
        way at a time: the one before is finished and taken in first), and keep what the plan
        may need of it (see :meth:`_settle`)."""
        accounts, removed = list(self._pending.values()), sorted(self._removed)
        self._pending, self._removed = {}, set()
        await self._settle()
        for key in removed:
            self.seen.discard(key)
            self.kept.pop(key, None)
        if not accounts and not removed:
            return
        unseen = not removed and self.seen.isdisjoint(a.id for a in accounts)
        if self._writer is None:
            raise RuntimeError("a streamed pass stores its pages only during its read")
        # One thread of the pass's own (one malloc arena: the default pool's threads took
        # turns, each keeping memory of its own, ~10 MB more at the peak), in this context
        # (a dry run's rehearsal), as asyncio.to_thread would.
        call = functools.partial(contextvars.copy_context().run, self._store, accounts, removed,
                                 unseen)  # fmt: skip
        self._writing = asyncio.get_running_loop().run_in_executor(self._writer, call)

    async def _settle(self) -> None:
        """The batch under way stored: its accounts seen, and kept when the plan may need them."""
        writing, self._writing = self._writing, None
        if writing is None:
            return
        ids = self._ids or set()  # set by the first page, before anything is buffered
        keys, kept, see = self._keys, self.kept, self.seen.add
        for account in await writing:  # 100,000 a tenant's pass: no set made per account
            key = account.id
            see(key)
            if key in ids or (keys and _answers(account, keys)):
                kept[key] = account
            elif key in kept:
                del kept[key]

    def _store(self, accounts: list[Account], removed: list[str], unseen: bool) -> list[Account]:
        """The accounts with their stored authors kept; the new and changed ones written in
        one transaction (unless dry): a periodic full pass rewrites only what changed.
        ``unseen``: no id of these came before in this pass."""
        if self._cached is None:
            with self._db.read() as conn:
                self._cached = account_rows.count(conn, self._directory_id) > 0
        if not self._cached and not self._write:
            return accounts
        # Nothing to replace when the cache was empty and no id of these came before.
        fresh = not self._cached and unseen
        with self._db.write() if self._write else self._db.read() as conn:
            if self._cached:
                accounts = store.keep_authors(conn, self._directory_id, accounts)
            if self._write:  # compared with the cache there: only what changed is written
                account_rows.replace(
                    conn, self._directory_id, accounts, removed, self._clock(), full=False,
                    fresh=fresh,
                )  # fmt: skip
        return accounts
