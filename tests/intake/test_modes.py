"""What a capture does, by the credential's effective mode, against the real Samba AD DC:
two-way (a user's own change, echo suppression, conflicts, duplicates, out-of-order
deliveries), report (a pending capture an operator accepts), enforce (a drift, its push
queued) and off."""

from __future__ import annotations

from typing import Any

from credsync.storage import push_queue
from credsync.types import SyncMode

from .conftest import CaptureWorld
from .helpers import gpg_encrypt, password_event


def _linked(cw: CaptureWorld, mode: SyncMode) -> tuple[Any, Any]:
    user = cw.sw.ad.create_user()
    cred = cw.sw.add(user, mode=mode)
    assert cw.sw.run().state == "done"
    return user, cred


def _capture(cw: CaptureWorld, user: Any, password: str, *, old: str | None = None) -> int:
    """Change the password in AD (an admin reset, or the user's own change from ``old``) and
    return its pwdLastSet."""
    if old is not None:
        cw.sw.ad.admin.change_password_as_user(user.dn, old, password)
    else:
        cw.sw.ad.admin.reset_password(user.dn, password)
    stamp: int = cw.sw.ad.admin.account_state(user.dn)["pwdLastSet"]
    return stamp


def _event(cw: CaptureWorld, user: Any, password: str, stamp: int) -> dict[str, Any]:
    return password_event(user.guid, stamp, gpg_encrypt(cw.public_key, cw.fingerprint, password))


def _outcomes(answer: Any) -> list[str]:
    assert answer.status_code == 200, answer.text
    return [r["outcome"] for r in answer.json()["results"]]


def _versions(cw: CaptureWorld, cred: Any) -> list[tuple[int, str]]:
    history = cw.sw.vault.credentials.history(cw.sw.admin, None, cred.id)
    return sorted((h.version, h.source) for h in history)


def test_a_users_own_change_is_captured_and_a_duplicate_is_a_no_op(cw: CaptureWorld) -> None:
    user, cred = _linked(cw, SyncMode.TWO_WAY)
    forwarder = cw.enroll()
    stamp = _capture(cw, user, "Users-Own-Change-4!", old=user.password)
    event = _event(cw, user, "Users-Own-Change-4!", stamp)
    assert _outcomes(forwarder.post([event])) == ["accepted"]
    assert cw.sw.reveal(cred) == "Users-Own-Change-4!"
    # Samba delivers at least once: the same change again (a forwarder killed before it
    # recorded the delivery) changes nothing
    again = forwarder.post([event, _event(cw, user, "Users-Own-Change-4!", stamp)])
    assert _outcomes(again) == ["duplicate", "duplicate"]
    assert _versions(cw, cred) == [(1, "created"), (2, "directory")]


def test_the_vaults_own_push_coming_back_only_confirms_the_link(cw: CaptureWorld) -> None:
    user, cred = _linked(cw, SyncMode.TWO_WAY)
    forwarder = cw.enroll()
    # the vault's current password set in AD (as its own push would), captured back
    stamp = _capture(cw, user, cw.sw.reveal(cred))
    answer = forwarder.post([_event(cw, user, cw.sw.reveal(cred), stamp)])
    assert _outcomes(answer) == ["accepted"]
    assert "confirmed" in answer.json()["results"][0]["detail"]
    assert _versions(cw, cred) == [(1, "created")]
    report = cw.sw.run()
    assert cw.sw.status_in(report, cred.id) == "in_sync"
    assert report.summary["binds"] == 0  # the link was confirmed at the new pwdLastSet


def test_out_of_order_deliveries_keep_the_newest(cw: CaptureWorld) -> None:
    user, cred = _linked(cw, SyncMode.TWO_WAY)
    forwarder = cw.enroll()
    first = _capture(cw, user, "First-Change-1!")
    older = _event(cw, user, "First-Change-1!", first)
    second = _capture(cw, user, "Second-Change-2!")
    newer = _event(cw, user, "Second-Change-2!", second)
    assert _outcomes(forwarder.post([newer])) == ["accepted"]
    answer = forwarder.post([older])
    assert _outcomes(answer) == ["stale"]
    assert cw.sw.reveal(cred) == "Second-Change-2!"
    refused = cw.sw.vault.audit.list(cw.sw.admin, action="capture.event_refused")
    assert [e.details["outcome"] for e in refused] == ["stale"]


def test_a_vault_change_after_the_directorys_wins_with_a_conflict_flag(cw: CaptureWorld) -> None:
    user, cred = _linked(cw, SyncMode.TWO_WAY)
    cw.sw.confirm()
    forwarder = cw.enroll()
    stamp = _capture(cw, user, "Directory-Side-3!")
    cw.sw.set_password(cred, "Vault-Side-Later-3!")  # after the directory's change
    answer = forwarder.post([_event(cw, user, "Directory-Side-3!", stamp)])
    assert _outcomes(answer) == ["accepted"]
    assert "conflict" in answer.json()["results"][0]["detail"]
    assert cw.sw.reveal(cred) == "Vault-Side-Later-3!"
    assert cw.sw.flags() == {cred.id: "conflict"}
    # the loser is kept: an operator may still take it
    [flag] = cw.sw.vault.flags.list(cw.sw.admin, cw.sw.client)
    accepted = cw.http.post("/api/v1/flags/accept", json={"flags": [flag.id]})
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["results"][0]["outcome"] == "accepted"
    assert cw.sw.reveal(cred) == "Directory-Side-3!"


def test_report_mode_keeps_the_capture_pending_until_accepted(cw: CaptureWorld) -> None:
    user, cred = _linked(cw, SyncMode.REPORT)
    forwarder = cw.enroll()
    stamp = _capture(cw, user, "Helpdesk-Reset-5!")
    answer = forwarder.post([_event(cw, user, "Helpdesk-Reset-5!", stamp)])
    assert _outcomes(answer) == ["accepted"]
    assert "pending" in answer.json()["results"][0]["detail"]
    assert cw.sw.reveal(cred) != "Helpdesk-Reset-5!"
    [flag] = cw.sw.vault.flags.list(cw.sw.admin, cw.sw.client)
    assert flag.status == "changed_in_directory"
    assert "accept it" in flag.detail
    viewer = cw.sw.vault_world.operator("viewer1", "viewer")
    _, token = cw.sw.vault.access.create_token(viewer, "v")
    refused = cw.anonymous.post(
        "/api/v1/flags/accept",
        json={"flags": [flag.id]},
        headers={"Authorization": f"Bearer {token.reveal()}"},
    )
    assert refused.status_code == 403
    accepted = cw.http.post("/api/v1/flags/accept", json={"flags": [flag.id[:8], "00000000"]})
    results = accepted.json()["results"]
    assert [r["outcome"] for r in results] == ["accepted", "refused"]
    assert results[0]["secret_version"] == 2
    assert cw.sw.reveal(cred) == "Helpdesk-Reset-5!"
    assert _versions(cw, cred) == [(1, "created"), (2, "directory")]
    assert cw.sw.flags() == {}
    report = cw.sw.run()
    assert cw.sw.status_in(report, cred.id) == "in_sync"
    assert report.summary["binds"] == 0
    again = cw.http.post("/api/v1/flags/accept", json={"flags": [flag.id]}).json()
    assert again["results"][0]["outcome"] == "refused"


def test_enforce_mode_flags_a_drift_and_queues_the_push_back(cw: CaptureWorld) -> None:
    user, cred = _linked(cw, SyncMode.ENFORCE)
    cw.sw.confirm()
    forwarder = cw.enroll()
    stamp = _capture(cw, user, "Drifted-Away-6!")
    answer = forwarder.post([_event(cw, user, "Drifted-Away-6!", stamp)])
    assert _outcomes(answer) == ["accepted"]
    assert "queued for a push" in answer.json()["results"][0]["detail"]
    assert cw.sw.flags() == {cred.id: "changed_in_directory"}
    assert _versions(cw, cred) == [(1, "created")]
    with cw.sw.vault.db.read() as conn:
        queued = push_queue.of_credential(conn, cred.id)
    assert [(q.directory_name, q.dead_at) for q in queued] == [(cw.sw.directory, None)]


def test_off_mode_and_unlinked_accounts_keep_nothing(cw: CaptureWorld) -> None:
    user, cred = _linked(cw, SyncMode.REPORT)
    cw.sw.vault.credentials.set_sync_mode(cw.sw.admin, cred.id, SyncMode.OFF)
    stranger = cw.sw.ad.create_user()
    forwarder = cw.enroll()
    stamp = _capture(cw, user, "Off-Mode-7!")
    other = _capture(cw, stranger, "Stranger-7!")
    answer = forwarder.post(
        [
            _event(cw, user, "Off-Mode-7!", stamp),
            _event(cw, stranger, "Stranger-7!", other),
            {**password_event(user.guid, stamp + 1, None), "kind": "changed"},
        ]
    )
    assert _outcomes(answer) == ["ignored", "unlinked", "ignored"]
    assert _versions(cw, cred) == [(1, "created")]


def test_the_x25519_format_is_taken_and_bound_to_its_account_and_change(
    cw: CaptureWorld,
) -> None:
    """What the Windows password-filter agent will send to a (new, Curve25519) capture key:
    the password sealed to its X25519 encryption subkey, the account and its pwdLastSet as
    associated data. The RSA-OAEP format needs an RSA key: for this one it is rejected."""
    from credsync.crypto.openpgp import x25519_encrypt

    user, cred = _linked(cw, SyncMode.TWO_WAY)
    forwarder = cw.enroll()
    stamp = _capture(cw, user, "Filter-Agent-8!")

    def event(aad_stamp: int, fmt: str = "x25519-hkdf-sha256+a256gcm") -> dict[str, Any]:
        aad = f"{user.guid}\n{aad_stamp}".encode()
        blob = x25519_encrypt(cw.public_key, "Filter-Agent-8!".encode("utf-16-le"), aad)
        return password_event(user.guid, stamp, blob, ciphertext_format=fmt)

    moved = forwarder.post([event(stamp - 1)])  # made for another change: refused
    assert _outcomes(moved) == ["rejected"]
    assert cw.sw.reveal(cred) != "Filter-Agent-8!"
    unknown = forwarder.post([password_event(user.guid, stamp + 5, "x", ciphertext_format="hpke")])
    assert _outcomes(unknown) == ["rejected"]
    not_rsa = forwarder.post([event(stamp, "rsa-oaep-sha256+a256gcm")])
    assert _outcomes(not_rsa) == ["rejected"]
    assert cw.sw.reveal(cred) != "Filter-Agent-8!"
    assert _outcomes(forwarder.post([event(stamp)])) == ["accepted"]
    assert cw.sw.reveal(cred) == "Filter-Agent-8!"


def test_a_disabled_or_deleted_account_flags_its_credential(cw: CaptureWorld) -> None:
    user, cred = _linked(cw, SyncMode.TWO_WAY)
    other, other_cred = _linked(cw, SyncMode.REPORT)
    forwarder = cw.enroll()
    stamp = _capture(cw, user, "Before-Disable-9!")
    cw.sw.ad.admin.disable(user.dn)
    events = [
        _event(cw, user, "Before-Disable-9!", stamp),
        {**password_event(user.guid, stamp, None), "kind": "disabled", "uac": 514},
        {**password_event(other.guid, None, None), "kind": "deleted"},
    ]
    answer = forwarder.post(events)
    # the same pwdLastSet and key version as the password event: not a duplicate of it
    assert _outcomes(answer) == ["accepted", "accepted", "accepted"]
    assert cw.sw.flags() == {cred.id: "account_disabled", other_cred.id: "account_missing"}
    assert cw.sw.reveal(cred) == "Before-Disable-9!"
    again = forwarder.post(events[1:])
    assert _outcomes(again) == ["duplicate", "duplicate"]


def test_an_account_moved_out_of_scope_is_refused_and_audited(cw: CaptureWorld) -> None:
    cw.sw.ad.create_user()  # stays: a directory with no account left is a safety rail
    user, cred = _linked(cw, SyncMode.TWO_WAY)
    forwarder = cw.enroll()
    elsewhere = cw.sw.ad.admin.new_ou("out")
    try:
        moved = cw.sw.ad.admin.move(user.dn, elsewhere)
        report = cw.sw.run(full=True)
        assert report.state == "done", report.message  # the account leaves the cache
        cw.sw.ad.admin.reset_password(moved, "Out-Of-Scope-10!")
        stamp = cw.sw.ad.admin.account_state(moved)["pwdLastSet"]
        answer = forwarder.post([_event(cw, user, "Out-Of-Scope-10!", stamp)])
        assert _outcomes(answer) == ["out_of_scope"]
        assert cw.sw.reveal(cred) != "Out-Of-Scope-10!"
        refused = cw.sw.vault.audit.list(cw.sw.admin, action="capture.event_refused")
        assert [e.details["outcome"] for e in refused] == ["out_of_scope"]
    finally:
        cw.sw.ad.admin.delete_tree(elsewhere)


def test_the_echo_of_an_overtaken_push_is_no_conflict(cw: CaptureWorld) -> None:
    user, cred = _linked(cw, SyncMode.TWO_WAY)
    cw.sw.confirm()
    forwarder = cw.enroll()
    cw.sw.set_password(cred, "Vault-Version-Two-11!")
    stamp = _capture(cw, user, "Vault-Version-Two-11!")  # as the vault's push of version 2
    cw.sw.set_password(cred, "Vault-Version-Three-11!")  # overtaken before its echo arrives
    answer = forwarder.post([_event(cw, user, "Vault-Version-Two-11!", stamp)])
    assert _outcomes(answer) == ["accepted"]
    assert "earlier password of the vault's (version 2)" in answer.json()["results"][0]["detail"]
    assert cw.sw.flags() == {}
    assert cw.sw.reveal(cred) == "Vault-Version-Three-11!"


def test_one_batch_with_several_changes_of_one_account_applies_them_in_order(
    cw: CaptureWorld,
) -> None:
    """What a batch reads is asked once for the whole batch; what its earlier events changed
    is still seen by its later ones."""
    user, cred = _linked(cw, SyncMode.TWO_WAY)
    forwarder = cw.enroll()
    first = _capture(cw, user, "Batch-First-1!")
    older = _event(cw, user, "Batch-First-1!", first)
    second = _capture(cw, user, "Batch-Second-2!")
    newer = _event(cw, user, "Batch-Second-2!", second)
    # in order, the same change twice, then an older one: each sees the ones before it
    answer = forwarder.post([older, newer, newer, older])
    assert _outcomes(answer) == ["accepted", "accepted", "duplicate", "duplicate"]
    assert cw.sw.reveal(cred) == "Batch-Second-2!"
    assert _versions(cw, cred) == [(1, "created"), (2, "directory"), (3, "directory")]
    third = _capture(cw, user, "Batch-Third-3!")
    newest = _event(cw, user, "Batch-Third-3!", third)
    fourth = _capture(cw, user, "Batch-Second-2!")  # back to the vault's current one
    echo = _event(cw, user, "Batch-Second-2!", fourth)
    answer = forwarder.post([newest, echo])
    assert _outcomes(answer) == ["accepted", "accepted"]
    assert "a new version (4)" in answer.json()["results"][0]["detail"]
    assert "a new version (5)" in answer.json()["results"][1]["detail"]
    assert cw.sw.reveal(cred) == "Batch-Second-2!"
    ledger = cw.sw.vault.audit.list(cw.sw.admin, action="credential.password_set")
    assert len([e for e in ledger if e.target_id == cred.id]) == 4
    assert cw.sw.vault.audit.verify(cw.sw.admin).ok
