"""A capture for a link held in quarantine by a mass change (issue 18) is not applied, on the
real Samba AD DC: a mass reset is held by the run, the reset's capture of a two-way
credential arrives and is ignored (the vault keeps its password), and the restore pushes the
vault's password back."""

from __future__ import annotations

import asyncio

from credsync.sync.quarantine_restore import Quarantine
from credsync.types import SyncMode
from sync.helpers import update_directory
from sync.test_enforce_mode import binds

from .conftest import CaptureWorld
from .helpers import gpg_encrypt, password_event


def test_a_capture_of_a_held_link_is_ignored(cw: CaptureWorld) -> None:
    sw = cw.sw
    users = [sw.ad.create_user() for _ in range(4)]
    creds = [sw.add(u, mode=SyncMode.TWO_WAY) for u in users]
    assert sw.run().state == "done"
    sw.confirm()
    update_directory(sw.vault, sw.admin, sw.directory,
                     options={"inbound_cap": 2, "inbound_cap_percent": 0})  # fmt: skip
    forwarder = cw.enroll()
    for user in users:
        sw.ad.admin.reset_password(user.dn, f"Mass-Reset-{user.name[-5:]}-1!")
    report = sw.run()
    assert "4 links held in quarantine" in report.message
    stamp = sw.ad.admin.account_state(users[0].dn)["pwdLastSet"]
    secret = gpg_encrypt(cw.public_key, cw.fingerprint, f"Mass-Reset-{users[0].name[-5:]}-1!")
    answer = forwarder.post([password_event(users[0].guid, stamp, secret)])
    assert answer.status_code == 200, answer.text
    [result] = answer.json()["results"]
    assert result["outcome"] == "ignored"
    assert "held in quarantine" in result["detail"]
    assert sw.reveal(creds[0]) == users[0].password  # the vault kept its own

    done = asyncio.run(Quarantine(sw.vault, sw.keys, sw.admin).restore([], sw.directory))
    assert done["totals"] == {"done": 4}, done
    for user, cred in zip(users, creds, strict=True):
        assert binds(sw, user.dn, sw.reveal(cred))
