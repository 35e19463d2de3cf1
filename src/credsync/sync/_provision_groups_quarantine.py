"""The change threshold over a group export (issue 18; the thresholds are
:mod:`credsync.sync.quarantine`'s): the directory writes that add objects in bulk or take
something away are counted, and an apply planning more of them than the directory's
``change_cap`` stops before it writes anything.

Counted: **create** (a group made in the directory), **remove_member** (a member taken out
of a directory group, the vault being membership's source of truth), **delete** (a
duplicate removed, when the apply confirms the duplicates). Not counted: links, member
additions, and the vault-side changes of a group whose source of truth is the directory.
The percentage (``change_cap_percent``) does not apply here: a member removal has no whole
it is a share of; the count does.

Over the threshold each counted action is held (direction ``groups``: ``account_id`` is the
vault group's id, or the duplicate's object id; ``observed`` ``new``, the member's object
id, or ``duplicate of <group id>``), the apply writes nothing and says why
(``quarantined``). A later apply skips the held actions (a held create leaves its group
out; a held removal keeps the member, listed as outside; a held delete keeps the duplicate)
and does the rest. An approval plans again and carries out only the approved actions (a
create with its group's members); approved deletes are their own confirmation.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import replace
from typing import Any

from credsync.storage import quarantine as rows
from credsync.sync._provision_groups_plan import Duplicate, Line
from credsync.sync.quarantine import Holding, Limits, change_reason, store_held
from credsync.types import new_id
from credsync.vault.auth import Actor
from credsync.vault.directories import Directory
from credsync.vault.service import Vault

__all__ = ["GROUPS", "Key", "counted", "screen_groups"]

GROUPS = rows.GROUPS
Key = tuple[str, str, str]  # (account_id, action, observed) of a held row


def _dup_key(duplicate: Duplicate) -> Key:
    return (duplicate.target.object_id, "delete", f"duplicate of {duplicate.group_id}")


def counted(lines: list[Line], duplicates: list[Duplicate], *, remove: bool) -> list[Holding]:
    """The counted actions of a plan."""
    out: list[Holding] = []
    for line in lines:
        if line.action == "create":
            out.append(Holding(None, line.group.id, line.group.name, "create", "new"))
        if line.membership_source == "vault" and line.target is not None:
            for change in line.remove:
                out.append(Holding(None, line.group.id, f"{line.group.name}: {change.name}",
                                   "remove_member", change.object_id or ""))  # fmt: skip
    if remove:
        for duplicate in duplicates:
            key = _dup_key(duplicate)
            out.append(Holding(None, key[0], duplicate.target.name, "delete", key[2]))
    return out


def _key(h: Holding) -> Key:
    return (h.account_id, h.action, h.observed)


def _approved_only(plan: Any, approved: Collection[Key]) -> None:
    lines: list[Line] = []
    for line in plan.lines:
        if line.action == "create":
            if (line.group.id, "create", "new") in approved:
                lines.append(line)
            continue
        line.add = []
        line.remove = [
            c
            for c in line.remove
            if line.membership_source == "vault"
            and (line.group.id, "remove_member", c.object_id or "") in approved
        ]
        if line.remove:
            lines.append(line)
    plan.lines = lines
    plan.duplicates = [d for d in plan.duplicates if _dup_key(d) in approved]


def _skip_held(plan: Any, held: dict[Key, rows.QuarantineRow]) -> None:
    for line in plan.lines:
        row = held.get((line.group.id, "create", "new"))
        if line.action == "create" and row is not None:
            line.error = f"create held in quarantine ({row.id[:8]})"
        if line.membership_source != "vault":
            continue
        kept = []
        for change in line.remove:
            row = held.get((line.group.id, "remove_member", change.object_id or ""))
            if row is None:
                kept.append(change)
            else:
                line.outside.append(f"{change.name} (removal held in quarantine {row.id[:8]})")
        line.remove = kept
    plan.duplicates = [d for d in plan.duplicates if _dup_key(d) not in held]


def screen_groups(
    vault: Vault,
    actor: Actor,
    directory: Directory,
    plan: Any,
    *,
    remove: bool,
    approved: Collection[Key] | None = None,
    dry_run: bool = False,
    at: dt.datetime,
) -> str | None:
    """The threshold over ``plan`` (an ``ExportPlan``, changed in place); the reason when
    it stopped the apply (None: the apply goes ahead, without the actions held before).
    ``approved``: an approval (only those actions stay)."""
    if approved is not None:
        _approved_only(plan, approved)
        return None
    with vault.db.read() as conn:
        held = {
            (r.account_id, r.action, r.observed): r
            for r in rows.listed(conn, None, directory_id=directory.id)
            if r.direction == GROUPS
        }
    _skip_held(plan, held)
    fresh = [h for h in counted(plan.lines, plan.duplicates, remove=remove) if _key(h) not in held]
    fresh = [h for h in fresh if h.action != "create" or _create_open(plan, h.account_id)]
    what = "group creates, member removals and group deletes planned"
    figures = replace(Limits.changes(directory), percent=0).crossed(
        len(fresh), 0, what, "change_cap"
    )
    if figures is None:
        return None
    reason = change_reason(figures, dry_run=dry_run)
    if dry_run:
        return reason
    store_held(vault.db, vault.audit, actor, directory, new_id(), GROUPS, fresh, reason, at=at)
    return reason


def _create_open(plan: Any, group_id: str) -> bool:
    return any(line.group.id == group_id and line.error is None for line in plan.lines)
