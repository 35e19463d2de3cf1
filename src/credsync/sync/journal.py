"""Each push's record, for the run recorder: its intent before the directory write, its
outcome after, so that no push goes unaudited, whenever the process stops.

    intent    one transaction before a push is sent (:func:`write_attempt`): the link's
              ``push_attempt_*`` (the run, the secret version, the account's password stamp
              just before, when), the run's report item as ``attempted``, and a
              ``credential.push_attempted`` audit entry; refused (NotAttempted, nothing
              written) through a link that is gone or not confirmed for pushes
    outcome   in the transaction that stores it (the recorder's, right after the directory
              answered): the link's attempt cleared, the item's status, and
              ``credential.pushed`` or ``credential.push_failed`` (:func:`audit_outcomes`);
              the same for an attempt an earlier run left without an outcome, once this
              run's check settled it (``attempt_run`` names that run)

A run that stops between the two (killed, a crash, the directory gone before it answered)
leaves the link's attempt and the ``attempted`` item: "attempted, outcome unknown", shown in
its report. The next run settles it first, with one lockout-safe check (see
:mod:`credsync.sync.planner`). :class:`RunJournal` is what the executor calls.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Connection

from credsync.connectors.base import Account
from credsync.storage import links as link_rows
from credsync.storage import runs as run_rows
from credsync.storage import secrets as secret_rows
from credsync.sync.executor import Applied, NotAttempted
from credsync.sync.model import Action, Outcome, PlanItem, Status
from credsync.vault.audit import AuditLog
from credsync.vault.auth import Actor
from credsync.vault.directories import Directory

if TYPE_CHECKING:
    from credsync.sync.recorder import RunRecorder, RunSecrets

__all__ = ["RunJournal", "attempt_item", "audit_outcomes", "clears_attempt", "write_attempt"]


def attempt_item(item: PlanItem, version: int, now: dt.datetime) -> run_rows.NewItem:
    """The report item of a push whose outcome is not known yet."""
    return run_rows.NewItem(
        item.credential_id,
        item.account_id,
        item.account_name,
        Status.ATTEMPTED.value,
        "push",
        f"push of version {version} attempted at {now:%Y-%m-%d %H:%M:%S} UTC: outcome "
        "unknown (the run stopped before it was recorded; the next run checks first)",
    )


def write_attempt(
    conn: Connection,
    audit: AuditLog,
    actor: Actor,
    *,
    directory: Directory,
    run_id: str,
    seq: int,
    item: PlanItem,
    version: int,
    account: Account,
    state: Mapping[str, Any],
    now: dt.datetime,
) -> None:
    """The intent of a push, in the caller's transaction (see the module docstring)."""
    cid = item.credential_id or ""
    recorded = link_rows.start_attempt(
        conn,
        directory.id,
        cid,
        run_id=run_id,
        secret_version=version,
        stamp=account.password_stamp,
        now=now,
        state=state,
    )
    if not recorded:
        raise NotAttempted(
            "the link is not confirmed for pushes (an operator with directory.setup confirms "
            "it), or it is gone"
        )
    run_rows.add_items(conn, run_id, [(seq, attempt_item(item, version, now))])
    audit.append(
        conn,
        actor,
        "credential.push_attempted",
        target_type="credential",
        target_id=cid,
        client_id=directory.client_id,
        details={
            "directory": directory.name,
            "account": item.account_name,
            "run_id": run_id,
            "secret_version": version,
            # Who asked for it: the entry's actor ran the run (an operator's sync run, sync
            # now or flag push); a queued push the agent makes carries a password change,
            # and this names who made it.
            "password_set_by": secret_rows.made_by(conn, cid, version),
        },
    )


def clears_attempt(outcome: Outcome) -> bool:
    """Whether storing ``outcome`` clears its link's push attempt: this run's push ended
    (pushed or refused), or the earlier attempt it settles is settled, and no push of this
    run is left without an answer."""
    if outcome.pushed == "unknown":
        return False
    return outcome.pushed is not None or outcome.settled is not None


def audit_outcomes(
    conn: Connection,
    audit: AuditLog,
    actor: Actor,
    *,
    directory: Directory,
    run_id: str,
    outcomes: Iterable[Outcome],
    versions: Mapping[str, int],
) -> None:
    """``credential.pushed`` / ``credential.push_failed`` for the outcomes' pushes (their
    secret version from ``versions``, the intents'), and for the earlier attempts they
    settle."""
    for o in outcomes:
        cid = o.item.credential_id or ""
        base: dict[str, Any] = {
            "directory": directory.name,
            "account": o.item.account_name,
            "run_id": run_id,
        }
        attempt = o.item.settles
        if attempt is not None and o.settled is not None:
            earlier = {**base, "attempt_run": attempt.run_id}
            earlier["secret_version"] = attempt.secret_version
            if o.settled == "pushed":
                earlier["found_by"] = "bind" if o.action is Action.VERIFY else "timestamp"
                action = "credential.pushed"
            else:
                earlier["outcome"] = "not_pushed" if o.settled == "not_pushed" else "unknown"
                earlier["reason"] = o.detail
                action = "credential.push_failed"
            _append(conn, audit, actor, directory, cid, action, earlier)
        if o.pushed in ("pushed", "failed"):
            details = {**base, "secret_version": versions.get(cid)}
            if o.pushed == "pushed":
                _append(conn, audit, actor, directory, cid, "credential.pushed", details)
            else:
                details |= {"status": o.status.value, "reason": o.detail}
                _append(conn, audit, actor, directory, cid, "credential.push_failed", details)


def _append(
    conn: Connection,
    audit: AuditLog,
    actor: Actor,
    directory: Directory,
    cid: str,
    action: str,
    details: dict[str, Any],
) -> None:
    audit.append(
        conn,
        actor,
        action,
        target_type="credential",
        target_id=cid,
        client_id=directory.client_id,
        details=details,
    )


class RunJournal:
    """The executor's :class:`~credsync.sync.executor.Journal` for one run: each write in a
    worker thread, through the run's recorder. Outcomes that arrive while another is being
    stored wait for it and are then stored together, in one transaction (one heartbeat, one
    lock of the audit chain's head); each push's ``settled`` returns once its own outcome is
    committed, as before. An intent is never held back: it is its own transaction, committed
    before its push is sent."""

    def __init__(self, recorder: RunRecorder, secrets: RunSecrets) -> None:
        self._recorder = recorder
        self._secrets = secrets
        self._waiting: list[tuple[Applied, asyncio.Future[None]]] = []
        self._storer: asyncio.Task[None] | None = None
        self.transactions = 0  # outcome stores made (for the benchmark's and tests' counts)

    async def attempt(
        self, item: PlanItem, version: int, account: Account, state: Mapping[str, Any]
    ) -> None:
        await asyncio.to_thread(self._recorder.attempt, item, version, account, state)

    async def settled(self, applied: Applied) -> None:
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append((applied, done))
        if self._storer is None or self._storer.done():
            self._storer = asyncio.create_task(self._store_waiting())
        await done

    async def _store_waiting(self) -> None:
        """Store what waits, a batch at a time, until nothing does; a failure is each of
        its batch's pushes' (raised where each awaits its outcome)."""
        while self._waiting:
            batch, self._waiting = self._waiting, []
            try:
                joined = Applied.joined([applied for applied, _ in batch])
                self.transactions += 1
                await asyncio.to_thread(self._recorder.store_chunk, joined, self._secrets)
            except Exception as exc:
                for _, done in batch:
                    if not done.done():
                        done.set_exception(exc)
            except BaseException:  # cancelled: nobody is left to store what waits
                for _, done in (*batch, *self._waiting):
                    done.cancel()
                self._waiting = []
                raise
            else:
                for _, done in batch:
                    if not done.done():
                        done.set_result(None)
