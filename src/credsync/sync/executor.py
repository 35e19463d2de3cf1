"""The executor: does what a plan says, one item at a time, with a connector.

It decides nothing the planner has not decided, except what only the directory can tell: the
result of a bind, and whether a push was accepted. Every item ends as an :class:`Outcome`
and the link columns to write, returned per chunk as one frozen :class:`Applied` (storing it
is the run recorder's); a directory that goes away mid-run ends the run's remaining items as
``unreachable`` (or ``tls_error``) without trying them.

Each push goes through the run's :class:`Journal`: its intent is stored before the directory
write (:meth:`Journal.attempt`; refused, with :class:`NotAttempted`, through a link not
confirmed for pushes, and nothing is sent), and its outcome, a one-item :class:`Applied`,
as soon as the directory answered (:meth:`Journal.settled`); the chunk's own ``Applied``
leaves those items out. A push the directory did not answer (it went away) keeps its intent:
outcome unknown, for the next run to settle.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any, Protocol

from credsync import telemetry
from credsync.connectors.base import (
    Account,
    Capability,
    Connector,
    PasswordOptions,
    VerifyOutcome,
)
from credsync.errors import (
    AccountNotFound,
    ConnectorError,
    DirectoryAuthFailed,
    DirectoryDenied,
    DirectoryTlsError,
    DirectoryUnreachable,
    PolicyRejected,
)
from credsync.sync.model import Action, LinkState, Outcome, PlanItem, Status
from credsync.sync.stamps import same_second_wait
from credsync.sync.two_way import WAITING
from credsync.types import Secret
from credsync.vault.directories import Directory

__all__ = [
    "IN_FLIGHT",
    "Applied",
    "Executor",
    "Journal",
    "NotAttempted",
    "Rejection",
    "Secrets",
    "password_options",
    "status_of_error",
]

log = logging.getLogger("credsync.sync")

IN_FLIGHT = 4  # directory operations one run has under way at once

# credential id -> (secret version, secret): what a chunk's verifies and pushes send
Secrets = Mapping[str, tuple[int, Secret]]

_VERIFY_STATUS = {
    VerifyOutcome.ACCOUNT_DISABLED: Status.ACCOUNT_DISABLED,
    VerifyOutcome.LOCKED_OUT: Status.LOCKED_OUT,
    VerifyOutcome.PASSWORD_EXPIRED: Status.PASSWORD_EXPIRED,
}


def status_of_error(exc: ConnectorError) -> Status:
    """The check status a connector failure stands for."""
    if isinstance(exc, DirectoryUnreachable):
        return Status.UNREACHABLE
    if isinstance(exc, DirectoryTlsError):
        return Status.TLS_ERROR
    if isinstance(exc, DirectoryAuthFailed | DirectoryDenied):
        return Status.DENIED
    if isinstance(exc, PolicyRejected):
        return Status.POLICY_REJECTED
    if isinstance(exc, AccountNotFound):
        return Status.ACCOUNT_MISSING
    return Status.ERROR


@dataclass(frozen=True)
class Rejection:
    """A push the directory refused: the vault must go back to what the directory has."""

    credential_id: str
    attempted_version: int
    working_version: int | None  # the version last confirmed in the directory
    detail: str


@dataclass(frozen=True)
class Applied:
    """What applying one chunk did: an outcome per item (in the items' order), the link
    columns to write per credential, the pushes the directory refused, the accounts read back
    after a push, and the binds and pushes made."""

    outcomes: tuple[Outcome, ...]
    link_updates: Mapping[str, Mapping[str, Any]]
    rejections: tuple[Rejection, ...]
    changed_accounts: tuple[Account, ...]
    binds: int
    pushes: int

    @classmethod
    def joined(cls, parts: Sequence[Applied]) -> Applied:
        """Several pushes' outcomes as one (each credential's in one of them only), to be
        stored in one transaction."""
        if len(parts) == 1:
            return parts[0]
        return cls(
            tuple(o for part in parts for o in part.outcomes),
            MappingProxyType(
                {cid: cols for part in parts for cid, cols in part.link_updates.items()}
            ),
            tuple(r for part in parts for r in part.rejections),
            tuple(a for part in parts for a in part.changed_accounts),
            sum(part.binds for part in parts),
            sum(part.pushes for part in parts),
        )


# The directory itself is gone or refuses us: the rest of the run is not tried.
_STOPPING = (DirectoryUnreachable, DirectoryTlsError, DirectoryAuthFailed)

# Password checks in a row left unanswered (a bind timed out, its connection dropped) before
# the run stops: one slow bind on a busy DC makes that credential's check `unreachable` and
# the run goes on (a failed run makes the next one a full pass again, more binds on the same
# busy DC); a DC that is gone fails this many checks at once and stops the run as before.
UNANSWERED_STOP = 3


class NotAttempted(Exception):
    """The intent of a push was refused (the link is gone, or not confirmed for pushes):
    nothing is sent."""


class Journal(Protocol):
    """Where a run records each push: the intent before the directory write, the outcome
    right after (see the module docstring)."""

    async def attempt(
        self, item: PlanItem, version: int, account: Account, state: Mapping[str, Any]
    ) -> None:
        """Store the intent to push ``version`` to ``account`` (with the link columns the
        item's check wrote so far, ``state``); NotAttempted when it may not be pushed."""
        ...

    async def settled(self, applied: Applied) -> None:
        """Store a push's outcome (one item, with its link columns, its refusal and the
        account read back)."""
        ...


class _Chunk:
    """What a chunk's items leave while they are applied (one per :meth:`Executor.apply_all`)."""

    def __init__(self, secrets: Secrets) -> None:
        self.secrets = secrets
        self.link_updates: dict[str, dict[str, Any]] = {}
        self.rejections: list[Rejection] = []
        self.changed_accounts: dict[str, Account] = {}
        self.binds = 0
        self.pushes = 0
        self.stored: set[str] = set()  # credentials whose push's outcome the journal stored
        # credential id -> how the earlier attempt its item settles ended, as its check found
        self.settled: dict[str, str] = {}

    def result(self, outcomes: list[Outcome]) -> Applied:
        return Applied(
            tuple(o for o in outcomes if (o.item.credential_id or "") not in self.stored),
            MappingProxyType({cid: MappingProxyType(v) for cid, v in self.link_updates.items()}),
            tuple(self.rejections),
            tuple(self.changed_accounts.values()),
            self.binds,
            self.pushes,
        )

    def take(self, outcome: Outcome, account_id: str | None) -> Applied:
        """One push's outcome with what it leaves (taken out of the chunk's)."""
        cid = outcome.item.credential_id or ""
        self.stored.add(cid)
        mine = [r for r in self.rejections if r.credential_id == cid]
        self.rejections = [r for r in self.rejections if r.credential_id != cid]
        account = self.changed_accounts.pop(account_id or "", None)
        update = self.link_updates.pop(cid, None)
        return Applied(
            (outcome,),
            MappingProxyType({cid: MappingProxyType(update)} if update is not None else {}),
            tuple(mine),
            (account,) if account is not None else (),
            0,
            1,
        )


@dataclass
class Executor:
    """Applies plan items with a connector. Across the chunks of one run it keeps only the
    run's push count (for ``push_cap``) and whether the run stopped, and why."""

    connector: Connector
    accounts: Mapping[str, Account]
    links: Mapping[str, LinkState]
    push_cap: int
    journal: Journal
    options: PasswordOptions = field(default_factory=PasswordOptions)
    clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC)
    pushes: int = 0  # made by the run so far
    stopped: str | None = None  # why the rest of the run was not tried
    stop_status: Status = Status.SKIPPED
    unanswered: int = 0  # password checks in a row with no answer (see UNANSWERED_STOP)

    @property
    def _stamp_only(self) -> bool:
        """A push's outcome can only be settled by the password stamp (no bind)."""
        capabilities = self.connector.capabilities
        return (
            Capability.PASSWORD_TIMESTAMP in capabilities
            and Capability.VERIFY_BIND not in capabilities
        )

    async def apply_all(self, items: list[PlanItem], secrets: Secrets) -> Applied:
        """``apply`` for each item, up to :data:`IN_FLIGHT` at once (a bind or a push is mostly
        waiting for the directory; a connector that batches its writes, such as Graph's, asks
        for more with ``max_in_flight``). ``secrets``: credential id -> (secret version,
        secret) of every item that verifies or pushes."""
        gate = asyncio.Semaphore(getattr(self.connector, "max_in_flight", IN_FLIGHT))
        chunk = _Chunk(secrets)

        async def one(item: PlanItem) -> Outcome:
            async with gate:
                return await self._apply(item, chunk)

        # Only binds and pushes wait for the directory: the rest (a periodic run's thousands
        # in step) are settled here, without a task each.
        outcomes: list[Outcome | None] = [None] * len(items)
        waiting: list[tuple[int, PlanItem]] = []
        for n, item in enumerate(items):
            if item.action in (Action.VERIFY, Action.PUSH):
                waiting.append((n, item))
            else:
                outcomes[n] = _settled(self._quiet(item, chunk), chunk)
        done = await asyncio.gather(*(one(item) for _, item in waiting))
        for (n, _), outcome in zip(waiting, done, strict=True):
            outcomes[n] = outcome
        return chunk.result([o for o in outcomes if o is not None])

    async def _apply(self, item: PlanItem, chunk: _Chunk) -> Outcome:
        return _settled(await self._outcome(item, chunk), chunk)

    async def _outcome(self, item: PlanItem, chunk: _Chunk) -> Outcome:
        if self.stopped is not None and item.action in (Action.VERIFY, Action.PUSH):
            return Outcome(item, self.stop_status, Action.SKIP, self.stopped)
        try:
            if item.action is Action.VERIFY:
                outcome = await self._verify(item, chunk)
                self.unanswered = 0
                return outcome
            if item.action is Action.PUSH:
                return await self._push(item, item.detail, chunk)
        except _STOPPING as exc:
            status = status_of_error(exc)
            unanswered = isinstance(exc, DirectoryUnreachable) and item.action is Action.VERIFY
            if unanswered and self.unanswered + 1 < UNANSWERED_STOP:
                self.unanswered += 1  # this check alone: the run goes on
                return Outcome(item, status, Action.VERIFY, str(exc))
            # The directory itself is gone or refuses us: stop trying the rest of the run.
            self.stopped, self.stop_status = str(exc), status
            return Outcome(item, status, Action.SKIP, str(exc))
        except ConnectorError as exc:
            return Outcome(item, status_of_error(exc), item.action, str(exc))
        return self._quiet(item, chunk)

    def _quiet(self, item: PlanItem, chunk: _Chunk) -> Outcome:
        """The outcome of an item that does not talk to the directory."""
        if item.action is Action.SKIP:
            return Outcome(item, Status.SKIPPED, Action.SKIP, item.detail)
        if item.action is Action.CONFIRM and item.confirm_version is not None:
            cid = item.credential_id or ""
            _confirm(chunk, cid, self._account(item), item.confirm_version, self.clock())
            if item.settles is not None:
                chunk.settled[cid] = "pushed"  # the timestamp moved since the attempt
        return Outcome(item, item.status, item.action, item.detail)

    def _account(self, item: PlanItem) -> Account:
        return self.accounts[item.account_id or ""]

    async def _verify(self, item: PlanItem, chunk: _Chunk) -> Outcome:
        cid = item.credential_id or ""
        account = self._account(item)
        version, secret = chunk.secrets[cid]
        chunk.binds += 1
        result = await self.connector.verify_password(account, secret)
        now = self.clock()
        if item.settles is not None:  # did the earlier attempt take? The bind says
            right = result.outcome in (VerifyOutcome.OK, VerifyOutcome.PASSWORD_EXPIRED)
            if right or result.outcome is VerifyOutcome.WRONG_PASSWORD:
                chunk.settled[cid] = "pushed" if right else "not_pushed"
            if result.outcome is VerifyOutcome.PASSWORD_EXPIRED:  # right, and must change
                _confirm(chunk, cid, account, version, now)
        if result.outcome is VerifyOutcome.OK:
            _confirm(chunk, cid, account, version, now)
            return Outcome(item, Status.IN_SYNC, Action.VERIFY, "bind succeeded: passwords match")
        if result.outcome is VerifyOutcome.WRONG_PASSWORD:
            link = self.links.get(cid)
            changed = link is not None and link.confirmed_stamp is not None
            chunk.link_updates[cid] = {
                "failed_stamp": account.password_stamp,
                "failed_secret_version": version,
            }
            if item.push_on_mismatch:
                return await self._push(item, "bind failed: pushing the vault's password", chunk)
            if item.waits_for_capture:
                return Outcome(
                    item,
                    Status.CHANGED_IN_DIRECTORY,
                    Action.VERIFY,
                    "the directory's password is not the vault's, and it is the newer one: "
                    f"{WAITING} ({result.detail})",
                )
            status = Status.CHANGED_IN_DIRECTORY if changed else Status.MISMATCH
            what = (
                "the password was changed in the directory since the last good check"
                if changed
                else "the vault's password is not the directory's"
            )
            return Outcome(item, status, Action.VERIFY, f"{what} ({result.detail})")
        return Outcome(item, _VERIFY_STATUS[result.outcome], Action.VERIFY, result.detail)

    async def _push(self, item: PlanItem, why: str, chunk: _Chunk) -> Outcome:
        """One push: its intent stored first, its outcome stored as soon as the directory
        answered (see the module docstring)."""
        cid = item.credential_id or ""
        if self.pushes >= self.push_cap:
            self.stopped = (
                f"stopped: this run reached the directory's cap of {self.push_cap} pushes "
                "(raise push_cap with `credsync directory set` to allow more)"
            )
            return Outcome(item, Status.SKIPPED, Action.SKIP, self.stopped)
        account = self._account(item)
        version, secret = chunk.secrets[cid]
        try:
            await self.journal.attempt(item, version, account, chunk.link_updates.get(cid, {}))
        except NotAttempted as refused:
            return Outcome(item, Status.SKIPPED, Action.SKIP, f"not pushed: {refused}")
        self.pushes += 1
        chunk.pushes += 1
        if self._stamp_only:
            wait = same_second_wait(account, time.time())
            if wait:
                await asyncio.sleep(wait)
        try:
            outcome = await self._sent(item, why, chunk, account, version, secret)
        except _STOPPING as exc:  # no answer: the intent stays, outcome unknown
            status = status_of_error(exc)
            self.stopped, self.stop_status = str(exc), status
            return Outcome(
                item,
                status,
                Action.PUSH,
                f"{why}; version {version} was sent, the directory did not answer ({exc}): "
                "outcome unknown, the next run checks first",
                pushed="unknown",
            )
        outcome = _settled(outcome, chunk)
        await self.journal.settled(chunk.take(outcome, item.account_id))
        return outcome

    async def _sent(
        self,
        item: PlanItem,
        why: str,
        chunk: _Chunk,
        account: Account,
        version: int,
        secret: Secret,
    ) -> Outcome:
        cid = item.credential_id or ""
        try:
            with telemetry.events().push():
                after = await self.connector.set_password(account, secret, self.options)
        except PolicyRejected as exc:
            link = self.links.get(cid)
            working = link.confirmed_secret_version if link else None
            chunk.rejections.append(Rejection(cid, version, working, str(exc)))
            return Outcome(item, Status.POLICY_REJECTED, Action.PUSH, str(exc), pushed="failed")
        except _STOPPING:
            raise
        except ConnectorError as exc:
            return Outcome(item, status_of_error(exc), Action.PUSH, str(exc), pushed="failed")
        chunk.changed_accounts[after.id] = after
        log.debug("pushed version %d of credential %s to %s", version, cid, item.account_name)
        _confirm(chunk, cid, after, version, self.clock())
        detail = f"{why}; pushed version {version}"
        return Outcome(item, Status.IN_SYNC, Action.PUSH, detail, pushed="pushed")


def _settled(outcome: Outcome, chunk: _Chunk) -> Outcome:
    """An item that settles an earlier push attempt, with how that ended: known from the
    plan, or from the item's check (the attempted version's bind succeeded, or its timestamp
    moved: pushed; the bind failed: not pushed). Anything else (the account disabled, the
    directory away) leaves the attempt for a later run."""
    item = outcome.item
    if item.settles is None or outcome.settled is not None:
        return outcome
    how = item.settled or chunk.settled.get(item.credential_id or "")
    return replace(outcome, settled=how) if how is not None else outcome


def _confirm(chunk: _Chunk, cid: str, account: Account, version: int, now: dt.datetime) -> None:
    chunk.link_updates[cid] = {
        "confirmed_stamp": account.password_stamp,
        "confirmed_secret_version": version,
        "confirmed_at": now,
        "failed_stamp": None,
        "failed_secret_version": None,
        "accepted_stamp": None,
    }


def password_options(directory: Directory) -> PasswordOptions:
    """How pushes to this directory set passwords (its force_change and never_expires)."""
    return PasswordOptions(
        must_change=bool(directory.option("force_change")),
        never_expires=bool(directory.option("never_expires")),
    )
