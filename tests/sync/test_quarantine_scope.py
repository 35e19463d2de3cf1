"""Quarantine against the real Samba AD DC (issue 18): accounts moved out of the directory's
base DN are not counted as deleted by the inbound threshold (``out_of_scope``, told apart
by a domain-wide search by objectGUID), held under the same threshold; restoring them does
nothing in the directory (they are moved back there), accepting releases them. The
threshold here is the vault-wide one (``credsync quarantine defaults``)."""

from __future__ import annotations

import asyncio

from credsync.sync.quarantine_restore import MOVED_OUT

from .helpers import SyncWorld, update_directory
from .test_enforce_mode import binds
from .test_quarantine import disabled, enforced, service


def test_accounts_moved_out_of_scope_are_held_apart_from_deleted_ones(sw: SyncWorld) -> None:
    pairs = enforced(sw, 13)
    sw.vault.quarantine_defaults.set(sw.admin, {"inbound_cap": 3, "inbound_cap_percent": 0})
    elsewhere = sw.ad.admin.new_ou("moved")
    try:
        moved, deleted = pairs[:6], pairs[6:12]
        for user, _ in moved:
            sw.ad.admin.move(user.dn, elsewhere)
        for user, _ in deleted:
            sw.ad.admin.delete(user.dn)
        report = sw.run()
        assert report.state == "done"
        assert "12 links held in quarantine" in report.message, report.message
        assert (
            "12 linked accounts changed in the directory (6 deleted, 6 out of scope), over "
            "the vault-wide inbound_cap of 3"
        ) in report.message
        assert all(sw.items(report)[c.id] == ("skipped", "skip") for _, c in pairs[:12])
        # The others changed on neither side: not re-checked, their links in step.
        assert pairs[12][1].id not in sw.items(report)
        assert report.summary["unchanged"] == len(pairs) - 12
        assert sw.links()[pairs[12][1].id] == "in_sync"
        held = service(sw).list(sw.directory)
        by_action = {h["account_id"]: h["action"] for h in held}
        assert by_action == {u.guid: "out_of_scope" for u, _ in moved} | {
            u.guid: "deleted" for u, _ in deleted
        }
        again = sw.run(full=True)  # counted once: nothing new held, both kinds still skipped
        assert "held in quarantine" not in again.message
        assert len(service(sw).list(sw.directory)) == 12

        dry = asyncio.run(service(sw).restore([], sw.directory, dry_run=True))
        assert dry["totals"] == {"would": 6, "skipped": 6}
        lines = {line["account"]: line for line in dry["items"]}
        for user, _ in moved:
            assert lines[user.name]["steps"] == []
            assert lines[user.name]["detail"] == MOVED_OUT
        for user, _ in deleted:
            assert lines[user.name]["steps"][0] == "restore the deleted account"

        done = asyncio.run(service(sw).restore([], sw.directory))
        assert done["totals"] == {"done": 6, "skipped": 6}, done
        for user, cred in deleted:
            assert not disabled(sw, user)
            assert binds(sw, user.dn, sw.reveal(cred))
        still = service(sw).list(sw.directory)
        assert sorted(h["account_id"] for h in still) == sorted(u.guid for u, _ in moved)
        assert {h["action"] for h in still} == {"out_of_scope"}

        accepted = service(sw).accept([], sw.directory)
        assert accepted["totals"] == {"done": 6}
        assert service(sw).list(sw.directory) == []
        after = sw.run(full=True)  # accepted: the vault follows (the link's account missing)
        assert {sw.items(after)[c.id][0] for _, c in moved} == {"account_missing"}
        assert {sw.status_in(after, c.id) for _, c in deleted} == {"in_sync"}
        assert service(sw).list(sw.directory) == []
    finally:
        sw.ad.admin.delete_tree(elsewhere)


def test_a_directorys_own_option_overrides_the_vault_wide_threshold(sw: SyncWorld) -> None:
    pairs = enforced(sw, 4)
    sw.vault.quarantine_defaults.set(sw.admin, {"inbound_cap": 1, "inbound_cap_percent": 0})
    update_directory(sw.vault, sw.admin, sw.directory, options={"inbound_cap": 5})
    for user, _ in pairs[:3]:
        sw.ad.admin.disable(user.dn)
    report = sw.run()
    assert "held in quarantine" not in report.message  # 3 under the directory's own 5
    assert {sw.items(report)[c.id][0] for _, c in pairs[:3]} == {"account_disabled"}
    assert service(sw).list(sw.directory) == []
