"""Multi-factor sign-in in the vault: enrolment (pending until a first good code), sign-in with
a code (one step of skew either side, no replay), recovery codes (each once), the requirement
(vault-wide, per role; an unenrolled operator may only enrol), reset (admin, audited, ends
sessions) and disable (own, not when required), API tokens only from a sign-in that passed."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator

import pyotp
import pytest

import totp_clock
from credsync.errors import (
    AuthenticationFailed,
    Conflict,
    InvalidInput,
    MfaEnrolmentRequired,
    MfaFailed,
    MfaRequired,
    PermissionDenied,
)
from credsync.storage import mfa as mfa_rows
from credsync.types import Secret

BOB_PW = Secret("bob-password-1234")


@pytest.fixture(autouse=True)
def _mid_step_clock(world) -> Iterator[None]:
    yield from totp_clock.held(world.vault.mfa)


def code(secret: Secret, offset: int = 0) -> str:
    """The code of the step ``offset`` steps from now."""
    return totp_clock.code(secret.reveal(), offset)


def enrol(world, actor, offset: int = 0):
    started = world.vault.mfa.begin(actor)
    codes = world.vault.mfa.confirm(actor, code(started.secret, offset))
    return started.secret, codes


@pytest.fixture
def bob(world):
    return world.operator("bob", "technician")


def test_enrolment_is_pending_until_a_good_code_confirms_it(world, bob) -> None:
    started = world.vault.mfa.begin(bob)
    assert started.uri.reveal().startswith("otpauth://totp/credsync:bob?secret=")
    assert started.secret.reveal() in started.uri.reveal()
    assert started.secret.reveal() not in repr(started)
    assert world.vault.mfa.status(bob).state == "pending"
    # pending: the password alone still signs in
    assert world.vault.access.login_password("bob", BOB_PW).name == "bob"
    with pytest.raises(InvalidInput, match="does not match"):
        world.vault.mfa.confirm(bob, "000000" if code(started.secret) != "000000" else "111111")
    codes = world.vault.mfa.confirm(bob, code(started.secret))
    assert len(codes) == 10
    assert len({c.reveal() for c in codes}) == 10
    assert all(len(c.reveal().replace("-", "")) == 16 for c in codes)
    state = world.vault.mfa.status(bob)
    assert (state.state, state.recovery_codes_left) == ("on", 10)
    with pytest.raises(Conflict):
        world.vault.mfa.begin(bob)  # set up already


def test_the_seed_is_sealed_and_bound_to_its_operator(world, bob) -> None:
    secret, _ = enrol(world, bob)
    carol = world.operator("carol", "technician")
    with world.db.write() as conn:
        row = mfa_rows.get(conn, bob.operator_id)
        assert row is not None
        assert secret.reveal().encode() not in row.seed_ct
        assert row.seed_ct.hex() not in repr(row)
        mfa_rows.set_pending(conn, carol.operator_id, row.seed_ct, row.created_at)
    with pytest.raises(Exception, match="failed authentication"):
        world.vault.mfa.confirm(carol, code(secret))


def test_sign_in_needs_the_code_and_refuses_a_replayed_one(world, bob) -> None:
    secret, _ = enrol(world, bob)  # step N used
    access = world.vault.access
    with pytest.raises(MfaRequired):
        access.login_password("bob", BOB_PW)
    with pytest.raises(MfaFailed):  # the code that confirmed: replayed
        access.login_password("bob", BOB_PW, code(secret))
    actor = access.login_password("bob", BOB_PW, code(secret, 1))  # skew: next step
    assert actor.mfa
    with pytest.raises(MfaFailed):  # the same code again
        access.login_password("bob", BOB_PW, code(secret, 1))
    with pytest.raises(AuthenticationFailed):  # a wrong password is refused before the code
        access.login_password("bob", Secret("wrong-password-123"), code(secret, 1))


def test_one_step_of_skew_either_side_and_no_more(world, bob) -> None:
    started = world.vault.mfa.begin(bob)
    clock = [time.time()]
    world.vault.mfa.clock = lambda: clock[0]
    try:
        secret = started.secret
        world.vault.mfa.confirm(bob, pyotp.TOTP(secret.reveal()).at(clock[0] - 30))
        clock[0] += 300
        totp = pyotp.TOTP(secret.reveal())
        for offset in (-90, -60, 60, 90):
            with pytest.raises(MfaFailed):
                world.vault.access.login_password("bob", BOB_PW, totp.at(clock[0] + offset))
        assert world.vault.access.login_password("bob", BOB_PW, totp.at(clock[0] - 30)).mfa
        assert world.vault.access.login_password("bob", BOB_PW, totp.at(clock[0] + 30)).mfa
        with pytest.raises(MfaFailed):  # older than the last accepted
            world.vault.access.login_password("bob", BOB_PW, totp.at(clock[0]))
    finally:
        world.vault.mfa.clock = time.time


def test_a_recovery_code_signs_in_once(world, bob) -> None:
    _, codes = enrol(world, bob)
    first = codes[0].reveal()
    typed = first.lower().replace("-", " ")
    assert world.vault.access.login_password("bob", BOB_PW, typed).mfa
    with pytest.raises(MfaFailed):
        world.vault.access.login_password("bob", BOB_PW, first)
    assert world.vault.mfa.status(bob).recovery_codes_left == 9
    entries = world.vault.audit.list(world.admin, limit=50)
    text = repr(entries)
    assert "mfa.recovery_code_used" in text
    for c in codes:
        assert c.reveal() not in text


def test_failures_are_audited_without_the_code(world, bob) -> None:
    secret, _ = enrol(world, bob)
    wrong = "123456" if code(secret, 1) != "123456" else "654321"
    with pytest.raises(MfaFailed):
        world.vault.access.login_password("bob", BOB_PW, wrong)
    entries = world.vault.audit.list(world.admin, limit=20)
    failed = [e for e in entries if e.action == "auth.failed"]
    assert failed
    assert failed[0].details["reason"] == "wrong or reused one-time code"
    assert wrong not in repr(entries)


def test_required_but_not_enrolled_may_only_enrol(world, bob) -> None:
    world.vault.mfa.set_required(world.admin, True, role="technician")
    assert world.vault.mfa.requirement(world.admin).roles == ("technician",)
    with pytest.raises(MfaEnrolmentRequired, match="credsync operator mfa enroll"):
        world.vault.access.login_password("bob", BOB_PW)
    enrolling = world.vault.access.login_password("bob", BOB_PW, enrolling=True)
    secret, _ = enrol(world, enrolling)
    assert world.vault.access.login_password("bob", BOB_PW, code(secret, 1)).mfa
    # and required of everyone: alice (admin, not enrolled) too
    world.vault.mfa.set_required(world.admin, False, role="technician")
    world.vault.mfa.set_required(world.admin, True)
    with pytest.raises(MfaEnrolmentRequired):
        world.vault.access.login_password("alice", Secret("admin-password-1234"))


def test_only_an_admin_sets_the_requirement_or_resets(world, bob) -> None:
    with pytest.raises(PermissionDenied):
        world.vault.mfa.set_required(bob, True)
    with pytest.raises(PermissionDenied):
        world.vault.mfa.set_required(bob, False, role="technician")
    enrol(world, world.admin)
    with pytest.raises(PermissionDenied):
        world.vault.mfa.reset(bob, "alice")
    assert world.vault.mfa.status(world.admin).state == "on"


def test_reset_removes_enrolment_ends_sessions_and_is_audited(world, bob) -> None:
    secret, _ = enrol(world, bob)
    signed = world.vault.access.login_password("bob", BOB_PW, code(secret, 1))
    session = world.vault.access.create_session(signed, world.keys.kek(), dt.timedelta(hours=1))
    assert world.vault.mfa.reset(world.admin, "bob") == 1
    with pytest.raises(AuthenticationFailed):
        world.vault.access.open_session(session.token)
    assert world.vault.mfa.status(world.admin, "bob").state == "off"
    assert world.vault.access.login_password("bob", BOB_PW).name == "bob"
    entries = world.vault.audit.list(world.admin, limit=10)
    reset = next(e for e in entries if e.action == "operator.mfa_reset")
    assert reset.details["name"] == "bob"
    assert secret.reveal() not in repr(entries)


def test_disable_own_needs_password_and_code_and_is_refused_when_required(world, bob) -> None:
    secret, _ = enrol(world, bob)
    with pytest.raises(AuthenticationFailed):
        world.vault.mfa.disable(bob, Secret("wrong-password-123"), code(secret, 1))
    world.vault.mfa.set_required(world.admin, True, role="technician")
    with pytest.raises(InvalidInput, match="required"):
        world.vault.mfa.disable(bob, BOB_PW, code(secret, 1))
    world.vault.mfa.set_required(world.admin, False, role="technician")
    assert world.vault.mfa.disable(bob, BOB_PW, code(secret, 1)).state == "off"


def test_api_tokens_only_from_a_sign_in_that_passed_mfa(world, bob) -> None:
    access = world.vault.access
    access.create_token(bob, "before")  # no MFA: password alone is enough
    _, value = access.create_token(bob, "script")
    secret, _ = enrol(world, bob)
    with pytest.raises(MfaRequired, match="API tokens"):
        access.create_token(bob, "password only")  # bob's sign-in predates the enrolment
    by_token = access.login_token(value)
    assert by_token.name == "bob"  # tokens stay single-factor
    with pytest.raises(MfaRequired):
        access.create_token(by_token, "token made by a token")
    passed = access.login_password("bob", BOB_PW, code(secret, 1))
    assert access.create_token(passed, "with mfa")[0].name == "with mfa"
    session = access.create_session(passed, world.keys.kek(), dt.timedelta(hours=1))
    from_session, _ = access.open_session(session.token)
    assert from_session.mfa
    assert access.create_token(from_session, "from the session")[0].operator == "bob"
