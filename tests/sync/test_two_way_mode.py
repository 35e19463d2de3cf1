"""Two-way mode against the real Samba AD DC: the vault's changes are pushed, a password
changed in AD is left alone (flagged, waiting for its capture) until an operator pushes, the
newest change wins when both sides changed, and a new link whose AD password is the newer
is not pushed over."""

from __future__ import annotations

import asyncio

from credsync.sync.resolve import Resolver
from credsync.sync.views import queued_pushes
from credsync.types import SyncMode

from .helpers import SyncWorld
from .test_enforce_mode import binds


def _detail(report: object, cred_id: str) -> str:
    return next(i.detail for i in report.items if i.credential_id == cred_id)  # type: ignore[attr-defined]


def test_two_way_pushes_the_vault_and_leaves_a_directory_change_alone(sw_both: SyncWorld) -> None:
    sw = sw_both  # on SQLite and PostgreSQL
    user = sw.ad.create_user()
    cred = sw.add(user, mode=SyncMode.TWO_WAY)
    assert sw.items(sw.run())[cred.id] == ("in_sync", "verify")
    assert sw.flags() == {cred.id: "awaiting_confirmation"}  # as in enforce
    sw.confirm()

    # The vault changed: queued for the agent at once, and a run pushes it.
    sw.set_password(cred, "Two-Way-Vault-1!")
    assert [q.directory for q in queued_pushes(sw.vault.db, sw.admin, cred.id)] == [sw.directory]
    assert sw.items(sw.run())[cred.id] == ("in_sync", "push")
    assert binds(sw, user.dn, "Two-Way-Vault-1!")

    # Changed in AD: flagged, not pushed over, and no bind spent on it.
    sw.ad.admin.reset_password(user.dn, "Changed-In-AD-1!")
    report = sw.run()
    assert sw.items(report)[cred.id] == ("changed_in_directory", "flag")
    assert "waiting for its capture" in _detail(report, cred.id)
    assert report.summary["binds"] == 0
    assert report.summary["pushes"] == 0
    assert sw.flags() == {cred.id: "changed_in_directory"}
    quiet = sw.run()  # incremental: changed on neither side since, left as it was
    assert (sw.items(quiet), quiet.summary["unchanged"]) == ({}, 1)
    again = sw.run(full=True)  # as its flag says: counted, not listed
    assert sw.still_flagged(again, cred.id, "changed_in_directory")
    assert binds(sw, user.dn, "Changed-In-AD-1!")  # the account was left alone

    # An operator pushes the vault's instead: the flag closes, AD has the vault's.
    (flag,) = sw.vault.flags.list(sw.admin, sw.client)
    resolved = asyncio.run(Resolver(sw.vault, sw.engine(), sw.admin).push(flag.id))
    assert resolved.outcome == "pushed"
    assert binds(sw, user.dn, "Two-Way-Vault-1!")
    assert sw.in_step(sw.run(), cred.id)


def test_two_way_both_changed_the_vaults_newer_change_wins(sw: SyncWorld) -> None:
    user = sw.ad.create_user()
    cred = sw.add(user, mode=SyncMode.TWO_WAY)
    sw.run()
    sw.confirm()
    sw.ad.admin.reset_password(user.dn, "Older-In-AD-1!")
    sw.set_password(cred, "Newer-In-Vault-1!")
    report = sw.run()
    assert sw.items(report)[cred.id] == ("in_sync", "push")
    assert "both sides changed" in _detail(report, cred.id)
    assert binds(sw, user.dn, "Newer-In-Vault-1!")


def test_two_way_both_changed_the_directorys_newer_change_wins(sw: SyncWorld) -> None:
    user = sw.ad.create_user()
    cred = sw.add(user, mode=SyncMode.TWO_WAY)
    sw.run()
    sw.confirm()
    sw.set_password(cred, "Older-Vault-1!")
    sw.ad.admin.reset_password(user.dn, "Newer-In-AD-1!")
    report = sw.run()
    assert sw.items(report)[cred.id] == ("changed_in_directory", "flag")
    assert "the directory's is newer" in _detail(report, cred.id)
    assert binds(sw, user.dn, "Newer-In-AD-1!")


def test_a_new_link_whose_ad_password_is_newer_is_not_pushed_over(sw: SyncWorld) -> None:
    user = sw.ad.create_user()
    cred = sw.add(user, "Stored-Before-1!", mode=SyncMode.TWO_WAY)
    sw.ad.admin.reset_password(user.dn, "Set-Later-In-AD-1!")
    sw.link_confirmed(cred, sw.ad.admin.guid(user.dn))  # confirmed before any check
    first = sw.run()
    assert sw.items(first)[cred.id] == ("changed_in_directory", "verify")
    assert "waiting for its capture" in _detail(first, cred.id)
    assert first.summary["pushes"] == 0
    quiet = sw.run()  # incremental: changed on neither side since, left as it was
    assert (sw.items(quiet), quiet.summary["unchanged"]) == ({}, 1)
    second = sw.run(full=True)
    assert sw.items(second)[cred.id] == ("changed_in_directory", "flag")
    assert second.summary["binds"] == 0  # the failed bind is not repeated
    assert binds(sw, user.dn, "Set-Later-In-AD-1!")


def test_a_new_link_whose_vault_password_is_newer_is_pushed(sw: SyncWorld) -> None:
    user = sw.ad.create_user()
    cred = sw.add(user, "Stored-After-1!", mode=SyncMode.TWO_WAY)
    sw.link_confirmed(cred, sw.ad.admin.guid(user.dn))
    report = sw.run()
    assert sw.items(report)[cred.id] == ("in_sync", "push")
    assert binds(sw, user.dn, "Stored-After-1!")
