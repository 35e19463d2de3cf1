"""What an incremental run looks at (credsync.sync.incremental): the credentials the
directory's changes name and those changed on the vault's side since the previous whole run;
the others keep their last check, and the run's summary counts them."""

from __future__ import annotations

from typing import Any

from credsync.storage import link_reads
from credsync.types import SyncMode

from .entra import EntraWorld, strong
from .helpers import SyncWorld, update_directory


def _checked_at(world: SyncWorld) -> dict[str, Any]:
    """Credential id -> when its link was last checked."""
    with world.vault.db.read() as conn:
        return {r.credential_id: r.checked_at for r in link_reads.checks(conn, list(world.links()))}


def test_an_entra_delta_run_plans_only_the_changed_users(ew: EntraWorld) -> None:
    users = [ew.add_user() for _ in range(6)]
    creds = [ew.add(u) for u in users]
    assert ew.run().kind == "full"
    before = _checked_at(ew)
    ew.later()
    for user in users[:2]:
        ew.tenant.set_password(user.id, strong())
    report = ew.run()
    assert report.kind == "incremental"
    assert ew.items(report) == {c.id: ("changed_in_directory", "flag") for c in creds[:2]}
    assert (report.summary["unchanged"], report.summary["unchanged_unlinked"]) == (4, 0)
    assert report.unchanged_text is not None
    assert report.unchanged_text.startswith("4 linked credentials, unchanged on both sides")
    # The others keep their status and their check's time.
    statuses = ew.links()
    assert {c.id: statuses[c.id] for c in creds[2:]} == {c.id: "in_sync" for c in creds[2:]}
    after = _checked_at(ew)
    assert {c.id: after[c.id] for c in creds[2:]} == {c.id: before[c.id] for c in creds[2:]}
    assert ew.flags() == {c.id: "changed_in_directory" for c in creds[:2]}
    # A full pass still looks at every one: the two changed found as their flags say, the
    # four in step as before, all counted, none listed (issue 20's compaction).
    full = ew.run(full=True)
    assert (len(full.items), full.summary["in_sync_unchanged"], full.count("in_sync")) == (0, 4, 4)
    assert (full.summary["flagged_unchanged"], full.count("changed_in_directory")) == (2, 2)
    assert ew.in_step(full, *(c.id for c in creds[2:]))
    assert all(ew.still_flagged(full, c.id, "changed_in_directory") for c in creds[:2])


def test_an_ad_dirsync_run_plans_only_the_changed_accounts(sw: SyncWorld) -> None:
    users = [sw.ad.create_user() for _ in range(4)]
    creds = [sw.add(u) for u in users]
    first = sw.run()
    assert (first.kind, first.summary["binds"]) == ("full", 4)
    sw.ad.admin.reset_password(users[0].dn, "Changed-By-Helpdesk-1!")
    report = sw.run()
    assert report.kind == "incremental"
    assert sw.items(report) == {creds[0].id: ("changed_in_directory", "verify")}
    assert report.summary["unchanged"] == 3
    assert report.summary["binds"] == 1
    statuses = sw.links()
    assert {c.id: statuses[c.id] for c in creds[1:]} == {c.id: "in_sync" for c in creds[1:]}


def test_a_new_credential_is_picked_up_by_the_next_incremental_run(ew: EntraWorld) -> None:
    users = [ew.add_user() for _ in range(3)]
    ew.add(users[0])
    ew.run()
    added = ew.add(users[1])  # its account did not change: the vault's side did
    report = ew.run()
    assert report.kind == "incremental"
    assert ew.items(report) == {added.id: ("in_sync", "confirm")}
    assert report.summary["unchanged"] == 1


def test_a_changed_password_is_picked_up_by_the_next_incremental_run(ew_both: EntraWorld) -> None:
    ew = ew_both
    users = [ew.add_user() for _ in range(3)]
    creds = [ew.add(u) for u in users]
    ew.run()
    ew.set_password(creds[1], strong())
    report = ew.run()
    assert report.kind == "incremental"
    assert ew.items(report) == {creds[1].id: ("mismatch", "flag")}
    assert report.summary["unchanged"] == 2


def test_a_confirmed_link_is_picked_up_by_the_next_incremental_run(ew: EntraWorld) -> None:
    users = [ew.add_user() for _ in range(2)]
    waiting = ew.add(users[0], mode=SyncMode.ENFORCE)
    ew.add(users[1])
    assert ew.items(ew.run())[waiting.id] == ("awaiting_confirmation", "flag")
    ew.set_password(waiting, "Pushed-After-Confirmation-1!")
    ew.run(full=True)  # still awaiting: nothing pushed
    ew.confirm()  # the link edited by an operator: the vault's side
    report = ew.run()
    assert report.kind == "incremental"
    assert ew.items(report) == {waiting.id: ("in_sync", "push")}
    assert ew.tenant.check_password(users[0].id, "Pushed-After-Confirmation-1!")


def test_a_changed_directory_setting_gets_the_whole_pass(ew: EntraWorld) -> None:
    creds = [ew.add(ew.add_user()) for _ in range(3)]
    ew.run()
    update_directory(ew.vault, ew.admin, ew.directory, options={"never_expires": 1})
    report = ew.run()
    assert report.kind == "incremental"
    # Every credential checked again: found in step as before, counted, not listed.
    assert ew.in_step(report, *(c.id for c in creds))
    assert report.summary["in_sync_unchanged"] == 3
    assert "unchanged" not in report.summary
    assert report.unchanged_text is None


def test_an_unlinked_credential_is_planned_when_its_account_appears(ew: EntraWorld) -> None:
    ew.add(ew.add_user())
    upn = f"late.comer@{ew.tenant.domain}"
    waiting = ew.add(None, username=upn, password=strong())
    assert ew.items(ew.run())[waiting.id] == ("unmatched", "flag")
    quiet = ew.run()
    assert (ew.items(quiet), quiet.summary["unchanged_unlinked"]) == ({}, 1)
    assert ew.flags() == {waiting.id: "unmatched"}  # its flag stays open meanwhile
    ew.later()
    ew.add_user(upn=upn)
    report = ew.run()
    assert report.kind == "incremental"
    assert ew.items(report)[waiting.id][0] not in ("unmatched", "ambiguous", "conflict")
    assert waiting.id in ew.links()
