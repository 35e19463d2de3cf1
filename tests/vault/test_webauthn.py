"""Security keys (WebAuthn) as a second factor in the vault, with a software authenticator
(an ES256 key made with ``cryptography``: real signatures, verified by py_webauthn for real):
adding a key (a challenge of ours, once; the relying party and origin checked), a key counts
as enrolled MFA, signing in with it (challenge once, the operator's own keys only, the sign
count rule audited), removal (own, not the last factor when required), an admin's reset, and
no key material in the status, the audit log or reprs."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator

import pytest

import totp_clock
from credsync.crypto.webauthn import RelyingParty
from credsync.errors import InvalidInput, MfaFailed, MfaRequired, NotFound, PermissionDenied
from credsync.storage import webauthn as key_rows
from credsync.types import Secret

from .soft_key import SoftKey, b64u, challenge_in
from .test_mfa import code, enrol

BOB_PW = Secret("bob-password-1234")
RP = RelyingParty("localhost", "http://localhost")


@pytest.fixture(autouse=True)
def _mid_step_clock(world) -> Iterator[None]:
    """The codes `code` makes are of the held time (tests/totp_clock.py): the vault must read
    the same clock (without it, the codes were of whatever time another module held last)."""
    yield from totp_clock.held(world.vault.mfa)


@pytest.fixture
def bob(world):
    return world.operator("bob", "technician")


def add_key(world, actor, name: str = "YubiKey", key: SoftKey | None = None) -> SoftKey:
    key = key or SoftKey()
    options = world.vault.security_keys.registration_options(actor, RP)
    world.vault.security_keys.register(actor, RP, name, key.create(options))
    return key


def pending_row(world, name: str = "bob"):
    return world.vault.access.check_password(name, BOB_PW)


def sign_in(world, key: SoftKey, **tamper) -> None:
    row = pending_row(world)
    options = world.vault.security_keys.sign_in_options(row, RP)
    assert options is not None
    world.vault.security_keys.check(row, RP, key.get(options, **tamper))


def actions(world) -> list:
    return world.vault.audit.list(world.admin, limit=50)


def test_a_key_is_added_listed_and_counts_as_enrolled(world, bob) -> None:
    options = world.vault.security_keys.registration_options(bob, RP)
    parsed = json.loads(options)
    assert parsed["rp"] == {"id": "localhost", "name": "credsync"}
    assert parsed["attestation"] == "none"
    assert parsed["authenticatorSelection"]["userVerification"] == "preferred"
    key = SoftKey()
    added = world.vault.security_keys.register(bob, RP, "  Blue   YubiKey ", key.create(options))
    assert added.name == "Blue YubiKey"
    status = world.vault.mfa.status(bob)
    assert (status.state, status.totp) == ("on", "off")
    assert [k.name for k in status.security_keys] == ["Blue YubiKey"]
    shown = json.dumps(status.to_json())
    assert b64u(key.credential_id) not in shown
    assert set(status.to_json()["security_keys"][0]) == {"id", "name", "created_at", "last_used_at"}
    # the password alone no longer signs in
    with pytest.raises(MfaRequired, match="security key"):
        world.vault.access.login_password("bob", BOB_PW)
    with world.db.read() as conn:
        (row,) = key_rows.list_for(conn, bob.operator_id)
    assert row.public_key.hex() not in repr(row)
    assert row.credential_id not in repr(row)
    assert row.transports == "usb"
    assert "mfa.webauthn_added" in [e.action for e in actions(world)]
    # the key is excluded from a new registration's options
    again = world.vault.security_keys.registration_options(dataclasses.replace(bob, mfa=True), RP)
    assert [c["id"] for c in json.loads(again)["excludeCredentials"]] == [b64u(key.credential_id)]


def test_self_attestation_is_accepted_and_a_forged_one_refused(world, bob) -> None:
    keys = world.vault.security_keys
    key = SoftKey()
    keys.register(
        bob, RP, "Self", key.create(keys.registration_options(bob, RP), self_attested=True)
    )
    sign_in(world, key)
    other = SoftKey()
    forged = json.loads(
        other.create(
            keys.registration_options(dataclasses.replace(bob, mfa=True), RP), self_attested=True
        )
    )
    # the statement's signature over another challenge's client data: refused
    stale = json.loads(
        other.create(
            keys.registration_options(dataclasses.replace(bob, mfa=True), RP), self_attested=True
        )
    )
    forged["response"]["attestationObject"] = stale["response"]["attestationObject"]
    with pytest.raises(InvalidInput, match="refused"):
        keys.register(dataclasses.replace(bob, mfa=True), RP, "Forged", json.dumps(forged))
    assert [k.name for k in keys.list(bob)] == ["Self"]


def test_a_registration_challenge_is_taken_once_and_bound_to_rp_and_origin(world, bob) -> None:
    keys = world.vault.security_keys
    options = keys.registration_options(bob, RP)
    with pytest.raises(InvalidInput, match="refused") as wrong_origin:
        keys.register(bob, RP, "k", SoftKey().create(options, origin="http://evil.example"))
    assert wrong_origin.value.field == "credential"
    # that challenge is spent now, whatever the outcome
    with pytest.raises(InvalidInput, match="unknown, used or expired"):
        keys.register(bob, RP, "k", SoftKey().create(options))
    options = keys.registration_options(bob, RP)
    with pytest.raises(InvalidInput, match="RP ID"):
        keys.register(bob, RP, "k", SoftKey().create(options, rp_id="evil.example"))
    made = SoftKey().create(keys.registration_options(bob, RP))
    with pytest.raises(InvalidInput) as no_name:
        keys.register(bob, RP, "   ", made)
    assert no_name.value.field == "name"
    with pytest.raises(InvalidInput) as garbage:
        keys.register(bob, RP, "k", "{not json")
    assert garbage.value.field == "credential"
    assert keys.list(bob) == []


def test_sign_in_with_a_key_checks_the_signature_and_takes_the_challenge_once(world, bob) -> None:
    key = add_key(world, bob)
    sign_in(world, key)
    (shown,) = world.vault.mfa.status(bob).security_keys
    assert shown.last_used_at is not None
    assert "mfa.webauthn_used" in [e.action for e in actions(world)]

    row = pending_row(world)
    options = world.vault.security_keys.sign_in_options(row, RP)
    assert options is not None
    assert key.allowed_in(options)
    assert json.loads(options)["userVerification"] == "preferred"
    answer = key.get(options)
    world.vault.security_keys.check(row, RP, answer)
    with pytest.raises(MfaFailed):  # the same answer again: its challenge is spent
        world.vault.security_keys.check(row, RP, answer)
    with pytest.raises(MfaFailed):  # a tampered answer: the signature no longer holds
        sign_in(world, key, tamper=True)
    with pytest.raises(MfaFailed):  # signed for another origin
        sign_in(world, key, origin="http://evil.example")
    with pytest.raises(MfaFailed):  # a challenge never handed out
        sign_in(world, key, challenge=b64u(b"x" * 32))
    failed = [e for e in actions(world) if e.action == "auth.failed"]
    assert len(failed) >= 4
    assert b64u(key.credential_id) not in repr(actions(world))


def test_only_the_operators_own_keys_and_challenges_count(world, bob) -> None:
    key = add_key(world, bob)
    carol = world.operator("carol", "technician")
    carols = add_key(world, carol, key=SoftKey())
    row = pending_row(world)
    options = world.vault.security_keys.sign_in_options(row, RP)
    assert options is not None
    assert not carols.allowed_in(options)
    with pytest.raises(MfaFailed):  # carol's key answering bob's challenge
        world.vault.security_keys.check(row, RP, carols.get(options))
    # a challenge made for carol's sign-in does not serve bob's
    carol_row = world.vault.access.check_password("carol", Secret("carol-password-1234"))
    carol_options = world.vault.security_keys.sign_in_options(carol_row, RP)
    assert carol_options is not None
    with pytest.raises(MfaFailed):
        world.vault.security_keys.check(row, RP, key.get(carol_options))
    # nor does a registration challenge
    reg = world.vault.security_keys.registration_options(dataclasses.replace(bob, mfa=True), RP)
    with pytest.raises(MfaFailed):
        world.vault.security_keys.check(row, RP, key.get(reg, challenge=challenge_in(reg)))


def test_a_sign_count_that_does_not_go_up_is_refused_and_audited(world, bob) -> None:
    key = add_key(world, bob)
    sign_in(world, key)  # count 1
    sign_in(world, key)  # count 2
    clone = dataclasses.replace(key, sign_count=0)  # a copy of the key, behind
    with pytest.raises(MfaFailed):
        sign_in(world, clone)  # count 1 <= 2
    entry = next(e for e in actions(world) if e.action == "mfa.webauthn_sign_count")
    assert (entry.details["stored"], entry.details["given"]) == (2, 1)
    sign_in(world, key)  # the real key goes on (count 3)


def test_a_key_without_a_counter_signs_in_every_time(world, bob) -> None:
    key = add_key(world, bob, key=SoftKey(count_step=0))
    sign_in(world, key)
    sign_in(world, key)


def test_changing_keys_needs_a_session_that_passed_the_second_factor(world, bob) -> None:
    add_key(world, bob)  # bob (no factor yet) may add the first
    with pytest.raises(PermissionDenied):
        world.vault.security_keys.registration_options(bob, RP)
    (first,) = world.vault.security_keys.list(bob)
    with pytest.raises(PermissionDenied):
        world.vault.security_keys.remove(bob, first.id)
    passed = dataclasses.replace(bob, mfa=True)
    add_key(world, passed, "Second")
    assert [k.name for k in world.vault.security_keys.list(bob)] == ["YubiKey", "Second"]
    with pytest.raises(InvalidInput) as same_name:
        add_key(world, passed, "yubikey")
    assert same_name.value.field == "name"


def test_removal_is_own_and_not_of_the_last_factor_when_required(world, bob) -> None:
    add_key(world, bob)
    passed = dataclasses.replace(bob, mfa=True)
    add_key(world, passed, "Spare")
    first, spare = world.vault.security_keys.list(bob)
    carol = dataclasses.replace(world.operator("carol", "technician"), mfa=True)
    with pytest.raises(NotFound):
        world.vault.security_keys.remove(carol, first.id)
    world.vault.mfa.set_required(world.admin, True, role="technician")
    try:
        world.vault.security_keys.remove(passed, first.id)
        with pytest.raises(InvalidInput, match="last"):
            world.vault.security_keys.remove(passed, spare.id)
        # with an authenticator app beside it, the last key may go
        secret, _ = enrol(world, passed)
        world.vault.security_keys.remove(passed, spare.id)
        status = world.vault.mfa.status(bob)
        assert (status.state, status.totp, status.security_keys) == ("on", "on", ())
        assert world.vault.access.login_password("bob", BOB_PW, code(secret, 1)).mfa
    finally:
        world.vault.mfa.set_required(world.admin, False, role="technician")
    removed = [e for e in actions(world) if e.action == "mfa.webauthn_removed"]
    assert [e.details["key_name"] for e in removed] == ["Spare", "YubiKey"]


def test_an_admins_reset_removes_the_keys(world, bob) -> None:
    key = add_key(world, bob)
    world.vault.mfa.reset(world.admin, "bob")
    status = world.vault.mfa.status(world.admin, "bob")
    assert (status.state, status.security_keys) == ("off", ())
    assert world.vault.access.login_password("bob", BOB_PW).name == "bob"
    reset = next(e for e in actions(world) if e.action == "operator.mfa_reset")
    assert (reset.details["had_mfa"], reset.details["security_keys"]) == (True, 1)
    assert b64u(key.credential_id) not in repr(actions(world))
    assert [o.mfa for o in world.vault.operators.list(world.admin) if o.name == "bob"] == ["off"]
