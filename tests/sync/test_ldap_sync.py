"""Report and enforce over plain LDAP, against the session's real slapd (ppolicy on): the same
engine, planner and safety as Active Directory, through the ``ldap`` kind's descriptor.

Lockout safety holds because the stamp is ppolicy's pwdChangedTime: unchanged on both sides
means in step with no bind, and a failed bind is never repeated for the same stamp."""

from __future__ import annotations

import pytest

from credsync.types import SyncMode

from .helpers import SyncWorld, update_directory

pytestmark = pytest.mark.slapd

RESULT_SUCCESS, INVALID_CREDENTIALS = 0, 49


def binds(lw: SyncWorld, dn: str, password: str) -> bool:
    """Whether ``password`` works for ``dn`` on the real server (one simple bind)."""
    return lw.ad.admin.bind_answer(dn, password)[0] == RESULT_SUCCESS


def failures(lw: SyncWorld, dn: str) -> int:
    return len(lw.ad.admin.state(dn).get("pwdFailureTime", []))


def test_report_mode_checks_once_then_by_timestamp(lw_both: SyncWorld) -> None:
    lw = lw_both
    right, wrong = lw.ad.create_user(), lw.ad.create_user()
    ok = lw.add(right)
    bad = lw.add(wrong, "Not-The-Passw0rd-1!")
    first = lw.items(lw.run())
    assert first[ok.id] == ("in_sync", "verify")
    assert first[bad.id] == ("mismatch", "verify")
    assert lw.flags() == {bad.id: "mismatch"}
    assert failures(lw, wrong.dn) == 1
    # Nothing changed on either side: an incremental run leaves both as they were, and a
    # full pass binds for neither (the failed bind is not repeated).
    quiet = lw.run()
    assert ok.id not in lw.items(quiet)
    assert quiet.summary["unchanged"] == 1 + (bad.id not in lw.items(quiet))
    # (The failed bind touched the entry, pwdFailureTime: the changes may name it; no bind.)
    assert lw.items(quiet).get(bad.id, ("mismatch", "flag")) == ("mismatch", "flag")
    assert failures(lw, wrong.dn) == 1
    full = lw.run(full=True)
    assert lw.in_step(full, ok.id)  # in step as before: counted, not listed
    assert lw.still_flagged(full, bad.id, "mismatch")  # as its flag says: counted, not listed
    assert failures(lw, wrong.dn) == 1
    # A change made in the directory moves pwdChangedTime: one bind tells what it is now.
    lw.ad.admin.reset_password(right.dn, "Changed-In-Ldap-1!")
    after = lw.items(lw.run())
    assert after[ok.id] == ("changed_in_directory", "verify")
    assert lw.flags()[ok.id] == "changed_in_directory"


def test_enforce_pushes_and_the_password_works(lw: SyncWorld) -> None:
    user = lw.ad.create_user()
    cred = lw.add(user, "Vault-Wins-Passw0rd-1!", mode=SyncMode.ENFORCE)
    first = lw.run()  # a new link: checked, nothing pushed until it is confirmed
    assert lw.items(first)[cred.id] == ("mismatch", "verify")
    assert binds(lw, user.dn, user.password)
    lw.confirm()
    report = lw.run()
    assert lw.items(report)[cred.id] == ("in_sync", "push")
    assert binds(lw, user.dn, "Vault-Wins-Passw0rd-1!")
    assert not binds(lw, user.dn, user.password)
    lw.set_password(cred, "Second-Vault-Passw0rd-2!")
    assert lw.items(lw.run())[cred.id] == ("in_sync", "push")
    assert binds(lw, user.dn, "Second-Vault-Passw0rd-2!")
    assert lw.in_step(lw.run(), cred.id)
    pushed = lw.vault.audit.list(lw.admin, action="credential.pushed", target_id=cred.id)
    assert len(pushed) == 2


def test_a_refused_push_keeps_the_password_the_server_has(lw: SyncWorld) -> None:
    user = lw.ad.create_user()
    cred = lw.add(user, mode=SyncMode.ENFORCE)
    assert lw.items(lw.run())[cred.id] == ("in_sync", "verify")
    lw.confirm()
    lw.set_password(cred, "abc")  # ppolicy's quality check: too short
    report = lw.run()
    status, action = lw.items(report)[cred.id]
    assert (status, action) == ("policy_rejected", "push")
    [item] = [i for i in report.items if i.credential_id == cred.id]
    assert "Password fails quality checking policy" in item.detail  # the server's words
    assert lw.reveal(cred) == user.password  # back to what the server still has
    assert binds(lw, user.dn, user.password)


def test_disabled_and_locked_accounts_are_flagged_without_a_bind(lw: SyncWorld) -> None:
    off, locked = lw.ad.create_user(), lw.ad.create_user()
    a, b = lw.add(off), lw.add(locked)
    lw.run()
    lw.ad.admin.disable(off.dn)
    lw.ad.admin.lock_out(locked.dn)
    before = failures(lw, locked.dn)
    items = lw.items(lw.run(full=True))
    assert items[a.id] == ("account_disabled", "flag")
    assert items[b.id] == ("locked_out", "flag")
    assert failures(lw, locked.dn) == before  # no bind spent on a locked account


def test_settings_change_what_is_in_scope(lw: SyncWorld) -> None:
    user = lw.ad.create_user(display_name="Ann Example")
    cred = lw.add(user, username="Ann Example")
    assert lw.items(lw.run())[cred.id][0] == "unmatched"  # linked by uid by default
    update_directory(lw.vault, lw.admin, lw.directory, naming_attribute="cn")
    assert lw.items(lw.run(full=True))[cred.id] == ("in_sync", "verify")
    changed = update_directory(lw.vault, lw.admin, lw.directory, user_filter="(uid=nobody)")
    assert changed.cursor is None  # another filter: a full pass next
    assert changed.setting("user_filter") == "(uid=nobody)"
