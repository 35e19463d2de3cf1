"""Restoring what a mass change did to a directory, in one action (issue 18; the items are
the inbound ones :mod:`credsync.sync.quarantine` held): for each held link, in this order,

1. a **deleted** account is restored where the directory can (the connector's
   ``deleted_objects`` capability: AD's tombstone reanimation, Entra's deleted items);
2. the vault's password is **pushed** back to a deleted-and-restored account (AD's restore
   brings back no password) and to one whose password was changed outside the vault,
   through a link confirmed for pushes (an unconfirmed link, or auto-create's shell without
   a password, is not pushed: the line says so) as one run (trigger ``quarantine``);
3. a **disabled** account (and a restored one, which AD leaves disabled) is **enabled**;
4. a captured password a capture hold kept (:mod:`credsync.vault.capture_hold`) is
   discarded (the line's detail says so, in the dry run too).

An account **moved out of the directory's scope** (``out_of_scope``) has nothing to restore
in the directory from here (it is neither deleted nor disabled; the vault cannot know where it
belonged): its line is ``skipped``, "moved out of scope: move it back in the directory, then
accept it", and it stays held until accepted.

``dry_run`` reads the directory (each account's state) and lists those steps per item,
changing nothing. An item whose steps all worked is ``restored``; one that failed stays held
(its line says why), so the restore can be tried again.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

from credsync.connectors.base import Capability, Connector
from credsync.connectors.deleted_objects import DeletedObjects, ObjectStatus
from credsync.errors import CredsyncError
from credsync.storage import quarantine as rows
from credsync.sync import store
from credsync.sync.connect import connect
from credsync.sync.engine import Engine
from credsync.sync.model import LinkState, Status
from credsync.sync.quarantine import INBOUND
from credsync.sync.quarantine_service import (
    DECIDE,
    Outcome,
    QuarantineDoneJson,
    QuarantineLineJson,
    QuarantineService,
    done_json,
    line,
    push_item,
)
from credsync.vault.auth import Permission
from credsync.vault.capture_hold import drop_held, held_capture

__all__ = ["RESTORE", "Quarantine"]

RESTORE = (*DECIDE, Permission.DIRECTORY_SETUP)
_RESTORE, _PUSH, _ENABLE = "restore the deleted account", "push the vault's password", "enable"
MOVED_OUT = "moved out of scope: move it back in the directory, then accept it"
_DROP = "the captured password held with it is discarded (never taken into the vault)"


class _Plan:
    """One item's steps, and why a step is left out."""

    def __init__(self, row: rows.QuarantineRow) -> None:
        self.row = row
        self.steps: list[str] = []
        self.notes: list[str] = []
        self.failed = ""
        self.skipped = ""


def _steps(
    row: rows.QuarantineRow,
    state: ObjectStatus | None,
    link: LinkState | None,
    version: int | None,
    can_restore: bool,
    captured: bool = False,
) -> _Plan:
    plan = _Plan(row)
    found = state.state if state is not None else "unknown"
    if row.action == "out_of_scope":
        plan.skipped = MOVED_OUT
        return plan
    if row.action in ("deleted", "disabled") and not can_restore:
        plan.failed = "this directory can neither restore nor enable accounts"
        return plan
    if row.action == "deleted":
        if found == "deleted" and state is not None and state.restorable:
            plan.steps.append(_RESTORE)
        elif found == "deleted" or found == "gone":
            plan.failed = f"the account is {found} and cannot be restored"
            return plan
    if row.action in ("deleted", "password_changed"):
        if link is None or row.credential_id is None:
            plan.notes.append("not pushed: the credential is no longer linked")
        elif not link.link_confirmed:
            plan.notes.append("not pushed: the link is not confirmed for pushes")
        elif link.shell_version is not None and link.shell_version == version:
            plan.notes.append("not pushed: the vault has no password for this account")
        else:
            plan.steps.append(_PUSH)
    if row.action in ("deleted", "disabled") and (found in ("disabled", "deleted")):
        plan.steps.append(_ENABLE)
    if captured:
        plan.notes.append(_DROP)
    return plan


class Quarantine(QuarantineService):
    """Every quarantine decision: :class:`QuarantineService`'s and the restore."""

    async def restore(
        self, refs: Sequence[str], directory: str | None = None, *, dry_run: bool = False
    ) -> QuarantineDoneJson:
        self._actor.require(*RESTORE)
        held = self.select(refs, directory, INBOUND, "restore")
        lines: list[QuarantineLineJson] = []
        run_ids: list[str] = []
        for dir_id in dict.fromkeys(r.directory_id for r in held):
            mine = [r for r in held if r.directory_id == dir_id]
            connector = connect(self._vault.db, self._keys, self._actor, dir_id,
                                factory=self._factory)  # fmt: skip
            try:
                plans = await self._plans(connector, dir_id, mine)
                if dry_run:
                    lines += [_line(p, "skipped" if p.skipped else "would") for p in plans]
                    continue
                run_id = await self._carry_out(connector, dir_id, plans)
                if run_id is not None:
                    run_ids.append(run_id)
                for p in plans:
                    if p.skipped:
                        lines.append(_line(p, "skipped"))
                        continue
                    if not p.failed:
                        done = "; ".join(p.steps + p.notes) or "nothing to do"
                        with self._vault.db.write() as conn:
                            if self.decide_in(conn, p.row, "restored", done, run_id):
                                drop_held(conn, p.row)
                    lines.append(_line(p, "failed" if p.failed else "done"))
            finally:
                await connector.close()
        return done_json("restore", lines, dry_run=dry_run, run_ids=run_ids)

    async def _plans(
        self, connector: Connector, dir_id: str, held: list[rows.QuarantineRow]
    ) -> list[_Plan]:
        can = Capability.DELETED_OBJECTS in connector.capabilities
        states: dict[str, ObjectStatus] = {}
        if can:
            ids = [r.account_id for r in held if r.action in ("deleted", "disabled")]
            if ids:
                found = await cast(DeletedObjects, connector).object_states(ids, [])
                states = {s.object_id: s for s in found}
        with self._vault.db.read() as conn:
            links = store.load_links(conn, dir_id)
            client_id = held[0].client_id
            versions = {
                c.id: c.secret_version
                for c in store.sync_credentials(conn, client_id, include_off=True)
            }
            captured = {r.id for r in held if held_capture(conn, r) is not None}
        out: list[_Plan] = []
        for r in held:
            cid = r.credential_id or ""
            out.append(_steps(r, states.get(r.account_id), links.get(cid), versions.get(cid), can,
                              r.id in captured))  # fmt: skip
        return out

    async def _carry_out(self, connector: Connector, dir_id: str, plans: list[_Plan]) -> str | None:
        deleted = cast(DeletedObjects, connector)
        for p in plans:
            if _RESTORE in p.steps:
                try:
                    await deleted.restore(p.row.account_id, "person")
                except CredsyncError as exc:
                    p.failed = f"the restore failed: {exc}"
        pushing = [p for p in plans if not p.failed and _PUSH in p.steps]
        run_id: str | None = None
        if pushing:
            engine = Engine(self._vault, self._keys, self._actor, factory=self._factory)
            items = [push_item(p.row, f"restored from quarantine by {self._actor.name}")
                     for p in pushing]  # fmt: skip
            report = await engine.apply(dir_id, items, trigger="quarantine", connector=connector)
            run_id = report.id
            by_cred = {i.credential_id: i for i in report.items}
            for p in pushing:
                item = by_cred.get(p.row.credential_id)
                if not report.ok or item is None or item.status != Status.IN_SYNC.value:
                    why = item.detail if item is not None else report.message
                    p.failed = f"the push failed: {why}"
        for p in plans:
            if not p.failed and _ENABLE in p.steps:
                try:
                    await deleted.enable(p.row.account_id)
                except CredsyncError as exc:
                    p.failed = f"enabling failed: {exc}"
        return run_id


def _line(plan: _Plan, outcome: Outcome) -> QuarantineLineJson:
    if plan.skipped:
        return line(plan.row, "skipped", [], plan.skipped)
    if plan.failed:
        return line(plan.row, "failed", plan.steps, "; ".join([plan.failed, *plan.notes]))
    return line(plan.row, outcome, plan.steps, "; ".join(plan.notes))
