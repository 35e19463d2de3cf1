"""People sign in (issue 17, credsync.vault.person_auth): the vault password, the limits per
person and per address, TOTP with no replay, enrolment, the operators' reset and its
permission, and no secret in audit details or errors. On SQLite and PostgreSQL."""

from __future__ import annotations

import json
import uuid

import pyotp
import pytest

from credsync.crypto.otp import STEP_SECONDS
from credsync.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    PermissionDenied,
    SignInRefused,
    TooManyAttempts,
    VaultLocked,
)
from credsync.storage import onboarding as onboarding_rows
from credsync.types import Secret
from credsync.vault._time import utcnow
from credsync.vault.person_auth import REFUSED, PersonAuth, PersonSignIn

from .helpers import Ctx

PASSWORD = "Person-Pa55word!"


class Clock:
    """A clock the test moves (TOTP steps and the limits' window)."""

    def __init__(self) -> None:
        self.now = 1_900_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def auth(ctx: Ctx) -> PersonAuth:
    service = ctx.vault.person_auth
    service.use_keys(ctx.keys)
    clock = Clock()
    service.clock = clock
    return service


def _person(ctx: Ctx, password: str | None = PASSWORD, **fields: object) -> tuple[str, str]:
    """A person of ctx's client with a primary credential of ``password``: (id, username)."""
    username = f"pa-{uuid.uuid4().hex[:8]}@contoso.example"
    given: dict[str, object] = {"given_name": "Pia", "surname": "Auth", "username": username}
    if password is not None:
        cred = ctx.add(f"Login {username}", password, username=username)
        given["credential"] = cred.id
    given.update(fields)
    return ctx.vault.people.add(ctx.admin, ctx.name, given).id, username


def _enrol(auth: PersonAuth, person_id: str) -> pyotp.TOTP:
    enrolment = auth.begin_totp(person_id)
    totp = pyotp.TOTP(enrolment.seed.reveal())
    auth.confirm_totp(person_id, totp.at(auth.clock()))
    return totp


def _signed(auth: PersonAuth, ctx: Ctx, username: str, address: str = "192.0.2.1") -> PersonSignIn:
    return auth.check_password(ctx.client.id, username, Secret(PASSWORD), address=address)


def _next_step(auth: PersonAuth) -> None:
    auth.clock.now += STEP_SECONDS  # type: ignore[attr-defined]


def test_the_vault_password_signs_a_person_in_without_mfa_yet(ctx: Ctx, auth: PersonAuth) -> None:
    pid, username = _person(ctx)
    signed = _signed(auth, ctx, username.upper())
    assert (signed.person_id, signed.client_id, signed.username) == (pid, ctx.client.id, username)
    assert signed.display_name == "Pia Auth"
    assert signed.mfa is False
    assert signed.mfa_enrolled is False
    [entry] = ctx.audit("person.sign_in", pid)
    assert entry.details["factor"] == "password"


@pytest.mark.parametrize(
    "case", ["wrong password", "unknown username", "disabled", "trashed", "no credential"]
)
def test_every_refusal_has_the_same_message_and_its_reason_audited(
    ctx: Ctx, auth: PersonAuth, case: str
) -> None:
    pid, username = _person(ctx, password=None if case == "no credential" else PASSWORD)
    if case == "disabled":
        ctx.vault.people.set_enabled(ctx.admin, pid, False)
    if case == "trashed":
        ctx.vault.people.delete(ctx.admin, pid)
    typed = "nobody-" + username if case == "unknown username" else username
    given = "Wrong-Pa55word!" if case == "wrong password" else PASSWORD
    with pytest.raises(SignInRefused) as err:
        auth.check_password(ctx.client.id, typed, Secret(given), address="192.0.2.9")
    assert str(err.value) == REFUSED
    assert not isinstance(err.value, TooManyAttempts)
    target = ctx.client.id if case == "unknown username" else pid
    [entry] = ctx.audit("person.sign_in_failed", target)
    assert entry.details["reason"] != ""
    assert PASSWORD not in json.dumps(entry.details)
    assert "Wrong-Pa55word!" not in json.dumps(entry.details)


def test_a_person_awaiting_onboarding_is_refused(ctx: Ctx, auth: PersonAuth) -> None:
    pid, username = _person(ctx)
    with ctx.world.db.write() as conn:
        onboarding_rows.put(
            conn,
            onboarding_rows.OnboardingRow(
                pid, ctx.client.id, None, "People", "off", True, True, utcnow(), "admin"
            ),
        )
    with pytest.raises(SignInRefused, match="wrong username or password"):
        _signed(auth, ctx, username)
    [entry] = ctx.audit("person.sign_in_failed", pid)
    assert "onboarding" in entry.details["reason"]


def test_another_clients_person_is_not_found_there(ctx: Ctx, auth: PersonAuth) -> None:
    _, username = _person(ctx)
    other = ctx.other_client()
    with pytest.raises(SignInRefused):
        auth.check_password(other.id, username, Secret(PASSWORD), address="192.0.2.2")


def test_the_person_limit_refuses_even_the_right_password_until_the_window_passes(
    ctx: Ctx, auth: PersonAuth
) -> None:
    pid, username = _person(ctx)
    for n in range(5):
        with pytest.raises(SignInRefused):
            auth.check_password(
                ctx.client.id, username, Secret(f"Wrong-{n}!"), address=f"198.51.100.{n}"
            )
    with pytest.raises(TooManyAttempts, match="try again in 15 minutes") as err:
        _signed(auth, ctx, username, address="198.51.100.77")
    assert 0 < err.value.retry_after <= 15 * 60
    assert ctx.audit("person.sign_in_limited", pid)
    auth.clock.now += 15 * 60 + 1  # type: ignore[attr-defined]
    assert _signed(auth, ctx, username).person_id == pid


def test_the_address_limit_spans_usernames(ctx: Ctx, auth: PersonAuth) -> None:
    _, username = _person(ctx)
    address = f"203.0.113.{uuid.uuid4().int % 250}"
    for n in range(20):
        with pytest.raises(SignInRefused):
            auth.check_password(ctx.client.id, f"guess{n}", Secret("x"), address=address)
    with pytest.raises(TooManyAttempts):
        _signed(auth, ctx, username, address=address)
    assert _signed(auth, ctx, username, address="203.0.113.251").username == username


def test_totp_enrolment_then_a_code_completes_the_sign_in_and_a_replay_is_refused(
    ctx: Ctx, auth: PersonAuth
) -> None:
    pid, username = _person(ctx)
    enrolment = auth.begin_totp(pid)
    assert "seed" not in repr(enrolment)
    assert enrolment.seed.reveal() not in repr(enrolment)
    assert enrolment.uri.reveal().startswith("otpauth://totp/credsync:")
    assert auth.mfa_status(pid).totp == "pending"
    totp = pyotp.TOTP(enrolment.seed.reveal())
    with pytest.raises(InvalidInput) as bad:
        auth.confirm_totp(pid, "000000" if totp.at(auth.clock()) != "000000" else "111111")
    assert bad.value.field == "code"
    auth.confirm_totp(pid, totp.at(auth.clock()))
    assert auth.mfa_status(pid).to_json() == {"person_id": pid, "totp": "on", "security_keys": 0}
    with pytest.raises(Conflict):
        auth.begin_totp(pid)

    _next_step(auth)
    signed = _signed(auth, ctx, username)
    assert signed.mfa_enrolled is True
    code = totp.at(auth.clock())
    done = auth.check_totp(signed, code, address="192.0.2.1")
    assert done.mfa is True
    with pytest.raises(SignInRefused, match="already used"):
        auth.check_totp(signed, code, address="192.0.2.1")
    [failed] = ctx.audit("person.sign_in_failed", pid)
    assert code not in json.dumps(failed.details)
    assert enrolment.seed.reveal() not in json.dumps(
        [e.details for e in ctx.audit("person.mfa_enrol", pid)]
    )


def test_wrong_codes_count_against_the_person_limit(ctx: Ctx, auth: PersonAuth) -> None:
    pid, username = _person(ctx)
    totp = _enrol(auth, pid)
    _next_step(auth)
    signed = _signed(auth, ctx, username)
    right = totp.at(auth.clock())
    wrong = "123456" if right != "123456" else "654321"
    for _ in range(5):
        with pytest.raises(SignInRefused):
            auth.check_totp(signed, wrong, address="192.0.2.50")
    with pytest.raises(TooManyAttempts):
        auth.check_totp(signed, right, address="192.0.2.51")


def test_an_operator_with_vault_write_resets_a_persons_mfa(ctx: Ctx, auth: PersonAuth) -> None:
    pid, username = _person(ctx)
    _enrol(auth, pid)
    signed = _signed(auth, ctx, username)
    token, info = ctx.vault.person_sessions.start(signed)
    assert ctx.vault.person_sessions.lookup(token.reveal(), ctx.client.id) is not None
    for role in ("viewer", "auditor"):
        with pytest.raises(PermissionDenied, match=r"vault\.write"):
            auth.reset_mfa(ctx.as_role(role), username, client_ref=ctx.name)
    assert auth.mfa_status(pid).totp == "on"
    auth.reset_mfa(ctx.as_role("technician"), username, client_ref=ctx.name)
    assert auth.mfa_status(pid).totp == "off"
    assert ctx.vault.person_sessions.lookup(token.reveal(), ctx.client.id) is None
    [entry] = ctx.audit("person.mfa_reset", pid)
    assert entry.details == {
        "username": username, "had_totp": True, "security_keys": 0, "sessions_ended": 1,
    }  # fmt: skip
    assert info.csrf not in json.dumps(entry.details)


def test_a_reset_of_a_person_outside_the_operators_clients_is_not_found(
    ctx: Ctx, auth: PersonAuth
) -> None:
    _, username = _person(ctx)
    name = f"lim-{uuid.uuid4().hex[:6]}"
    password = Secret(f"{name}-password-1234")
    ctx.vault.operators.add(ctx.admin, name, password, "technician")
    ctx.vault.operators.set_clients(ctx.admin, name, [ctx.other_client().name])
    limited = ctx.vault.access.login_password(name, password)
    with pytest.raises(NotFound):
        auth.reset_mfa(limited, username, client_ref=ctx.name)
    with pytest.raises(NotFound):
        auth.reset_mfa(limited, username)


def test_person_sessions_are_the_clients_and_end_when_the_person_is_disabled(
    ctx: Ctx, auth: PersonAuth
) -> None:
    pid, username = _person(ctx)
    token, info = ctx.vault.person_sessions.start(_signed(auth, ctx, username))
    assert "csrf" not in repr(info)
    found = ctx.vault.person_sessions.lookup(token.reveal(), ctx.client.id)
    assert found is not None
    assert found.person_id == pid
    assert ctx.vault.person_sessions.lookup(token.reveal(), ctx.other_client().id) is None
    ctx.vault.people.set_enabled(ctx.admin, pid, False)
    assert ctx.vault.person_sessions.lookup(token.reveal(), ctx.client.id) is None


def test_a_purged_person_takes_their_factors_and_sessions_along(ctx: Ctx, auth: PersonAuth) -> None:
    pid, username = _person(ctx)
    _enrol(auth, pid)
    ctx.vault.person_sessions.start(_signed(auth, ctx, username))
    ctx.vault.people.delete(ctx.admin, pid)
    ctx.vault.people.purge(ctx.admin, pid)
    assert auth.mfa_status(pid).totp == "off"


def test_without_the_servers_key_ring_the_password_check_says_locked(ctx: Ctx) -> None:
    locked = PersonAuth(ctx.world.db, ctx.vault.audit)
    _, username = _person(ctx)
    with pytest.raises(VaultLocked):
        locked.check_password(ctx.client.id, username, Secret(PASSWORD), address="192.0.2.3")


def test_the_tables_hold_no_seed_address_or_token_in_the_clear(ctx: Ctx, auth: PersonAuth) -> None:
    import sqlalchemy as sa

    from credsync.storage.tables import person_mfa, person_sessions, person_sign_in_failures

    pid, username = _person(ctx)
    enrolment = auth.begin_totp(pid)
    address = f"198.18.{uuid.uuid4().int % 250}.7"
    with pytest.raises(SignInRefused):
        auth.check_password(ctx.client.id, username, Secret("Wrong-Pa55!"), address=address)
    token, info = ctx.vault.person_sessions.start(_signed(auth, ctx, username))
    with ctx.world.db.read() as conn:
        stored = [
            repr(tuple(row))
            for table in (person_mfa, person_sign_in_failures, person_sessions)
            for row in conn.execute(sa.select(table))
        ]
    dump = "\n".join(stored)
    for secret in (enrolment.seed.reveal(), address, token.reveal(), PASSWORD):
        assert secret not in dump
    with ctx.world.db.read() as conn:
        raw = conn.execute(sa.select(person_mfa.c.seed_ct).where(person_mfa.c.person_id == pid))
        sealed = bytes(raw.scalar_one())
    assert enrolment.seed.reveal().encode() not in sealed
    assert info.csrf not in repr(info)


def test_a_person_session_ends_after_15_idle_minutes(ctx: Ctx, auth: PersonAuth) -> None:
    import datetime as dt

    from credsync.storage import person_sessions as session_rows

    _, username = _person(ctx)
    token, info = ctx.vault.person_sessions.start(_signed(auth, ctx, username))
    with ctx.world.db.write() as conn:
        session_rows.touch(conn, info.session_id, utcnow() - dt.timedelta(minutes=14))
    assert ctx.vault.person_sessions.lookup(token.reveal(), ctx.client.id) is not None
    with ctx.world.db.write() as conn:
        session_rows.touch(conn, info.session_id, utcnow() - dt.timedelta(minutes=15, seconds=1))
    assert ctx.vault.person_sessions.lookup(token.reveal(), ctx.client.id) is None
