"""Quarantine against the real Samba AD DC (issue 18): an enforce run over the outbound
threshold stops and holds its pushes (approve carries them out, discard doesn't); a mass
disable, delete and password reset in AD is held, restored in one action (accounts enabled,
deleted ones back with their links, the vault's passwords pushed back: proved by binding),
or accepted; a dry run changes nothing in the directory."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from credsync.errors import NotFound, PermissionDenied
from credsync.sync.quarantine_restore import Quarantine
from credsync.testing.samba import TestUser
from credsync.types import SyncMode

from .helpers import SyncWorld, update_directory
from .test_enforce_mode import binds

UF_ACCOUNTDISABLE = 0x2


def service(sw: SyncWorld, actor: Any = None) -> Quarantine:
    return Quarantine(sw.vault, sw.keys, actor or sw.admin)


def enforced(sw: SyncWorld, count: int) -> list[tuple[TestUser, Any]]:
    """``count`` users with enforce credentials, linked and confirmed by a first run."""
    users = [sw.ad.create_user() for _ in range(count)]
    pairs = [(u, sw.add(u, mode=SyncMode.ENFORCE)) for u in users]
    sw.run()
    sw.confirm()
    assert sw.run().state == "done"
    return pairs


def disabled(sw: SyncWorld, user: TestUser) -> bool:
    return bool(sw.ad.admin.account_state(user.dn)["userAccountControl"] & UF_ACCOUNTDISABLE)


def test_an_enforce_run_over_the_outbound_threshold_holds_its_pushes(sw: SyncWorld) -> None:
    pairs = enforced(sw, 5)
    update_directory(sw.vault, sw.admin, sw.directory, options={"push_cap": 3})
    for user, cred in pairs:
        sw.set_password(cred, f"Held-{user.name[-6:]}-1!")
    planned = sw.run(dry_run=True)  # a dry run says so and holds nothing
    assert "would be quarantined by the outbound threshold" in planned.message
    assert service(sw).list(sw.directory) == []
    report = sw.run()
    assert report.state == "aborted"
    assert "quarantined by the outbound threshold: 5 pushes planned" in report.message
    assert "push_cap of 3" in report.message
    assert report.summary["quarantined"] == 5
    assert all(i.action == "skip" for i in report.items)
    held = service(sw).list(sw.directory)
    assert sorted(h["account_id"] for h in held) == sorted(u.guid for u, _ in pairs)
    assert {(h["direction"], h["action"], h["state"]) for h in held} == {
        ("outbound", "push", "held")
    }
    assert all(binds(sw, u.dn, u.password) for u, _ in pairs)  # nothing pushed

    # The next run does not hold them twice, nor push them.
    again = sw.run()
    assert len(service(sw).list(sw.directory)) == 5
    assert all(i.action == "skip" and "held in quarantine" in i.detail for i in again.items)

    by_account = {h["account_id"]: h["id"] for h in held}
    approved = [by_account[u.guid] for u, _ in pairs[:2]]
    done = asyncio.run(service(sw).approve(approved))
    assert done["totals"] == {"done": 2}
    assert len(done["run_ids"]) == 1
    run = sw.engine().report(done["run_ids"][0])
    assert run.trigger == "quarantine"
    assert {i.credential_id for i in run.items if i.action == "push"} == {
        c.id for _, c in pairs[:2]
    }
    for user, cred in pairs[:2]:
        assert binds(sw, user.dn, sw.reveal(cred))
    discarded = service(sw).discard([], sw.directory)
    assert discarded["totals"] == {"done": 3}
    assert service(sw).list(sw.directory) == []
    after = sw.run()  # discarded pushes are not planned again at that secret version
    assert after.state == "done"
    for user, cred in pairs[2:]:
        assert sw.items(after)[cred.id][1] == "skip"
        assert binds(sw, user.dn, user.password)
    states = {i["state"] for i in service(sw).list(sw.directory, include_decided=True)}
    assert states == {"approved", "discarded"}
    audit = sw.vault.audit.list(sw.admin, action="quarantine.approved")
    assert len(audit) == 2


def _mass_change(sw: SyncWorld, pairs: list[tuple[TestUser, Any]]) -> dict[str, TestUser]:
    """Three disabled, two deleted, one password reset outside the vault."""
    admin = sw.ad.admin
    for user, _ in pairs[:3]:
        admin.disable(user.dn)
    for user, _ in pairs[3:5]:
        admin.delete(user.dn)
    admin.reset_password(pairs[5][0].dn, "Reset-Outside-1!")
    return {"disabled": pairs[0][0], "deleted": pairs[3][0], "reset": pairs[5][0]}


def test_a_mass_change_in_ad_is_held_and_restored_in_one_action(sw: SyncWorld) -> None:
    pairs = enforced(sw, 8)
    update_directory(sw.vault, sw.admin, sw.directory,
                     options={"inbound_cap": 3, "inbound_cap_percent": 0})  # fmt: skip
    _mass_change(sw, pairs)
    report = sw.run(full=True)
    assert report.state == "done"
    assert "6 links held in quarantine" in report.message
    assert "quarantined by the inbound threshold: 6 linked accounts changed" in report.message
    changed = {c.id for _, c in pairs[:6]}
    assert all(sw.items(report)[cid] == ("skipped", "skip") for cid in changed)
    assert not changed & set(sw.flags())  # nothing opened that would lead to a push back
    assert binds(sw, pairs[5][0].dn, "Reset-Outside-1!")  # no enforce push back
    held = service(sw).list(sw.directory)
    assert sorted(h["action"] for h in held) == ["deleted"] * 2 + ["disabled"] * 3 + [
        "password_changed"
    ]
    assert sw.run().state == "done"
    assert len(service(sw).list(sw.directory)) == 6

    # The dry run lists the steps and changes nothing in the directory.
    dry = asyncio.run(service(sw).restore([], sw.directory, dry_run=True))
    steps = {line["account"]: line["steps"] for line in dry["items"]}
    assert dry["totals"] == {"would": 6}
    assert steps[pairs[0][0].name] == ["enable"]
    assert steps[pairs[3][0].name] == ["restore the deleted account",
                                       "push the vault's password", "enable"]  # fmt: skip
    assert steps[pairs[5][0].name] == ["push the vault's password"]
    assert all(disabled(sw, u) for u, _ in pairs[:3])
    assert all(not sw.ad.admin._exists(u.dn) for u, _ in pairs[3:5])
    assert binds(sw, pairs[5][0].dn, "Reset-Outside-1!")
    assert len(service(sw).list(sw.directory)) == 6

    done = asyncio.run(service(sw).restore([], sw.directory))
    assert done["totals"] == {"done": 6}, done
    for user, cred in pairs[:6]:
        assert not disabled(sw, user)
        assert sw.ad.admin.guid(user.dn) == user.guid  # the same object: the link holds
        assert binds(sw, user.dn, sw.reveal(cred))
    assert service(sw).list(sw.directory) == []
    after = sw.run(full=True)
    assert after.state == "done"
    assert all(sw.status_in(after, c.id) == "in_sync" for _, c in pairs), sw.items(after)
    assert service(sw).list(sw.directory) == []
    assert len(sw.vault.audit.list(sw.admin, action="quarantine.restored")) == 6


def test_accepting_a_mass_disable_lets_the_vault_follow(sw: SyncWorld) -> None:
    pairs = enforced(sw, 5)
    update_directory(sw.vault, sw.admin, sw.directory,
                     options={"inbound_cap": 2, "inbound_cap_percent": 0})  # fmt: skip
    for user, _ in pairs[:4]:
        sw.ad.admin.disable(user.dn)
    sw.run()
    assert len(service(sw).list(sw.directory)) == 4
    done = service(sw).accept([], sw.directory)
    assert done["totals"] == {"done": 4}
    report = sw.run()
    assert {sw.items(report)[c.id][0] for _, c in pairs[:4]} == {"account_disabled"}
    assert service(sw).list(sw.directory) == []
    assert all(disabled(sw, u) for u, _ in pairs[:4])


def test_changes_under_the_threshold_are_acted_on_as_usual(sw: SyncWorld) -> None:
    pairs = enforced(sw, 4)
    sw.ad.admin.disable(pairs[0][0].dn)
    report = sw.run()
    assert sw.items(report)[pairs[0][1].id][0] == "account_disabled"
    assert service(sw).list(sw.directory) == []


@pytest.mark.parametrize("role", ["viewer", "technician", "directory_manager"])
def test_who_may_not_decide_is_refused(sw: SyncWorld, role: str) -> None:
    pairs = enforced(sw, 3)
    update_directory(sw.vault, sw.admin, sw.directory, options={"push_cap": 1})
    for _, cred in pairs:
        sw.set_password(cred, "Refused-Change-1!")
    sw.run()
    held = service(sw).list(sw.directory)
    assert len(held) == 3
    who, refused = sw.refused_operator(role)
    quarantine = service(sw, who)
    with pytest.raises(refused):
        asyncio.run(quarantine.approve([held[0]["id"]]))
    with pytest.raises(refused):
        quarantine.discard([held[0]["id"]])
    with pytest.raises(refused):
        quarantine.accept([held[0]["id"]])
    with pytest.raises(refused):
        asyncio.run(quarantine.restore([held[0]["id"]], dry_run=True))
    if refused is NotFound:
        with pytest.raises(NotFound):
            quarantine.show(held[0]["id"])
        assert quarantine.list() == []
    else:
        assert quarantine.show(held[0]["id"])["id"] == held[0]["id"]
    assert {h["state"] for h in service(sw).list(sw.directory)} == {"held"}
    assert all(binds(sw, u.dn, u.password) for u, _ in pairs)
    assert refused in (NotFound, PermissionDenied)
