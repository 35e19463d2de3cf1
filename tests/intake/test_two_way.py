"""Two-way mode end to end: a password changed in the real Samba AD DC, encrypted by the real
gpg to the directory's capture key, posted with a real signature through the real ASGI app,
becomes the credential's new version; the next run sees it in step with no bind. On SQLite
and PostgreSQL."""

from __future__ import annotations

from credsync.types import SyncMode

from .conftest import CaptureWorld
from .helpers import gpg_encrypt, password_event


def test_an_admin_reset_captured_becomes_the_new_version(cw_both: CaptureWorld) -> None:
    cw = cw_both
    sw = cw.sw
    user = sw.ad.create_user()
    cred = sw.add(user, mode=SyncMode.TWO_WAY)
    assert sw.run().state == "done"
    # Two-way pushes, so its new link waits for an operator's confirmation as enforce's does.
    sw.confirm()
    forwarder = cw.enroll()

    new_password = "Reset-by-Admin-7!"
    sw.ad.admin.reset_password(user.dn, new_password)
    stamp = sw.ad.admin.account_state(user.dn)["pwdLastSet"]
    blob = gpg_encrypt(cw.public_key, cw.fingerprint, new_password)
    answer = forwarder.post([password_event(user.guid, stamp, blob)])

    assert answer.status_code == 200, answer.text
    [result] = answer.json()["results"]
    assert result["outcome"] == "accepted", result
    assert answer.json()["seq"] == 1
    assert sw.reveal(cred) == new_password
    history = sw.vault.credentials.history(sw.admin, None, cred.id)
    newest = max(history, key=lambda v: v.version)
    assert newest.source == "directory"
    assert "changed in Active Directory by a user or admin" in newest.reason
    assert newest.created_by == "forwarder dc1"
    report = sw.run()
    assert sw.status_in(report, cred.id) == "in_sync"
    assert report.summary["binds"] == 0
    assert sw.flags() == {}
    # the same event in a new batch (a forwarder that lost the answer): a duplicate
    again = forwarder.post([password_event(user.guid, stamp, blob)])
    assert [r["outcome"] for r in again.json()["results"]] == ["duplicate"]
    received = sw.vault.audit.list(sw.admin, action="capture.received")
    assert [e.details["outcomes"] for e in received] == [{"duplicate": 1}, {"accepted": 1}]
