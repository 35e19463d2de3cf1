"""The run recorder: every write one run makes, each in a transaction of its own.

    start      the lease on the directory (see :mod:`credsync.sync.lease`) and the run's row
    heartbeat  the run's sign of life, beside the run and with every chunk stored
    store_read what the directory said, into the account cache the planner reads next time
    attempt    a push's intent, before it is sent (see :mod:`credsync.sync.journal`)
    store_*    a chunk's outcomes (links and flags), the accounts a push read back, the
               report items, the audit of each push (and of earlier attempts settled) and
               the restore of a refused push's secret version; a plan's items; a failed
               read's flags. A push's outcome as soon as known (with any that came meanwhile).
    finish     the run's row (once: a run swept meanwhile stays swept), the directory's cursor
               and counters after a whole run, and the ``sync.run`` audit entry (not
               for a quiet run of the agent's: :func:`credsync.sync.compaction.audited`)

What a status means for links and flags is decided here, once: a problem opens or updates the
credential's flag, anything else closes it; linking statuses leave links alone; a credential
in enforce mode whose link is not confirmed keeps an ``awaiting_confirmation`` flag whatever
its check found. Report items are numbered when their chunk starts (:meth:`reserve`): a push's
intent takes its item's place. A credential found, with nothing done, in step as its link
said or with a problem exactly as its open flag says (:mod:`credsync.sync.compaction`), gets
no item: the summary counts it (``in_sync_unchanged``, ``flagged_unchanged``). The SQL is
storage's; :class:`RunSecrets` (:mod:`credsync.sync.run_secrets`), the run's secrets.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Connection

from credsync import telemetry
from credsync.connectors.base import Account
from credsync.storage import accounts as account_rows
from credsync.storage import directories as directory_rows
from credsync.storage import flags as flag_rows
from credsync.storage import links as link_rows
from credsync.storage import push_queue
from credsync.storage import runs as run_rows
from credsync.sync import journal, lease
from credsync.sync.compaction import FLAGGED_UNCHANGED, IN_SYNC_UNCHANGED, audited, unchanged
from credsync.sync.executor import Applied
from credsync.sync.model import PROBLEMS, LinkState, Outcome, PlanItem, Status
from credsync.sync.run_secrets import RunSecrets
from credsync.types import new_id
from credsync.vault.auth import Actor
from credsync.vault.directories import Directory
from credsync.vault.service import Vault

__all__ = [
    "FLAGGED_UNCHANGED",
    "IN_SYNC_UNCHANGED",
    "RunRecorder",
    "RunSecrets",
    "WholePass",
    "unchanged",
]


_NOT_LINKED = (Status.UNMATCHED, Status.AMBIGUOUS, Status.CONFLICT, Status.SKIPPED)


@dataclass(frozen=True)
class WholePass:
    """A whole run's read: the next read's cursor, whether full, the accounts in scope."""

    cursor: str | None
    full: bool
    accounts: int


class RunRecorder:
    """The writes of one run (see the module's docstring). Made by :meth:`start`."""

    def __init__(
        self,
        vault: Vault,
        actor: Actor,
        directory: Directory,
        run_id: str,
        *,
        dry_run: bool,
        clock: Callable[[], dt.datetime],
        heartbeat_seconds: float,
        trigger: str = "",
    ) -> None:
        self.run_id = run_id
        self.directory = directory
        self.dry_run = dry_run
        self.trigger = trigger
        self.items_stored = 0  # report items written (intents included)
        self._vault = vault
        self._db = vault.db
        self._actor = actor
        self._clock = clock
        self._statuses: Counter[str] = Counter()
        self._actions: Counter[str] = Counter()
        # Report items: the next number, the numbers given to a chunk's credentials, and the
        # credentials whose item a push's intent stored (number, secret version). A chunk is
        # stored in a worker thread while pushes record theirs: the lock guards these.
        self._lock = threading.Lock()
        self._next_seq = 0
        self._seq: dict[str, int] = {}
        self._attempted: dict[str, tuple[int, int]] = {}
        self._awaiting = 0  # items whose link awaits confirmation (enforce waits)
        self._in_step: frozenset[str] = frozenset()  # credentials whose link said in_sync
        self._unchanged = 0  # outcomes counted, not stored: see unchanged()
        self._flagged_unchanged = 0  # problems found again as their open flag says
        self._given_up: set[str] | None = None  # credentials with a given-up push here
        self.heartbeat = lease.Heartbeat(
            self._db, run_id, clock, heartbeat_seconds, holds_lease=not dry_run
        )

    @classmethod
    def start(
        cls,
        vault: Vault,
        actor: Actor,
        directory: Directory,
        *,
        kind: str,
        trigger: str,
        dry_run: bool,
        clock: Callable[[], dt.datetime],
        heartbeat_seconds: float = lease.HEARTBEAT_SECONDS,
    ) -> RunRecorder:
        """Store the run as ``running``, once the directory's lease is taken (RunInProgress
        when another run holds it)."""
        run_id = new_id()
        now = clock()
        with vault.db.write() as conn:
            lease.take(conn, vault.audit, directory, now, dry_run=dry_run)
            run_rows.insert(
                conn,
                run_id,
                directory_id=directory.id,
                client_id=directory.client_id,
                kind=kind,
                trigger=trigger,
                dry_run=dry_run,
                actor=actor.name,
                owner=lease.owner(),
                now=now,
            )
        return cls(
            vault,
            actor,
            directory,
            run_id,
            dry_run=dry_run,
            clock=clock,
            heartbeat_seconds=heartbeat_seconds,
            trigger=trigger,
        )

    def check_lease(self, *, renew: bool = False) -> None:
        """Stop (lease.LeaseLost) if the run lost its lease; ``renew``: beat first."""
        self.heartbeat.renew() if renew else self.heartbeat.check()

    def know(self, links: Mapping[str, LinkState]) -> None:
        """The links the run plans over: a credential whose link recorded ``in_sync`` and that
        the run finds in step again with nothing done is counted, not stored (see compaction)."""
        in_step = frozenset(c for c, link in links.items() if link.status == Status.IN_SYNC.value)
        with self._lock:
            self._in_step = in_step

    # -- pushes ----------------------------------------------------------------------------------
    def reserve(self, items: Iterable[PlanItem]) -> None:
        """Number the report items of a chunk about to be applied, in its order."""
        with self._lock:
            for item in items:
                cid = item.credential_id
                if cid is not None and cid not in self._seq:
                    self._seq[cid] = self._next_seq
                    self._next_seq += 1

    def attempt(
        self, item: PlanItem, version: int, account: Account, state: Mapping[str, Any]
    ) -> None:
        """A push's intent, before it is sent (see :mod:`credsync.sync.journal`), with a
        heartbeat: lease.LeaseLost when the run lost its lease, NotAttempted when the link may
        not be pushed through; nothing is written then."""
        cid = item.credential_id or ""
        with self._lock:
            seq = self._seq_of(cid)
        now = self._clock()
        with self._db.write() as conn:
            self.heartbeat.touch(conn)
            self.heartbeat.check()
            journal.write_attempt(
                conn,
                self._vault.audit,
                self._actor,
                directory=self.directory,
                run_id=self.run_id,
                seq=seq,
                item=item,
                version=version,
                account=account,
                state=state,
                now=now,
            )
        with self._lock:
            self._attempted[cid] = (seq, version)
            self.items_stored += 1

    def journal(self, secrets: RunSecrets) -> journal.RunJournal:
        """What the executor records each push through."""
        return journal.RunJournal(self, secrets)

    def _seq_of(self, cid: str | None) -> int:
        """The number of the credential's item (reserved, or the next one); under the lock."""
        if cid is not None and cid in self._seq:
            return self._seq[cid]
        seq = self._next_seq
        self._next_seq += 1
        if cid is not None:
            self._seq[cid] = seq
        return seq

    # -- what the run found ----------------------------------------------------------------------
    def store_read(self, changed: Sequence[Account], removed: Iterable[str], *, full: bool,
                   seen: Collection[str] | None = None) -> None:  # fmt: skip
        """What the directory said, into the account cache. ``seen``: a full read stored
        page by page already (:mod:`credsync.sync.streamed`): drop what it did not see."""
        with self._db.write() as conn:
            if seen is not None:
                account_rows.keep_only(conn, self.directory.id, seen)
            else:
                account_rows.replace(conn, self.directory.id, changed, removed, self._clock(),
                                     full=full)  # fmt: skip

    def store_plan(self, outcomes: Sequence[Outcome]) -> None:
        """The items of a run that acts on nothing (a dry run, or one a safety rail stopped)."""
        with self._db.write() as conn:
            self._add_items(conn, outcomes)

    def store_failure(self, outcomes: Sequence[Outcome]) -> None:
        """The flags of a run whose directory could not be read (a dry run's: counted); a
        failure its open flag already says is counted, not stored, as any problem found again."""
        if self.dry_run:
            self._count(outcomes)
            return
        with self._db.write() as conn:
            as_flagged = self._record(conn, outcomes, {}, self._clock())
            self._add_items(conn, outcomes, as_flagged)

    def store_chunk(self, applied: Applied, secrets: RunSecrets) -> None:
        """One chunk (or one push's outcome), in one transaction (a thread of its own may run
        this): refused pushes' secret versions restored, links and flags, the accounts pushes
        read back, the report items, the audit of each push and of each earlier attempt
        settled, and given-up queued pushes found moot."""
        directory = self.directory
        now = self._clock()
        link_updates = {cid: dict(cols) for cid, cols in applied.link_updates.items()}
        for o in applied.outcomes:
            if journal.clears_attempt(o):
                link_updates.setdefault(o.item.credential_id or "", {}).update(link_rows.NO_ATTEMPT)
        with self._lock:
            versions = {cid: version for cid, (_, version) in self._attempted.items()}
        with self._db.write() as conn:
            self.heartbeat.touch(conn)
            for rejection in applied.rejections:
                if rejection.working_version is not None:
                    restored = secrets.restore(conn, rejection, rejection.working_version)
                    link_updates.setdefault(rejection.credential_id, {})[
                        "confirmed_secret_version"
                    ] = restored
            as_flagged = self._record(conn, applied.outcomes, link_updates, now)
            if applied.changed_accounts:
                account_rows.replace(
                    conn, directory.id, applied.changed_accounts, (), now, full=False
                )
            self._add_items(conn, applied.outcomes, as_flagged)
            with self._vault.audit.batched(conn):  # the chain's head locked and set once
                journal.audit_outcomes(
                    conn,
                    self._vault.audit,
                    self._actor,
                    directory=directory,
                    run_id=self.run_id,
                    outcomes=applied.outcomes,
                    versions=versions,
                )
            self._settle(conn, applied.outcomes)

    def _count(self, outcomes: Iterable[Outcome]) -> None:
        """Under the lock."""
        counted = telemetry.events().run_items
        for o in outcomes:
            counted.labels(o.status.value).inc()  # /metrics: items by status
            self._statuses[o.status.value] += 1
            self._actions[o.action.value] += 1
            self._awaiting += o.item.awaits_confirmation

    def _add_items(
        self, conn: Connection, outcomes: Sequence[Outcome], as_flagged: Collection[str] = ()
    ) -> None:
        """The report items of ``outcomes``: in their numbers' places, an intent's item
        updated. ``as_flagged``: credentials whose open flag already said what was found."""
        new: list[tuple[int, run_rows.NewItem]] = []
        updated: list[tuple[int, run_rows.NewItem]] = []
        with self._lock:
            for o in outcomes:
                cid = o.item.credential_id
                if cid not in self._attempted and unchanged(o, self._in_step):
                    self._unchanged += 1
                    continue
                if cid not in self._attempted and unchanged(o, as_flagged, problem=True):
                    self._flagged_unchanged += 1
                    continue
                row = run_rows.NewItem(
                    cid, o.item.account_id, o.item.account_name, o.status.value,
                    o.action.value, _item_detail(o),
                )  # fmt: skip
                if cid is not None and cid in self._attempted:
                    updated.append((self._attempted[cid][0], row))
                else:
                    new.append((self._seq_of(cid), row))
            self._count(outcomes)
            self.items_stored += len(new)
        run_rows.add_items(conn, self.run_id, new)
        run_rows.update_items(conn, self.run_id, updated)

    def _record(
        self,
        conn: Connection,
        outcomes: Sequence[Outcome],
        link_updates: Mapping[str, Mapping[str, Any]],
        now: dt.datetime,
    ) -> set[str]:
        """Links made or checked, and flags opened, updated or closed, for ``outcomes``;
        ``link_updates``: credential id -> the link columns to write (from the executor).
        Returns the credentials whose open flag already said what was found."""
        checked: list[link_rows.LinkCheck] = []
        for o in outcomes:
            cid, account_id = o.item.credential_id, o.item.account_id
            if cid is None or account_id is None or o.status in _NOT_LINKED:
                continue
            state = link_updates.get(cid, {})
            checked.append(
                link_rows.LinkCheck(
                    cid, account_id, o.status.value, o.detail, state, o.item.new_link
                )
            )
        link_rows.record(conn, self.directory.id, checked, by=self._actor.name, now=now)
        return flag_rows.record_checks(
            conn,
            directory_id=self.directory.id,
            client_id=self.directory.client_id,
            run_id=self.run_id,
            found=[
                _awaiting_flag(o)
                if o.item.awaits_confirmation
                else flag_rows.FlagCheck(
                    o.item.credential_id,
                    o.item.account_id,
                    o.status.value,
                    o.detail,
                    _resolution(o),
                )
                for o in outcomes
                if o.item.credential_id and o.status is not Status.SKIPPED
            ],
            by=self._actor.name,
            now=now,
        )

    def _settle(self, conn: Connection, outcomes: Iterable[Outcome]) -> None:
        """A credential found in step makes a given-up queued push to this directory moot."""
        if self._given_up is None:
            self._given_up = push_queue.given_up_credentials(conn, self.directory.id)
        if not self._given_up:
            return
        moot = {
            o.item.credential_id
            for o in outcomes
            if o.status is Status.IN_SYNC and o.item.credential_id in self._given_up
        }
        if moot:
            push_queue.settle(conn, self.directory.id, sorted(c for c in moot if c))
            self._given_up -= moot

    # -- the end ---------------------------------------------------------------------------------
    def summary(self, extra: Mapping[str, Any] | None = None) -> str:
        """The run's counts by status and action, the items whose link awaits confirmation
        (when there are some), and ``extra``, as stored JSON."""
        with self._lock:
            counts: dict[str, Any] = {
                "statuses": dict(self._statuses),
                "actions": dict(self._actions),
            }
            if self._awaiting:
                counts[Status.AWAITING_CONFIRMATION.value] = self._awaiting
            if self._unchanged:
                counts[IN_SYNC_UNCHANGED] = self._unchanged
            if self._flagged_unchanged:
                counts[FLAGGED_UNCHANGED] = self._flagged_unchanged
        return json.dumps({**counts, **(extra or {})}, sort_keys=True)

    def finish(
        self,
        state: str,
        message: str,
        *,
        kind: str,
        accounts_read: int,
        extra: Mapping[str, Any] | None = None,
        whole: WholePass | None = None,
        failed: bool = False,
    ) -> None:
        """The run's end: ``state`` (done, aborted, failed) and why. ``whole``: a whole run
        that completed moves the directory's cursor and counts; ``failed``: the directory
        failed (the agent backs off)."""
        now = self._clock()
        directory = self.directory
        summary = self.summary(extra)
        with self._db.write() as conn:
            if not self.dry_run:
                lease.lock_directory(conn, directory.id)  # first, as a run's start does
            ended = run_rows.end(
                conn,
                self.run_id,
                kind=kind,
                state=state,
                message=message,
                summary=summary,
                accounts_read=accounts_read,
                accounts_total=account_rows.count(conn, directory.id),
                now=now,
            )
            if not ended:
                # Swept as abandoned since its last heartbeat (stored as aborted, audited):
                # another run may hold the lease now, so the directory's cursor and counters
                # are its. A run stopping for that lost lease says why in the row.
                if state == "aborted":
                    run_rows.note_abort(conn, self.run_id, message)
                return
            if self.dry_run:
                return
            directory_rows.record_pass(
                conn,
                directory.id,
                failed=failed,
                whole=whole is not None,
                cursor=whole.cursor if whole else None,
                full_at=now if whole is not None and whole.full else None,
                accounts=whole.accounts if whole else None,
            )
            with self._lock:
                stored = self.items_stored
            if not audited(state=state, trigger=self.trigger, items_stored=stored):
                return  # a quiet run of the agent's: its row is the record
            details: dict[str, Any] = {"run_id": self.run_id, "kind": kind, "state": state}
            details["summary"] = json.loads(summary)
            where = (directory.id, directory.client_id)
            lease.audit_run(conn, self._vault.audit, self._actor, where, details)


AWAITING = (
    "new link in enforce or two-way mode: nothing is pushed to {account} until an operator "
    "with directory.setup confirms it"
)


def _awaiting_flag(o: Outcome) -> flag_rows.FlagCheck:
    """The flag of a credential in enforce mode whose link is not confirmed: open whatever
    the check found (its detail names the status; the run's report has the check's words)."""
    found = (
        f"; the last check found {o.status.value}"
        if o.status is not Status.AWAITING_CONFIRMATION
        else f"; {o.detail}"
    )
    return flag_rows.FlagCheck(
        o.item.credential_id or "",
        o.item.account_id,
        Status.AWAITING_CONFIRMATION.value,
        AWAITING.format(account=o.item.account_name) + found,
        None,
    )


def _item_detail(o: Outcome) -> str:
    if o.item.awaits_confirmation and o.status is not Status.AWAITING_CONFIRMATION:
        return f"not pushed, the link awaits confirmation: {o.detail}"
    return o.detail


def _resolution(outcome: Outcome) -> str | None:
    """None: the outcome is a problem (its flag opens or stays open); else how an open flag
    closes (the operator accepted the directory's state, or a good check)."""
    if outcome.status in PROBLEMS and not outcome.item.accepted:
        return None
    return "accepted" if outcome.item.accepted else "in_sync"
