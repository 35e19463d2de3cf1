"""A mass password reset at the DC, captured, is held in quarantine by the directory's
inbound threshold, not taken into the vault (issue 18; :mod:`credsync.vault.capture_hold`):
the real Samba AD DC's accounts reset, their new passwords encrypted by the real gpg to the
directory's capture key, posted in a signed batch through the real ASGI app. Under the
threshold a capture is applied; past it, held (its batch still answers 200); accepting takes
the held password as the capture would have; restoring pushes the vault's password back to
the DC (proved by binding) and discards the captured one; a later run holds nothing twice."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import pytest

from credsync.errors import NotFound, PermissionDenied
from credsync.storage import capture as capture_rows
from credsync.storage import flags as flag_rows
from credsync.sync.quarantine_restore import Quarantine
from credsync.testing.samba import TestUser
from credsync.types import SyncMode
from credsync.vault._time import utcnow
from sync.helpers import update_directory
from sync.test_enforce_mode import binds

from .conftest import CaptureWorld
from .helpers import gpg_encrypt, password_event


@dataclass
class MassReset:
    users: list[TestUser]
    creds: list[Any]
    new: dict[str, str]  # user name -> the password the reset set at the DC
    answer: dict[str, Any]


def _versions(cw: CaptureWorld, cred: Any) -> list[int]:
    history = cw.sw.vault.credentials.history(cw.sw.admin, None, cred.id)
    return sorted(v.version for v in history)


def mass_reset(cw: CaptureWorld, count: int, cap: int) -> MassReset:
    """``count`` two-way credentials linked and confirmed, ``inbound_cap`` set to ``cap``;
    then every account's password reset at the DC and the captures posted in one batch."""
    sw = cw.sw
    users = [sw.ad.create_user() for _ in range(count)]
    creds = [sw.add(u, mode=SyncMode.TWO_WAY) for u in users]
    assert sw.run().state == "done"
    sw.confirm()
    update_directory(sw.vault, sw.admin, sw.directory,
                     options={"inbound_cap": cap, "inbound_cap_percent": 0})  # fmt: skip
    forwarder = cw.enroll()
    new: dict[str, str] = {}
    events = []
    for user in users:
        new[user.name] = f"Mass-Reset-{user.name[-5:]}-9!"
        sw.ad.admin.reset_password(user.dn, new[user.name])
        stamp = sw.ad.admin.account_state(user.dn)["pwdLastSet"]
        blob = gpg_encrypt(cw.public_key, cw.fingerprint, new[user.name])
        events.append(password_event(user.guid, stamp, blob, sam=user.name))
    answer = forwarder.post(events)
    assert answer.status_code == 200, answer.text
    return MassReset(users, creds, new, answer.json())


def held_items(cw: CaptureWorld) -> list[Any]:
    return Quarantine(cw.sw.vault, cw.sw.keys, cw.sw.admin).list(cw.sw.directory)


def test_captures_past_the_inbound_threshold_are_held_not_applied(cw_both: CaptureWorld) -> None:
    cw = cw_both
    sw = cw.sw
    reset = mass_reset(cw, 4, cap=2)
    outcomes = [r["outcome"] for r in reset.answer["results"]]
    assert outcomes == ["accepted", "accepted", "held", "held"], reset.answer
    assert "over this directory's inbound_cap of 2" in reset.answer["results"][2]["detail"]
    held = reset.users[2:]
    for user, cred in zip(reset.users[:2], reset.creds[:2], strict=True):
        assert sw.reveal(cred) == reset.new[user.name]  # under the threshold: applied
    for user, cred in zip(held, reset.creds[2:], strict=True):
        assert sw.reveal(cred) == user.password  # held: the vault's unchanged
        assert _versions(cw, cred) == [1]
    items = held_items(cw)
    assert sorted(i["account_id"] for i in items) == sorted(u.guid for u in held)
    assert {(i["direction"], i["action"], i["state"]) for i in items} == {
        ("inbound", "password_changed", "held")
    }
    assert {i["account"] for i in items} == {u.name for u in held}
    # the captured password is kept sealed, never in clear
    with sw.vault.db.read() as conn:
        for user, cred in zip(held, reset.creds[2:], strict=True):
            pending = capture_rows.pending_of(conn, cred.id, items[0]["directory_id"])
            assert pending is not None
            assert pending.flag_id is None
            assert reset.new[user.name].encode("utf-16-le") not in pending.ciphertext
            assert reset.new[user.name].encode() not in pending.ciphertext
    holds = sw.vault.audit.list(sw.admin, action="quarantine.hold")
    assert len(holds) == 1
    assert holds[0].details["count"] == 2
    assert holds[0].details["source"] == "capture"
    received = sw.vault.audit.list(sw.admin, action="capture.received")
    assert received[0].details["outcomes"] == {"accepted": 2, "held": 2}

    # A later run neither counts nor holds them again, and skips the held links.
    report = sw.run()
    assert "held in quarantine" not in (report.message or "")
    by_cred = sw.items(report)
    for cred in reset.creds[:2]:
        assert sw.status_in(report, cred.id) == "in_sync"
    for cred in reset.creds[2:]:
        assert by_cred[cred.id] == ("skipped", "skip")
    assert len(held_items(cw)) == 2
    assert len(sw.vault.audit.list(sw.admin, action="quarantine.hold")) == 1
    for user, cred in zip(held, reset.creds[2:], strict=True):
        assert sw.reveal(cred) == user.password


def test_accepting_a_held_capture_makes_it_the_new_version(cw_both: CaptureWorld) -> None:
    cw = cw_both
    sw = cw.sw
    reset = mass_reset(cw, 3, cap=1)
    assert [r["outcome"] for r in reset.answer["results"]] == ["accepted", "held", "held"]
    done = Quarantine(sw.vault, sw.keys, sw.admin).accept([], sw.directory)
    assert done["totals"] == {"done": 2}, done
    assert all("new version" in line["steps"][0] for line in done["items"])
    for user, cred in zip(reset.users[1:], reset.creds[1:], strict=True):
        assert sw.reveal(cred) == reset.new[user.name]
        newest = max(sw.vault.credentials.history(sw.admin, None, cred.id),
                     key=lambda v: v.version)  # fmt: skip
        assert newest.source == "directory"
        assert "held in quarantine, accepted by" in newest.reason
        assert binds(sw, user.dn, sw.reveal(cred))
    accepted = sw.vault.audit.list(sw.admin, action="quarantine.accepted")
    assert len(accepted) == 2
    report = sw.run()  # in step at the captured pwdLastSet: no bind, nothing held
    assert {sw.status_in(report, c.id) for c in reset.creds} == {"in_sync"}
    assert report.summary["binds"] == 0
    assert held_items(cw) == []


def test_restoring_a_held_capture_pushes_the_vaults_password_back(cw: CaptureWorld) -> None:
    sw = cw.sw
    reset = mass_reset(cw, 3, cap=1)
    quarantine = Quarantine(sw.vault, sw.keys, sw.admin)
    dry = asyncio.run(quarantine.restore([], sw.directory, dry_run=True))
    assert dry["totals"] == {"would": 2}, dry
    for item in dry["items"]:
        assert item["steps"] == ["push the vault's password"]
        assert "captured password held with it is discarded" in item["detail"]
    held = list(zip(reset.users[1:], reset.creds[1:], strict=True))
    for user, _ in held:  # the dry run changed nothing at the DC
        assert binds(sw, user.dn, reset.new[user.name])
    done = asyncio.run(quarantine.restore([], sw.directory))
    assert done["totals"] == {"done": 2}, done
    for user, cred in held:
        assert sw.reveal(cred) == user.password
        assert binds(sw, user.dn, user.password)
        assert not binds(sw, user.dn, reset.new[user.name])
        assert _versions(cw, cred) == [1]
    with sw.vault.db.read() as conn:
        directory_id = quarantine.list(sw.directory, include_decided=True)[0]["directory_id"]
        assert all(capture_rows.pending_of(conn, c.id, directory_id) is None for _, c in held)
    assert len(sw.vault.audit.list(sw.admin, action="quarantine.restored")) == 2


def test_a_flag_accept_does_not_take_a_held_capture(cw: CaptureWorld) -> None:
    """The held password waits for the quarantine's decision: accepting a flag of the same
    credential (e.g. one a run raised) does not make it current around the quarantine."""
    sw = cw.sw
    reset = mass_reset(cw, 2, cap=1)
    cred = reset.creds[1]
    with sw.vault.db.write() as conn:
        directory_id = held_items(cw)[0]["directory_id"]
        flag_id = flag_rows.raise_flag(
            conn, client_id=cred.client_id, credential_id=cred.id, directory_id=directory_id,
            account_id=reset.users[1].guid, status="changed_in_directory", detail="test",
            now=utcnow(),
        )  # fmt: skip
    answer = cw.http.post("/api/v1/flags/accept", json={"flags": [flag_id]})
    assert answer.status_code in (200, 207), answer.text
    [result] = answer.json()["results"]
    assert result["outcome"] == "refused"
    assert sw.reveal(cred) == reset.users[1].password


@pytest.mark.parametrize("role", ["viewer", "technician", "directory_manager"])
def test_who_may_not_decide_a_held_capture_is_refused(cw: CaptureWorld, role: str) -> None:
    sw = cw.sw
    reset = mass_reset(cw, 2, cap=1)
    [item] = held_items(cw)
    who, refused = sw.refused_operator(role)
    quarantine = Quarantine(sw.vault, sw.keys, who)
    with pytest.raises(refused):
        quarantine.accept([item["id"]])
    with pytest.raises(refused):
        asyncio.run(quarantine.restore([item["id"]], dry_run=True))
    assert refused in (NotFound, PermissionDenied)
    assert sw.reveal(reset.creds[1]) == reset.users[1].password
    assert binds(sw, reset.users[1].dn, reset.new[reset.users[1].name])
    assert [i["state"] for i in held_items(cw)] == ["held"]
