"""Auto-create through the real capture endpoint, on the real Samba AD DC: a captured
password of an in-scope account with no credential makes one holding it (once, however often
it is delivered); an account out of scope stays ``unlinked``; a shell made by a first_seen run
gets its first password from the capture."""

from __future__ import annotations

from credsync.types import SyncMode

from .conftest import CaptureWorld
from .helpers import gpg_encrypt, password_event


def _capture(cw: CaptureWorld, forwarder, user, password: str) -> dict:  # type: ignore[no-untyped-def]
    cw.sw.ad.admin.reset_password(user.dn, password)
    stamp = cw.sw.ad.admin.account_state(user.dn)["pwdLastSet"]
    blob = gpg_encrypt(cw.public_key, cw.fingerprint, password)
    answer = forwarder.post([password_event(user.guid, stamp, blob)])
    assert answer.status_code == 200, answer.text
    [result] = answer.json()["results"]
    return result


def test_a_capture_of_an_unlinked_in_scope_account_makes_its_credential(cw: CaptureWorld) -> None:
    sw = cw.sw
    group = sw.ad.admin.create_group(sw.ad.dn)
    inner = sw.ad.admin.create_group(sw.ad.dn)
    sw.ad.admin.add_member(group, inner)
    member = sw.ad.create_user(display_name="Carol Member")
    stranger = sw.ad.create_user()
    sw.ad.admin.add_member(inner, member.dn)
    sw.vault.auto_create.update(
        sw.admin, sw.directory, {"enabled": True, "groups": [group], "sync_mode": "two_way"}
    )
    forwarder = cw.enroll()

    made = _capture(cw, forwarder, member, "Captured-Pa55-1!")
    assert made["outcome"] == "accepted", made
    assert "made by auto-create" in made["detail"]
    [cred] = [
        c for c in sw.vault.credentials.list(sw.admin, sw.client).items if c.username == member.name
    ]
    assert cred.title == f"Carol Member ({member.name})"
    assert cred.sync_mode == SyncMode.TWO_WAY
    assert sw.reveal(cred) == "Captured-Pa55-1!"
    [first] = sw.vault.credentials.history(sw.admin, None, cred.id)
    assert (first.source, first.created_by) == ("directory", "forwarder dc1")

    # The same account's next change is an ordinary two-way capture: no second credential.
    again = _capture(cw, forwarder, member, "Captured-Pa55-2!")
    assert again["outcome"] == "accepted", again
    assert sw.reveal(cred) == "Captured-Pa55-2!"
    same = [
        c for c in sw.vault.credentials.list(sw.admin, sw.client).items if c.username == member.name
    ]
    assert [c.id for c in same] == [cred.id]

    outside = _capture(cw, forwarder, stranger, "Captured-Pa55-3!")
    assert outside["outcome"] == "unlinked", outside
    assert not [
        c
        for c in sw.vault.credentials.list(sw.admin, sw.client).items
        if c.username == stranger.name
    ]

    report = sw.run()
    assert sw.status_in(report, cred.id) == "in_sync"
    assert report.summary["binds"] == 0


def test_a_shell_gets_its_first_password_from_a_capture(cw: CaptureWorld) -> None:
    sw = cw.sw
    user = sw.ad.create_user()
    sw.vault.auto_create.update(
        sw.admin, sw.directory, {"enabled": True, "trigger": "first_seen", "sync_mode": "two_way"}
    )
    sw.run()
    [shell] = [
        c for c in sw.vault.credentials.list(sw.admin, sw.client).items if c.username == user.name
    ]
    assert (shell.sync_mode, shell.password_unknown_in) == (SyncMode.REPORT, (sw.directory,))
    forwarder = cw.enroll()

    filled = _capture(cw, forwarder, user, "First-Real-Pa55!")
    assert filled["outcome"] == "accepted", filled
    assert "first password" in filled["detail"]
    cred = sw.vault.credentials.get(sw.admin, shell.id)
    assert sw.reveal(cred) == "First-Real-Pa55!"
    assert cred.sync_mode == SyncMode.TWO_WAY  # the settings' mode, now that it holds one
    assert cred.password_unknown_in == ()
    assert sw.flags() == {}
    report = sw.run()
    assert sw.status_in(report, cred.id) == "in_sync"
    assert report.summary["binds"] == 0


def test_a_capture_that_names_a_disabled_account_makes_nothing(cw: CaptureWorld) -> None:
    sw = cw.sw
    user = sw.ad.create_user()
    sw.vault.auto_create.update(sw.admin, sw.directory, {"enabled": True})
    forwarder = cw.enroll()
    stamp = sw.ad.admin.account_state(user.dn)["pwdLastSet"]
    blob = gpg_encrypt(cw.public_key, cw.fingerprint, user.password)
    event = password_event(user.guid, stamp, blob, sam=user.name, uac=514)  # disabled
    answer = forwarder.post([event])
    assert answer.status_code == 200, answer.text
    assert answer.json()["results"][0]["outcome"] == "unlinked"
    event = password_event(user.guid, stamp + 1, blob, sam=user.name, uac=512)
    assert forwarder.post([event]).json()["results"][0]["outcome"] == "accepted"
