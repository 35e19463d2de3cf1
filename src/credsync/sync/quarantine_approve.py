"""Approving held actions other than a sync run's pushes (issue 18; the decisions are
:mod:`credsync.sync.quarantine_service`'s): each kind is carried out as a run of its own
kind, audited and reported like that kind's normal run.

- **relayed passwords** (outbound, action ``relay``): pushed by the relay pusher as one
  ``relay`` run per directory (trigger ``quarantine``; its id is the decision's run),
  without the threshold; a held push whose relay pair is gone is not pushed ("no longer
  relayed") and stays held;
- **provisioning** (direction ``people``: ``create``, ``disable``, ``delete``): one
  provisioning apply per directory, planned again from fresh reads and limited to the
  approved people (:func:`credsync.sync.provision_quarantine.screen_people`), audited
  ``person.provision`` as any apply; a person whose plan no longer has the approved action
  stays held, with the line saying so;
- **group export** (direction ``groups``: ``create``, ``remove_member``, ``delete``): one
  export apply per directory, planned again and limited to the approved actions (a create
  with its group's members; approved deletes are their own confirmation), audited
  ``group.export_*`` as any apply; an action no longer planned stays held.

Each answer is per held row: (row, carried out?, what happened, the run's id if any).
"""

from __future__ import annotations

from collections.abc import Sequence

from credsync.connectors.registry import ConnectorFactory
from credsync.storage import quarantine as rows
from credsync.sync.connect import directory_config, load_directory
from credsync.sync.model import Status
from credsync.sync.provision_groups import ExportPlan, ProvisionGroups
from credsync.sync.provision_people import PeopleProvision, ProvisionSelection
from credsync.sync.relay_push import push_queued, queued_jobs
from credsync.types import new_id
from credsync.vault.auth import Actor
from credsync.vault.keyring import KeyRing
from credsync.vault.service import Vault

__all__ = ["Approved", "approve_groups", "approve_people", "approve_relays"]

Approved = tuple[rows.QuarantineRow, bool, str, str | None]


async def approve_relays(
    vault: Vault,
    keys: KeyRing,
    actor: Actor,
    factory: ConnectorFactory,
    held: Sequence[rows.QuarantineRow],
) -> list[Approved]:
    """Push the held relayed passwords, one relay run per directory."""
    out: list[Approved] = []
    for dir_id in dict.fromkeys(r.directory_id for r in held):
        mine = [r for r in held if r.directory_id == dir_id and r.credential_id]
        jobs = queued_jobs(vault.db, dir_id, [r.credential_id or "" for r in mine])
        directory = load_directory(vault.db, dir_id)
        results = []
        run_id = new_id() if jobs else None
        if jobs:
            connector = factory(directory_config(vault.db, keys, directory))
            try:
                results = await push_queued(vault.db, keys, actor, directory, connector,
                                            list(jobs.values()), trigger="quarantine",
                                            screen=False, run_id=run_id)  # fmt: skip
            finally:
                await connector.close()
        by_cred = {r.job.credential_id: r for r in results}
        for row in mine:
            result = by_cred.get(row.credential_id or "")
            if result is None:
                out.append((row, False, "no longer relayed: not pushed", None))
            else:
                out.append((row, result.status == Status.IN_SYNC, result.detail, run_id))
    return out


def _by_directory(
    held: Sequence[rows.QuarantineRow],
) -> list[tuple[str, list[rows.QuarantineRow]]]:
    """``held`` by directory, in the order the directories first come."""
    return [
        (dir_id, [r for r in held if r.directory_id == dir_id])
        for dir_id in dict.fromkeys(r.directory_id for r in held)
    ]


async def approve_people(
    vault: Vault,
    keys: KeyRing,
    actor: Actor,
    factory: ConnectorFactory,
    held: Sequence[rows.QuarantineRow],
) -> list[Approved]:
    """Carry out the held provisioning actions, one apply per directory."""
    out: list[Approved] = []
    service = PeopleProvision(vault, keys, actor, factory=factory)
    for dir_id, mine in _by_directory(held):
        approved = {r.account_id: r.action for r in mine}
        report = await service.apply(mine[0].client_id, dir_id, ProvisionSelection(),
                                     approved=approved)  # fmt: skip
        by_person = {p.person_id: p for p in report.people}
        for row in mine:
            plan = by_person.get(row.account_id)
            if plan is None:
                out.append((row, False, f"no longer planned: {row.action} not done", None))
            elif plan.outcome in ("created", "updated", "removed"):
                done = ", ".join(plan.done) or plan.outcome
                out.append((row, True, f"{plan.outcome} {plan.username} ({done})", None))
            else:
                out.append((row, False, plan.reason or plan.outcome, None))
    return out


def _export_done(plan: ExportPlan, row: rows.QuarantineRow) -> tuple[bool, str]:
    """Whether the approved action of ``row`` was carried out by ``plan``'s apply."""
    if row.action == "delete":
        for duplicate in plan.duplicates:
            if duplicate.target.object_id == row.account_id:
                return duplicate.removed, "removed" if duplicate.removed else "not removed"
        return False, "no longer planned: delete not done"
    for line in plan.lines:
        if line.group.id != row.account_id:
            continue
        if line.error:
            return False, line.error
        if row.action == "create" and line.action == "create" and line.object_id:
            return True, f"created as {line.object_id}"
        if row.action == "remove_member" and any(c.object_id == row.observed for c in line.remove):
            return True, "member removed"
    return False, f"no longer planned: {row.action} not done"


async def approve_groups(
    vault: Vault,
    keys: KeyRing,
    actor: Actor,
    factory: ConnectorFactory,
    held: Sequence[rows.QuarantineRow],
) -> list[Approved]:
    """Carry out the held group export actions, one apply per directory."""
    out: list[Approved] = []
    service = ProvisionGroups(vault, keys, actor, factory=factory)
    for dir_id, mine in _by_directory(held):
        approved = {(r.account_id, r.action, r.observed) for r in mine}
        plan = await service.apply(mine[0].client_id, dir_id, approved=approved)
        for row in mine:
            ok, what = _export_done(plan, row)
            out.append((row, ok, what, None))
    return out
