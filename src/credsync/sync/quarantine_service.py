"""The operator's side of quarantine (see :mod:`credsync.sync.quarantine` for what is held
and why): list and show the held items, then decide them, one by one or in bulk (every held
item of a directory):

- an **outbound** item (a push the outbound threshold held) is **approved** (carried out as
  a run of its own, trigger ``quarantine``: audited and reported like any run's items) or
  **discarded** (nothing is sent; that push is not planned again until the vault's password
  changes again);
- a held **relayed password** (outbound, action ``relay``), or a **provisioning** or **group
  export** action (direction ``people`` / ``groups``) is approved as a run of its own kind
  (:mod:`credsync.sync.quarantine_approve`) or discarded (nothing is written; a relay is
  not sent again at that version, a provisioning or export action is planned afresh by the
  next apply);
- an **inbound** item (a link the inbound threshold held) is **restored** (the directory put
  back as it was: :mod:`credsync.sync.quarantine_restore`, with a dry run) or **accepted**
  (released: the next run takes the directory's state as it would have; a changed password
  is accepted as unknown to the vault, as accepting a flag without the password does; a
  password a capture held becomes the credential's new version).

Who may: viewing needs ``vault.read``; approving, discarding and accepting need what an
enforce push needs (``vault.read``, ``vault.write``, ``directory_admin.use``; approving a
provisioning or group export action also ``directory.setup``, as their apply); restoring
also needs ``directory.setup`` (it re-enables accounts and brings deleted objects back, as
the deleted-objects check's restore does). The client access list applies to all of them (an
item of a client outside it is not found). Every decision is audited, one entry per item.
"""

from __future__ import annotations

import builtins
import datetime as dt
from collections.abc import Sequence
from typing import Literal

from sqlalchemy.engine import Connection
from typing_extensions import TypedDict

from credsync.errors import InvalidInput, NotFound
from credsync.storage import accounts as account_rows
from credsync.storage import links as link_rows
from credsync.storage import quarantine as rows
from credsync.sync.connect import DirectoryService
from credsync.sync.engine import Engine
from credsync.sync.model import UNKNOWN_TO_THE_VAULT, Action, PlanItem, Status
from credsync.sync.quarantine import INBOUND, OUTBOUND
from credsync.sync.quarantine_approve import approve_groups, approve_people, approve_relays
from credsync.sync.relay_quarantine import RELAY
from credsync.vault._time import utcnow
from credsync.vault.auth import Permission
from credsync.vault.capture_hold import held_capture, take_held
from credsync.vault.directories import find_directory_row

__all__ = [
    "DECIDE",
    "Outcome",
    "QuarantineDoneJson",
    "QuarantineItemJson",
    "QuarantineLineJson",
    "QuarantineService",
    "item_json",
]

DECIDE = (Permission.VAULT_READ, Permission.VAULT_WRITE, Permission.DIRECTORY_ADMIN_USE)
PEOPLE = rows.PEOPLE
GROUPS = rows.GROUPS
APPROVABLE = (OUTBOUND, PEOPLE, GROUPS)  # what approve and discard decide
Outcome = Literal["done", "failed", "skipped", "would"]


class QuarantineItemJson(TypedDict):
    id: str
    client_id: str
    directory_id: str
    run_id: str
    direction: str
    credential_id: str | None
    account_id: str
    account: str
    action: str
    reason: str
    state: str
    created_at: str
    decided_at: str | None
    decided_by: str | None
    decided_run_id: str | None
    outcome: str | None


class QuarantineLineJson(TypedDict):
    """What a decision did (or, in a dry run, would do) for one item: ``steps`` in order."""

    id: str
    account: str
    action: str
    outcome: Outcome
    steps: list[str]
    detail: str


class QuarantineDoneJson(TypedDict):
    decision: str
    dry_run: bool
    run_ids: list[str]
    totals: dict[str, int]
    items: list[QuarantineLineJson]


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def item_json(row: rows.QuarantineRow) -> QuarantineItemJson:
    return QuarantineItemJson(
        id=row.id,
        client_id=row.client_id,
        directory_id=row.directory_id,
        run_id=row.run_id,
        direction=row.direction,
        credential_id=row.credential_id,
        account_id=row.account_id,
        account=row.account_name,
        action=row.action,
        reason=row.reason,
        state=row.state,
        created_at=row.created_at.isoformat(),
        decided_at=_iso(row.decided_at),
        decided_by=row.decided_by,
        decided_run_id=row.decided_run_id,
        outcome=row.outcome,
    )


def done_json(
    decision: str, lines: list[QuarantineLineJson], *, dry_run: bool = False,
    run_ids: Sequence[str] = (),
) -> QuarantineDoneJson:  # fmt: skip
    totals: dict[str, int] = {}
    for line in lines:
        totals[line["outcome"]] = totals.get(line["outcome"], 0) + 1
    return QuarantineDoneJson(decision=decision, dry_run=dry_run, run_ids=list(run_ids),
                              totals=totals, items=lines)  # fmt: skip


def line(row: rows.QuarantineRow, outcome: Outcome, steps: list[str], detail: str = "") -> (
    QuarantineLineJson
):  # fmt: skip
    return QuarantineLineJson(id=row.id, account=row.account_name, action=row.action,
                              outcome=outcome, steps=steps, detail=detail)  # fmt: skip


class QuarantineService(DirectoryService):
    # -- reading -------------------------------------------------------------------------------
    def list(
        self, directory: str | None = None, *, include_decided: bool = False
    ) -> builtins.list[QuarantineItemJson]:
        """The held items (and decided ones when asked) the actor may see, of one directory
        or every one."""
        self._actor.require(Permission.VAULT_READ)
        with self._vault.db.read() as conn:
            directory_id = (
                find_directory_row(conn, directory, self._actor).id if directory else None
            )
            clients = sorted(self._actor.clients) if self._actor.clients is not None else None
            found = rows.listed(conn, clients, directory_id=directory_id,
                                states=None if include_decided else (rows.HELD,))  # fmt: skip
        return [item_json(r) for r in found]

    def _row(self, ref: str) -> rows.QuarantineRow:
        with self._vault.db.read() as conn:
            row = rows.find(conn, ref)
        if not self._actor.sees(row.client_id):
            raise NotFound(f"quarantine item {ref!r} not found")
        return row

    def show(self, ref: str) -> QuarantineItemJson:
        self._actor.require(Permission.VAULT_READ)
        return item_json(self._row(ref))

    def select(
        self, refs: Sequence[str], directory: str | None, direction: str | tuple[str, ...],
        decision: str,
    ) -> builtins.list[rows.QuarantineRow]:  # fmt: skip
        """The held items of ``refs`` (each once), or every held item of ``direction`` (one
        or several) in ``directory``; an item of another direction, or decided already, is
        refused."""
        directions = (direction,) if isinstance(direction, str) else direction
        if not refs and not directory:
            raise InvalidInput(f"{decision}: give item ids, or a directory for all of its held "
                               "items", field="ids")  # fmt: skip
        if not refs:
            assert directory is not None  # noqa: S101 - checked above
            with self._vault.db.read() as conn:
                dir_id = find_directory_row(conn, directory, self._actor).id
                return [r for r in rows.listed(conn, None, directory_id=dir_id)
                        if r.direction in directions]  # fmt: skip
        out: dict[str, rows.QuarantineRow] = {}
        for ref in refs:
            row = self._row(ref)
            if row.state != rows.HELD:
                raise InvalidInput(f"quarantine item {row.id[:8]} was {row.state} already",
                                   field="ids")  # fmt: skip
            if row.direction not in directions:
                other = "restore or accept" if row.direction == INBOUND else "approve or discard"
                raise InvalidInput(f"quarantine item {row.id[:8]} is {row.direction}: "
                                   f"{other} it", field="ids")  # fmt: skip
            out[row.id] = row
        return list(out.values())

    def decided(
        self, row: rows.QuarantineRow, state: str, outcome: str, run_id: str | None = None
    ) -> bool:
        """Store the decision and audit it; False when someone decided the item meanwhile."""
        with self._vault.db.write() as conn:
            return self.decide_in(conn, row, state, outcome, run_id)

    def decide_in(
        self, conn: Connection, row: rows.QuarantineRow, state: str, outcome: str,
        run_id: str | None = None,
    ) -> bool:  # fmt: skip
        """:meth:`decided` inside the caller's write transaction."""
        ok = rows.decide(conn, row.id, state, at=utcnow(), by=self._actor.name,
                         run_id=run_id, outcome=outcome[:1000])  # fmt: skip
        if ok:
            self._vault.audit.append(
                conn, self._actor, f"quarantine.{state}", target_type="quarantine",
                target_id=row.id, client_id=row.client_id,
                details={"directory": row.directory_id, "account": row.account_name,
                         "action": row.action, "outcome": outcome[:200]},
            )  # fmt: skip
        return ok

    # -- outbound ------------------------------------------------------------------------------
    async def approve(
        self, refs: Sequence[str], directory: str | None = None
    ) -> QuarantineDoneJson:
        """Carry out the held actions: the pushes as one run per directory (trigger
        ``quarantine``); relayed passwords and provisioning as their own kind's runs
        (:mod:`credsync.sync.quarantine_approve`: provisioning also needs
        ``directory.setup``, as its apply does, checked before anything is done)."""
        self._actor.require(*DECIDE)
        chosen = self.select(refs, directory, APPROVABLE, "approve")
        if any(r.direction in (PEOPLE, GROUPS) for r in chosen):
            self._actor.require(Permission.DIRECTORY_SETUP)
        held = [r for r in chosen if r.direction == OUTBOUND and r.action != RELAY]
        engine = Engine(self._vault, self._keys, self._actor, factory=self._factory)
        lines: list[QuarantineLineJson] = []
        run_ids: list[str] = []
        others = [
            *await approve_relays(self._vault, self._keys, self._actor, self._factory,
                                  [r for r in chosen if r.action == RELAY]),
            *await approve_people(self._vault, self._keys, self._actor, self._factory,
                                  [r for r in chosen if r.direction == PEOPLE]),
            *await approve_groups(self._vault, self._keys, self._actor, self._factory,
                                  [r for r in chosen if r.direction == GROUPS]),
        ]  # fmt: skip
        run_ids.extend(dict.fromkeys(r for _, _, _, r in others if r is not None))
        for row, ok, what, run_id in others:
            step = "push the relayed password" if row.action == RELAY else row.action
            if ok:
                self.decided(row, "approved", what, run_id)
            lines.append(line(row, "done" if ok else "failed", [step], "" if ok else what))
        for dir_id in dict.fromkeys(r.directory_id for r in held):
            mine = [r for r in held if r.directory_id == dir_id and r.credential_id]
            items = [push_item(r, f"approved from quarantine by {self._actor.name}") for r in mine]
            report = await engine.apply(dir_id, items, trigger="quarantine")
            run_ids.append(report.id)
            by_cred = {i.credential_id: i for i in report.items}
            for row in mine:
                item = by_cred.get(row.credential_id)
                if report.ok and item is not None and item.status == Status.IN_SYNC.value:
                    self.decided(row, "approved", f"pushed (run {report.id[:8]})", report.id)
                    lines.append(line(row, "done", ["push the vault's password"]))
                else:
                    why = item.detail if item is not None else report.message
                    lines.append(line(row, "failed", ["push the vault's password"], why))
        return done_json("approve", lines, run_ids=run_ids)

    def discard(self, refs: Sequence[str], directory: str | None = None) -> QuarantineDoneJson:
        """Drop the held pushes: nothing is sent."""
        self._actor.require(*DECIDE)
        lines = []
        for row in self.select(refs, directory, APPROVABLE, "discard"):
            ok = self.decided(row, "discarded", "nothing pushed" if row.direction == OUTBOUND
                              else f"{row.action} not done")  # fmt: skip
            lines.append(line(row, "done" if ok else "skipped", [], "" if ok else "decided"))
        return done_json("discard", lines)

    # -- inbound -------------------------------------------------------------------------------
    def accept(self, refs: Sequence[str], directory: str | None = None) -> QuarantineDoneJson:
        """Release the held links: the next run takes the directory's state. A password a
        capture held (:mod:`credsync.vault.capture_hold`) becomes the credential's new
        version, as the capture would have made it."""
        self._actor.require(*DECIDE)
        lines = []
        for row in self.select(refs, directory, INBOUND, "accept"):
            with self._vault.db.write() as conn:
                captured = held_capture(conn, row) is not None
                steps = [_TAKE] if captured else []
                outcome = _TAKE if captured else "the vault follows the directory"
                ok = self.decide_in(conn, row, "accepted", outcome)
                if ok and captured:
                    name = find_directory_row(conn, row.directory_id, self._actor).name
                    take_held(conn, self._vault.audit, self._keys, self._actor, row, name)
                elif ok and row.action == "password_changed" and row.credential_id:
                    stamp = account_rows.password_stamp(conn, row.directory_id, row.account_id)
                    link_rows.accept_stamp(conn, row.credential_id, row.directory_id,
                                           stamp or row.observed.removeprefix("stamp:"),
                                           status=Status.PASSWORD_UNKNOWN.value,
                                           detail=UNKNOWN_TO_THE_VAULT)  # fmt: skip
            lines.append(line(row, "done" if ok else "skipped", steps, "" if ok else "decided"))
        return done_json("accept", lines)


_TAKE = "take the captured password as the credential's new version"


def push_item(row: rows.QuarantineRow, why: str) -> PlanItem:
    return PlanItem(row.credential_id, row.account_name, row.account_id, row.account_name,
                    Action.PUSH, Status.PENDING, f"{why} ({row.id[:8]})")  # fmt: skip
