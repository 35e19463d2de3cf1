"""The change threshold over a provisioning run (issue 18; the thresholds are
:mod:`credsync.sync.quarantine`'s): the actions that take something away or add accounts in
bulk are counted, and a run planning more of them than the directory's ``change_cap`` (or
``change_cap_percent`` of the people it plans for) stops before it writes anything.

Counted (:func:`risky`), one per person: **create** (a new user), **disable** (an existing
user disabled because the person is), **delete** (the user provisioning made for a person in
the trash or purged). Not counted: updates of attributes, usage location, licences, the
vault's own password and enabling a user: they take nothing away, and a second apply
writes them again anyway.

Over the threshold each counted action is held (direction ``people``, one row per person:
``account_id`` is the person's id, ``observed`` the user's object id or ``new``) and every
line of the run is skipped with the reason: no user is created, changed, linked or removed.
A later run skips a held action (and only it: the rest of that person's plan waits with it)
and does not hold it twice. In a plan (``dry_run``) the reason is a note on each line that
would be held.

An approval (:meth:`credsync.sync.provision_people.PeopleProvision.apply` given the approved
actions) plans again from fresh reads and carries out only the plans of the approved people
whose counted action is still the approved one: the threshold does not count them again.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from credsync.storage import quarantine as rows
from credsync.sync.provision_people_report import PersonPlan, ProvisionReport
from credsync.sync.quarantine import Holding, Limits, change_reason, store_held
from credsync.types import new_id
from credsync.vault.auth import Actor
from credsync.vault.directories import Directory
from credsync.vault.service import Vault

__all__ = ["PEOPLE", "risky", "screen_people"]

PEOPLE = rows.PEOPLE


def risky(plan: PersonPlan) -> str | None:
    """The action of ``plan`` the change threshold counts, or None."""
    if plan.outcome in ("refused", "skipped"):
        return None
    if plan.remove:
        return "delete"
    if plan.create:
        return "create"
    if plan.fields.get("enabled") is False:
        return "disable"
    return None


def _skip(plan: PersonPlan, why: str) -> None:
    plan.outcome, plan.reason = "skipped", why


def screen_people(
    vault: Vault,
    actor: Actor,
    directory: Directory,
    report: ProvisionReport,
    *,
    approved: Mapping[str, str] | None = None,
    dry_run: bool = False,
    at: dt.datetime,
) -> str | None:
    """The threshold over ``report``'s plans (changed in place); the reason when it stopped
    the run (None: the plans go ahead, but for the actions held before). ``approved``:
    person id -> the approved action (an approval: only those plans stay)."""
    if approved is not None:
        report.people = [
            p
            for p in report.people
            if risky(p) is not None and approved.get(p.person_id) == risky(p)
        ]
        return None
    with vault.db.read() as conn:
        held = {
            (r.account_id, r.action): r
            for r in rows.listed(conn, None, directory_id=directory.id)
            if r.direction == PEOPLE
        }
    fresh: list[tuple[PersonPlan, str]] = []
    for plan in report.people:
        action = risky(plan)
        if action is None:
            continue
        row = held.get((plan.person_id, action))
        if row is not None:
            _skip(plan, f"{action} held in quarantine ({row.id[:8]}): {row.reason}")
        else:
            fresh.append((plan, action))
    what = "creates, disables and deletes of users planned"
    figures = Limits.changes(directory).crossed(len(fresh), len(report.people), what,
                                                "change_cap")  # fmt: skip
    if figures is None:
        return None
    reason = change_reason(figures, dry_run=dry_run)
    if dry_run:
        for plan, _action in fresh:
            plan.notes.append(reason)
        return reason
    holding = [
        Holding(None, plan.person_id, plan.username or plan.name, action, plan.object_id or "new")
        for plan, action in fresh
    ]
    store_held(vault.db, vault.audit, actor, directory, new_id(), PEOPLE, holding, reason, at=at)
    for plan in report.people:
        if plan.writes or plan.link:
            _skip(plan, reason)
    return reason
