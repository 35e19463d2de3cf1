"""Quarantine: the safety rails that hold a run's actions back for an operator (issue 18).

Three thresholds per directory (its options; the defaults in
:data:`credsync.vault.directory_input.COMMON_OPTIONS` are the vault-wide ones), each a count
and a percentage of the directory's links, whichever is crossed first:

- **Outbound** (``push_cap``, ``push_cap_percent``): a plan that would push to more accounts
  than that stops before it pushes anything; its pushes are held, one row per account, with
  the reason and the figures. Approved, they are carried out as a run of their own (audited
  and reported like any run's items); discarded, nothing is sent.
  A relay's pushes are under its target directory's outbound threshold too
  (:mod:`credsync.sync.relay_quarantine`).
- **Changes** (``change_cap``, ``change_cap_percent``): a provisioning or group export apply
  planning more creates, disables, deletes and member removals than that writes nothing;
  those actions are held (:mod:`credsync.sync.provision_quarantine`,
  :mod:`credsync.sync._provision_groups_quarantine`; approved by
  :mod:`credsync.sync.quarantine_approve`).
- **Inbound** (``inbound_cap``, ``inbound_cap_percent``): a run that finds more of its linked
  accounts changed in the directory than that (disabled, deleted, or their password changed
  outside the vault) does not act on them: those links are held (no push back, no flag that
  would lead to one, the vault's state untouched) while the rest of the run goes on. The
  operator restores the directory's previous state (re-enable, restore the deleted object,
  push the vault's password; with a dry run first) or accepts the change (the next run
  takes it as it would have).

A linked account the run no longer finds is ``deleted``, unless it was **moved out of the
directory's scope**: when the threshold is crossed and the connector can look objects up
outside the scope (its ``deleted_objects`` capability: a look-up by stable id beyond the
scope), an account it finds live or disabled there is held as ``out_of_scope`` instead (a
failed look-up holds them as ``deleted``, as a connector without the capability does).
Those count under the same threshold (an OU moved away is a mass change too) and the reason
says how many of each; restoring one does nothing in the directory (move it back in), accept
releases it.

:class:`Limits` lives in :mod:`credsync.vault.quarantine_limits` (the capture intake, in the
vault, holds captured passwords by the same thresholds) and is re-exported here.

A directory's thresholds are its own options, else the vault-wide values
(:mod:`credsync.vault.quarantine_defaults`), else the built-in defaults; the reason says
which it crossed.

A change is counted once: an account held in a state (``observed``: ``disabled``,
``deleted``, ``out_of_scope``, ``stamp:<the password stamp>``) is not counted again in that
state (nor a deleted one as out of scope, or the other way round), decided or not, and
while it is held every run skips it. The percentage only counts from :data:`PERCENT_FLOOR`
changes on (three disabled accounts of ten are not a mass change).

The functions here are pure but :func:`hold` and :func:`store_held` (the rows, and one
audit entry per run), :func:`moved_out` (the connector's look-up) and :func:`screen` (both).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import uuid
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, cast

from credsync.connectors.base import Account, Capability, Connector
from credsync.connectors.deleted_objects import DeletedObjects
from credsync.errors import ConnectorError
from credsync.storage import Database
from credsync.storage import quarantine as rows
from credsync.sync.model import Action, LinkState, PlanItem, Status
from credsync.vault.audit import AuditLog
from credsync.vault.auth import Actor
from credsync.vault.directories import Directory
from credsync.vault.quarantine_defaults import vault_defaults
from credsync.vault.quarantine_limits import PERCENT_FLOOR, Limits
from credsync.vault.service import Vault

__all__ = [
    "INBOUND",
    "OUTBOUND",
    "PERCENT_FLOOR",
    "Change",
    "Holding",
    "Limits",
    "Screened",
    "change_reason",
    "hold",
    "inbound_changes",
    "moved_out",
    "outbound_reason",
    "screen",
    "screen_inbound",
    "store_held",
]

log = logging.getLogger("credsync.sync")

OUTBOUND = rows.OUTBOUND
INBOUND = rows.INBOUND


def outbound_reason(items: Sequence[PlanItem], linked: int, limits: Limits) -> str | None:
    """Why the plan's pushes must be held, or None."""
    pushes = sum(1 for i in items if i.action is Action.PUSH)
    figures = limits.crossed(pushes, linked, "pushes planned", "push_cap")
    if figures is None:
        return None
    return (
        f"quarantined by the outbound threshold: {figures}; nothing was pushed (approve or "
        "discard them with `credsync quarantine`, or raise push_cap with `credsync directory "
        "set`)"
    )


@dataclass(frozen=True)
class Change:
    """A linked account changed in the directory: ``action`` is ``disabled``, ``deleted``,
    ``out_of_scope`` or ``password_changed``; ``observed`` the state it was found in."""

    item: PlanItem
    action: str
    observed: str


def inbound_changes(
    items: Sequence[PlanItem],
    links: Mapping[str, LinkState],
    accounts: Mapping[str, Account],
    moved: Collection[str] = (),
) -> list[Change]:
    """The plan's linked accounts that changed in the directory since the vault last saw
    them: gone (once present: ``out_of_scope`` when its id is in ``moved``, found outside
    the scope, else ``deleted``), disabled (once enabled), or their password stamp moved from
    the one the vault last confirmed (not by the vault: its pushes confirm the new stamp)."""
    out: list[Change] = []
    for item in items:
        link = links.get(item.credential_id or "")
        if link is None or item.new_link:
            continue
        account = accounts.get(link.account_id)
        if account is None:
            if link.status != Status.ACCOUNT_MISSING.value:
                gone = "out_of_scope" if link.account_id in moved else "deleted"
                out.append(Change(item, gone, gone))
        elif not account.enabled:
            if link.status != Status.ACCOUNT_DISABLED.value:
                out.append(Change(item, "disabled", "disabled"))
        elif (
            link.confirmed_stamp is not None
            and account.password_stamp is not None
            and account.password_stamp not in (link.confirmed_stamp, link.accepted_stamp)
            and account.password_stamp != link.failed_stamp
        ):
            out.append(Change(item, "password_changed", f"stamp:{account.password_stamp}"))
    return out


def _held_item(item: PlanItem, why: str) -> PlanItem:
    return replace(item, action=Action.SKIP, status=Status.SKIPPED, detail=why,
                   push_on_mismatch=False)  # fmt: skip


def screen_inbound(
    items: list[PlanItem],
    links: Mapping[str, LinkState],
    accounts: Mapping[str, Account],
    *,
    seen: set[tuple[str, str]],
    held: Mapping[str, rows.QuarantineRow],
    limits: Limits,
    linked: int,
    moved: Collection[str] = (),
) -> tuple[list[PlanItem], list[Change], str | None]:
    """The plan with held links skipped, the changes to hold now, and why (None: the
    changes are under the threshold, and the plan acts on them as usual). ``moved``: the
    missing accounts found outside the scope (:func:`moved_out`)."""
    fresh = [
        c
        for c in inbound_changes(items, links, accounts, moved)
        if (links[c.item.credential_id or ""].account_id, c.observed) not in seen
        and (links[c.item.credential_id or ""].account_id, _OTHER_GONE.get(c.observed, ""))
        not in seen
    ]
    kinds = ", ".join(
        f"{n} {action.replace('_', ' ')}"
        for action in ("disabled", "deleted", "out_of_scope", "password_changed")
        if (n := sum(1 for c in fresh if c.action == action))
    )
    what = f"linked accounts changed in the directory ({kinds})"
    reason = limits.crossed(len(fresh), linked, what, "inbound_cap")
    holding = {c.item.credential_id for c in fresh} if reason else set()
    if reason:
        reason = (
            f"quarantined by the inbound threshold: {reason}; not acted on (restore the "
            "directory's previous state or accept the change with `credsync quarantine`)"
        )
    out: list[PlanItem] = []
    for item in items:
        link = links.get(item.credential_id or "")
        already = held.get(link.account_id) if link is not None else None
        if item.credential_id in holding and reason:
            out.append(_held_item(item, reason))
        elif already is not None:
            out.append(_held_item(item, f"held in quarantine ({already.id[:8]}): {already.reason}"))
        else:
            out.append(item)
    return out, [c for c in fresh if c.item.credential_id in holding], reason


# An account held as deleted is not counted again as out of scope, nor the other way round.
_OTHER_GONE = {"deleted": "out_of_scope", "out_of_scope": "deleted"}


async def moved_out(connector: Connector, ids: Sequence[str]) -> set[str]:
    """Of ``ids`` (accounts the run no longer finds in the scope), those the directory still
    has as users elsewhere (live or disabled): moved out of the scope, not deleted. Empty
    when the connector cannot look objects up outside its scope."""
    if not ids or Capability.DELETED_OBJECTS not in connector.capabilities:
        return set()
    try:
        found = await cast(DeletedObjects, connector).object_states(list(ids), [])
    except ConnectorError as exc:  # held as deleted: restore's dry run reads them again
        log.warning("could not tell moved accounts from deleted ones: %s", exc)
        return set()
    return {s.object_id for s in found if s.state in ("live", "disabled")}


@dataclass(frozen=True)
class Holding:
    """One action to hold: whose (``account_id``: the account, or for provisioning the
    person), its name for the list, the action and the state it was held in."""

    credential_id: str | None
    account_id: str
    account_name: str
    action: str
    observed: str


def change_reason(figures: str, *, dry_run: bool) -> str:
    """Why a provisioning or group export apply holds its actions (``figures``: what crossed
    the change threshold), or would (``dry_run``)."""
    held = "would be quarantined" if dry_run else "quarantined"
    reason = (
        f"{held} by the change threshold: {figures}; nothing was written (approve or discard "
        "them with `credsync quarantine`, or raise change_cap with `credsync directory set`)"
    )
    return f"dry run: {reason}" if dry_run else reason


def store_held(
    db: Database,
    audit: AuditLog,
    actor: Actor,
    directory: Directory,
    run_id: str,
    direction: str,
    held: Sequence[Holding],
    reason: str,
    *,
    at: dt.datetime,
) -> int:
    """Store ``held`` as held rows of the run, with one audit entry (``quarantine.hold``)
    saying how many and why."""
    new = [
        rows.QuarantineRow(
            str(uuid.uuid4()),
            directory.client_id,
            directory.id,
            run_id,
            direction,
            h.credential_id,
            h.account_id,
            h.account_name[:255],
            h.action,
            h.observed[:80],
            reason[:1000],
            rows.HELD,
            at,
        )
        for h in held
        if h.account_id
    ]
    with db.write() as conn:
        rows.insert(conn, new)
        audit.append(
            conn,
            actor,
            "quarantine.hold",
            target_type="directory",
            target_id=directory.id,
            client_id=directory.client_id,
            details={"run": run_id, "direction": direction, "count": len(new), "reason": reason},
        )
    return len(new)


def hold(
    vault: Vault,
    actor: Actor,
    directory: Directory,
    run_id: str,
    direction: str,
    held: Sequence[tuple[PlanItem, str, str]],
    reason: str,
    *,
    at: dt.datetime,
) -> int:
    """Store ``held`` ((item, action, observed) each) as held rows of the run, with one
    audit entry saying how many and why."""
    found = [
        Holding(item.credential_id, item.account_id or "", item.account_name, action, observed)
        for item, action, observed in held
    ]
    return store_held(vault.db, vault.audit, actor, directory, run_id, direction, found, reason,
                      at=at)  # fmt: skip


def _outbound(
    items: list[PlanItem],
    links: Mapping[str, LinkState],
    versions: Mapping[str, int],
    decided: set[tuple[str, str]],
    held: Mapping[str, rows.QuarantineRow],
) -> list[PlanItem]:
    """The plan with the pushes already held, or discarded at this secret version, skipped."""
    out: list[PlanItem] = []
    for item in items:
        link = links.get(item.credential_id or "")
        if item.action is not Action.PUSH or link is None:
            out.append(item)
        elif link.account_id in held:
            row = held[link.account_id]
            out.append(_held_item(item, f"held in quarantine ({row.id[:8]}): {row.reason}"))
        elif (link.account_id, _version(versions, item)) in decided:
            out.append(_held_item(item, _DISCARDED))
        else:
            out.append(item)
    return out


_DISCARDED = (
    "discarded from quarantine at this secret version: not pushed until the vault's password "
    "changes again"
)


def _version(versions: Mapping[str, int], item: PlanItem) -> str:
    return f"v{versions.get(item.credential_id or '', 0)}"


@dataclass(frozen=True)
class Screened:
    """A plan after the thresholds: ``abort`` (the outbound threshold stopped the run: every
    item is a skip) or ``note`` (links held by the inbound threshold, for the run's
    message)."""

    items: list[PlanItem]
    abort: str | None = None
    note: str | None = None
    held: int = 0  # items held by this run (none in a dry run)


async def screen(
    vault: Vault,
    actor: Actor,
    directory: Directory,
    run_id: str,
    items: list[PlanItem],
    links: Mapping[str, LinkState],
    accounts: Mapping[str, Account],
    versions: Mapping[str, int],
    *,
    linked: int,
    dry_run: bool,
    at: dt.datetime,
    connector: Connector | None = None,
) -> Screened:
    """Both thresholds over a run's plan; the held rows stored (not in a dry run).
    ``linked``: the directory's links, what percentages are of (0: counts only);
    ``connector``: to tell a missing account moved out of the scope from a deleted one."""

    def stored() -> tuple[Any, ...]:  # in a worker thread: the agent's event loop goes on
        with vault.db.read() as conn:
            discarded = {
                (r.account_id, r.observed)
                for r in rows.listed(conn, None, directory_id=directory.id, states=("discarded",))
                if r.direction == OUTBOUND
            }
            return (
                replace(directory, defaults=vault_defaults(conn)),
                rows.held_for(conn, directory.id, OUTBOUND),
                discarded,
                rows.held_for(conn, directory.id, INBOUND),
                rows.seen(conn, directory.id, INBOUND),
            )

    directory, held_out, discarded, held_in, seen = await asyncio.to_thread(stored)
    items = _outbound(items, links, versions, discarded, held_out)
    reason = outbound_reason(items, linked, Limits.outbound(directory))
    if reason is not None:
        pushes = [(i, "push", _version(versions, i)) for i in items if i.action is Action.PUSH]
        if dry_run:
            reason = "dry run: " + reason.replace("quarantined by", "would be quarantined by", 1)
            return Screened([_held_item(i, reason) for i in items], abort=reason)
        held = hold(vault, actor, directory, run_id, OUTBOUND, pushes, reason, at=at)
        return Screened([_held_item(i, reason) for i in items], abort=reason, held=held)
    kept = items
    items, changes, why = screen_inbound(
        kept, links, accounts, seen=seen, held=held_in, limits=Limits.inbound(directory),
        linked=linked,
    )  # fmt: skip
    gone = [c.item.account_id or "" for c in changes if c.action == "deleted"]
    if why is not None and connector is not None and gone:
        moved = await moved_out(connector, gone)
        if moved:  # the same count, told apart
            items, changes, why = screen_inbound(
                kept, links, accounts, seen=seen, held=held_in,
                limits=Limits.inbound(directory), linked=linked, moved=moved,
            )  # fmt: skip
    if why is None:
        return Screened(items)
    if dry_run:
        return Screened(items, note=f"{len(changes)} links would be held in quarantine: {why}")
    found = [(c.item, c.action, c.observed) for c in changes]
    held = hold(vault, actor, directory, run_id, INBOUND, found, why, at=at)
    return Screened(items, note=f"{held} links held in quarantine: {why}", held=held)
