"""Scenario 5: a lockout campaign. ACCOUNTS accounts of the test's own OU, in a group that a
fine-grained password policy (a PSO: lockout threshold 3, observation window and duration 10
minutes) applies to; the domain's own policy is left alone (the DC is shared), and the PSO
goes with the OU at the end. Their credentials are in report mode; RUNS full report runs (the
agent's way: one connector kept open between runs) read them while the directory drifts: every
RUNS // CHANGES runs each account's password is reset in the DC, out of band, to one the vault
does not know. A report run verifies timestamp-first: a new pwdLastSet is worth one bind with
the vault's password (it fails: that is the drift found), and a failed bind is never repeated
for the same pwdLastSet. So at most one failed bind per account per password change, and no
lockout, counted on the DC: ``badPwdCount`` after each stretch (the account unlocked by an
admin before it, which sets the count to 0) and ``lockoutTime``.

1,000 runs over 4 accounts, not 1,000 accounts: the question is whether repeated runs bind
again, which the number of runs asks and the number of accounts does not (and the DC is
shared); each account meets 10 password changes and 1,000 chances to bind."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from ldap3 import MODIFY_REPLACE

from credsync.types import SyncMode
from sync.helpers import SyncWorld

from .figures import Figure, record

# minutes each: scheduled first in parallel runs (tests/conftest.py, _longest_first)
pytestmark = pytest.mark.slow

ACCOUNTS = 4
RUNS = 1000
CHANGES = 10  # password changes of each account in the DC during the campaign


def test_a_thousand_report_runs_with_drift_lock_nobody_out(adw: SyncWorld) -> None:
    ad = adw.ad
    users = [ad.create_user() for _ in range(ACCOUNTS)]
    group = ad.admin.create_group(ad.dn)
    for user in users:
        ad.admin.add_member(group, user.dn)
    ad.admin.apply_lockout_policy(group, threshold=3, duration_s=600)
    for user in users:
        adw.add(user, mode=SyncMode.REPORT)
    first = adw.run(full=True)
    assert {i.status for i in first.items} == {"in_sync"}, [i.status for i in first.items]
    engine = adw.engine()
    failed_binds = {u.dn: [] for u in users}  # per account, per change
    locked: list[str] = []
    statuses: dict[str, int] = {}

    async def campaign() -> None:
        connector = engine.connect(adw.directory)
        try:
            for change in range(CHANGES):
                for user in users:
                    ad.admin.reset_password(user.dn, f"Drift-{change}-{uuid.uuid4().hex[:8]}-Q7!")
                    ad.admin.conn.modify(user.dn, {"lockoutTime": [(MODIFY_REPLACE, ["0"])]})
                    assert ad.admin.account_state(user.dn)["badPwdCount"] == 0
                for _ in range(RUNS // CHANGES):
                    report = await engine.run(
                        adw.directory, full=True, trigger="agent", connector=connector
                    )
                    for item in report.items:
                        statuses[item.status] = statuses.get(item.status, 0) + 1
                for user in users:
                    state = ad.admin.account_state(user.dn)
                    failed_binds[user.dn].append(state["badPwdCount"])
                    if state["lockoutTime"]:
                        locked.append(user.name)
        finally:
            await connector.close()

    asyncio.run(campaign())
    most = max(max(counts) for counts in failed_binds.values())
    total = sum(sum(counts) for counts in failed_binds.values())
    figure = Figure(
        "lockout campaign (1,000 report runs, threshold 3)",
        operations=RUNS,
        lost=0,
        duplicates=0,
        recover_seconds=None,
        detail=(
            f"{ACCOUNTS} accounts x {CHANGES} changes in the DC; failed binds {total} "
            f"(most per account per change: {most}); lockouts {len(locked)}"
        ),
        extra={"failed_binds": total, "lockouts": len(locked)},
    )
    record(figure)
    assert not locked, f"locked out: {locked}"
    assert most <= 1, failed_binds
    assert statuses.get("mismatch", 0) + statuses.get("changed_in_directory", 0) > 0, statuses
