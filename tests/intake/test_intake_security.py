"""The capture endpoint's checks, in wire.md's order, each refusal audited and none telling
an unsigned caller anything: forged, foreign or revoked forwarders, a body naming another
forwarder, malformed bodies (after the signature), stale and future batches, replayed nonces
and sequence numbers, and accounts of another directory. Forwarder tokens open no other
route, and no token, password or private key shows in an answer, the log or the audit."""

from __future__ import annotations

import json
import logging
import uuid

import pytest

from credsync.crypto.forwarders import new_forwarder_key
from credsync.crypto.openpgp import x25519_recipient
from credsync.storage import Database
from credsync.testing.samba import OuWorld
from credsync.types import SyncMode
from sync.helpers import build_sync_world

from .conftest import CaptureWorld
from .helpers import TestForwarder, gpg_encrypt, now_text, password_event


def _denials(cw: CaptureWorld) -> list[dict[str, object]]:
    entries = cw.sw.vault.audit.list(cw.sw.admin, action="capture.denied")
    return [e.to_json() for e in entries]


def _code(answer: object) -> tuple[int, str]:
    status = answer.status_code  # type: ignore[attr-defined]
    return status, answer.json()["error"]["code"]  # type: ignore[attr-defined]


def _linked(cw: CaptureWorld, mode: SyncMode = SyncMode.TWO_WAY):  # type: ignore[no-untyped-def]
    user = cw.sw.ad.create_user()
    cred = cw.sw.add(user, mode=mode)
    assert cw.sw.run().state == "done"
    return user, cred


def test_unsigned_forged_unknown_and_revoked_are_401_and_audited(cw: CaptureWorld) -> None:
    forwarder = cw.enroll()
    body = forwarder.body([])
    assert _code(forwarder.post_raw(body, signature="")) == (401, "capture_unauthenticated")
    _, _other_key = new_forwarder_key(forwarder.forwarder_id)
    forged = TestForwarder(cw.anonymous, forwarder.forwarder_id, _other_token(forwarder))
    assert _code(forged.post_raw(body)) == (401, "capture_unauthenticated")
    # a signature over another path (replayed to another forwarder's path)
    other = cw.enroll(name="dc2")
    sig = forwarder.signature(body)
    assert _code(other.post_raw(body, signature=sig)) == (401, "capture_unauthenticated")
    unknown = TestForwarder(cw.anonymous, str(uuid.uuid4()), forwarder.token)
    assert _code(unknown.post(events=[])) == (401, "capture_unauthenticated")
    # the body names another forwarder than the path, signed by the path's own
    assert _code(forwarder.post([], forwarder_id=other.forwarder_id)) == (
        401,
        "capture_unauthenticated",
    )
    revoked = cw.http.post(f"/api/v1/capture/forwarders/{forwarder.forwarder_id}/revoke")
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["revoked_at"]
    assert _code(forwarder.post([])) == (401, "capture_unauthenticated")
    checks = [e["details"]["check"] for e in _denials(cw)]  # type: ignore[index]
    assert checks.count("signature") == 3
    assert checks.count("forwarder") == 1
    assert checks.count("forwarder_id") == 1
    assert checks.count("revoked") == 1


def _other_token(forwarder: TestForwarder) -> str:
    token, _ = new_forwarder_key(forwarder.forwarder_id)  # same id, another key
    return token.reveal()


def test_malformed_bodies_are_400_naming_the_field_only_once_signed(cw: CaptureWorld) -> None:
    forwarder = cw.enroll()
    bad = forwarder.body([{"kind": "password", "object_guid": "nope", "captured_at": now_text()}])
    assert _code(forwarder.post_raw(bad, signature="ed25519 AAAA")) == (
        401,
        "capture_unauthenticated",
    )
    answer = forwarder.post_raw(bad)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["details"][0]["field"] == "events[0].object_guid"
    answer = forwarder.post([], nonce="XYZ")
    assert answer.json()["error"]["details"][0]["field"] == "nonce"
    answer = forwarder.post([], seq=0)
    assert answer.json()["error"]["details"][0]["field"] == "seq"
    not_json = b"{" + json.dumps({"forwarder_id": forwarder.forwarder_id}).encode()
    answer = forwarder.post_raw(not_json)
    assert answer.status_code == 400
    assert answer.json()["error"]["details"][0]["field"] == "body"
    answer = forwarder.post_raw(json.dumps({"seq": 1}).encode())
    assert answer.json()["error"]["details"][0]["field"] == "forwarder_id"
    event = {"kind": "changed", "object_guid": str(uuid.uuid4()), "captured_at": now_text()}
    answer = forwarder.post([event] * 1001)
    assert answer.json()["error"]["details"][0]["field"] == "events"
    huge = forwarder.body([{**event, "dc": "x" * 255}] * 1000, padding="y" * (4 * 1024 * 1024))
    assert forwarder.post_raw(huge).status_code == 413
    assert forwarder.post([event] * 1000).status_code == 200


@pytest.mark.parametrize("skew", [-301, 301])
def test_stale_and_future_batches_are_refused(cw: CaptureWorld, skew: int) -> None:
    forwarder = cw.enroll()
    answer = forwarder.post([], sent_at=now_text(skew))
    assert _code(answer) == (401, "capture_stale")
    assert [e["details"]["check"] for e in _denials(cw)] == ["sent_at"]  # type: ignore[index]
    assert forwarder.post([], sent_at=now_text(-250)).status_code == 200


def test_a_replayed_nonce_and_an_old_seq_are_409_with_last_seq(cw: CaptureWorld) -> None:
    forwarder = cw.enroll()
    body = forwarder.body([])
    assert forwarder.post_raw(body).status_code == 200
    assert _code(forwarder.post_raw(body)) == (409, "capture_replayed")
    again = forwarder.post([], seq=1)  # a fresh nonce, an old seq
    assert _code(again) == (409, "capture_sequence")
    assert again.json()["last_seq"] == 1
    assert forwarder.post([], seq=7).status_code == 200
    listed = cw.http.get("/api/v1/capture/forwarders").json()
    assert [f["last_seq"] for f in listed if f["id"] == forwarder.forwarder_id] == [7]
    checks = [e["details"]["check"] for e in _denials(cw)]  # type: ignore[index]
    assert sorted(checks) == ["nonce", "seq"]


def test_an_account_of_another_directory_is_never_applied(cw: CaptureWorld, ad_ou: OuWorld) -> None:
    """Directory B's forwarder sends directory A's account: unlinked, A's credential stays."""
    user, cred = _linked(cw)
    other_ou = OuWorld.create(ad_ou.facts)
    try:
        sw_b = build_sync_world(cw.sw.vault_world, other_ou)
        answer = cw.http.post(
            f"/api/v1/directories/{sw_b.directory}/capture/forwarders", json={"name": "b"}
        )
        forwarder_b = TestForwarder(
            cw.anonymous, answer.json()["forwarder_id"], answer.json()["token"]
        )
        key_b = cw.http.get(f"/api/v1/directories/{sw_b.directory}/capture/key").json()
        stamp = cw.sw.ad.admin.account_state(user.dn)["pwdLastSet"] + 10
        blob = gpg_encrypt(key_b["public_key"], key_b["fingerprint"], "Foreign-Pa55-1!")
        result = forwarder_b.post([password_event(user.guid, stamp, blob)])
        assert result.status_code == 200, result.text
        assert result.json()["results"][0]["outcome"] == "unlinked"
        assert cw.sw.reveal(cred) == user.password
        # and A's own key opens nothing sent to B's
        forwarder_a = cw.enroll()
        result = forwarder_a.post([password_event(user.guid, stamp, blob)])
        assert result.json()["results"][0]["outcome"] == "rejected"
        assert cw.sw.reveal(cred) == user.password
    finally:
        other_ou.close()


def test_a_forwarder_token_is_no_bearer_token_and_operators_need_setup(
    cw: CaptureWorld,
) -> None:
    forwarder = cw.enroll()
    for path in ("/api/v1/clients", "/api/v1/auth/whoami", "/api/v1/capture/forwarders"):
        answer = cw.anonymous.get(path, headers={"Authorization": f"Bearer {forwarder.token}"})
        assert answer.status_code == 401, (path, answer.text)
    world = cw.sw.vault_world
    tech = world.operator("tech", "technician")
    _, token = world.vault.access.create_token(tech, "t")
    headers = {"Authorization": f"Bearer {token.reveal()}"}
    directory = cw.sw.directory
    for method, path in (
        ("GET", f"/api/v1/directories/{directory}/capture/key"),
        ("POST", f"/api/v1/directories/{directory}/capture/forwarders"),
        ("GET", f"/api/v1/directories/{directory}/capture/forwarders"),
        ("GET", "/api/v1/capture/forwarders"),
        ("POST", f"/api/v1/capture/forwarders/{forwarder.forwarder_id}/revoke"),
    ):
        answer = cw.anonymous.request(method, path, headers=headers)
        assert answer.status_code == 403, (path, answer.text)
    # an operator with directory.setup limited to another client: 404, as for nothing
    vault, admin = world.vault, world.admin
    vault.clients.add(admin, world.keys, "Elsewhere")
    from credsync.types import Secret

    vault.operators.add(
        admin, "limited", Secret("limited-password-1234"), "directory_manager", ["Elsewhere"]
    )
    limited = vault.access.login_password("limited", Secret("limited-password-1234"))
    _, limited_token = vault.access.create_token(limited, "t")
    headers = {"Authorization": f"Bearer {limited_token.reveal()}"}
    for method, path in (
        ("GET", f"/api/v1/directories/{directory}/capture/key"),
        ("POST", f"/api/v1/directories/{directory}/capture/forwarders"),
        ("POST", f"/api/v1/capture/forwarders/{forwarder.forwarder_id}/revoke"),
    ):
        answer = cw.anonymous.request(method, path, headers=headers)
        assert answer.status_code == 404, (path, answer.text)
    assert cw.anonymous.get("/api/v1/capture/forwarders", headers=headers).json() == []


def test_the_forwarder_reads_its_key_signed(cw: CaptureWorld) -> None:
    forwarder = cw.enroll()
    path = f"/api/v1/agents/{forwarder.forwarder_id}/capture-key"
    answer = cw.anonymous.get(path, headers={"Credsync-Signature": forwarder.signature(b"", path)})
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "directory": cw.sw.directory,
        "fingerprint": cw.fingerprint,
        "public_key": cw.public_key,
        "x25519_public_hex": x25519_recipient(cw.public_key).hex(),  # the Windows filter's
    }
    assert cw.anonymous.get(path).status_code == 401
    sig_of_batches = forwarder.signature(b"")  # over the captures path: not this one
    assert cw.anonymous.get(path, headers={"Credsync-Signature": sig_of_batches}).status_code == 401


def test_no_secret_in_answers_logs_or_audit(
    cw: CaptureWorld, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    user, _cred = _linked(cw, SyncMode.REPORT)
    forwarder = cw.enroll()
    new_password = "Captured-Secret-991!"
    cw.sw.ad.admin.reset_password(user.dn, new_password)
    stamp = cw.sw.ad.admin.account_state(user.dn)["pwdLastSet"]
    blob = gpg_encrypt(cw.public_key, cw.fingerprint, new_password)
    answers = [
        forwarder.post([password_event(user.guid, stamp, blob)]),
        forwarder.post([], sent_at=now_text(900)),
        forwarder.post_raw(forwarder.body([]), signature="ed25519 " + "A" * 88),
    ]
    entries = cw.sw.vault.audit.list(cw.sw.admin, limit=500)
    text = "\n".join(
        [a.text for a in answers] + [caplog.text] + [json.dumps(e.to_json()) for e in entries]
    )
    token_key = forwarder.token.split(".")[2]
    for secret in (new_password, token_key, forwarder.token):
        assert secret not in text
    with Database(cw.sw.vault_world.url).engine.connect() as conn:
        raw = b"".join(
            bytes(str(row), "utf-8")
            for table in ("capture_forwarders", "capture_keys", "capture_ledger", "capture_pending")
            for row in conn.exec_driver_sql(f"SELECT * FROM {table}")  # noqa: S608 - our names
        )
    assert new_password.encode() not in raw
    assert new_password.encode("utf-16-le") not in raw
    assert token_key.encode() not in raw
    assert b"PRIVATE KEY" not in raw


def test_refusals_anyone_can_send_are_audited_once_a_minute(
    cw: CaptureWorld, caplog: pytest.LogCaptureFixture
) -> None:
    forwarder = cw.enroll()
    for _ in range(5):
        answer = forwarder.post_raw(forwarder.body([]), signature="")
        assert answer.status_code == 401
    assert len(_denials(cw)) == 1
    assert caplog.text.count("not audited: the same refusal was audited") == 4
