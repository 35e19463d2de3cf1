"""People's security keys (credsync.vault.person_keys, issue 17), with a software authenticator
whose signatures the server verifies for real: a key added during the first sign-in completes
the enrolment, then signs a sign-in in; a replayed answer, another's key and a cloned key (its
count not going up) are refused and counted; adding keys needs a sign-in past the second
factor once the person has one. On SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
import uuid

import pytest

from credsync.crypto.webauthn import RelyingParty
from credsync.errors import InvalidInput, PermissionDenied, SignInRefused
from credsync.types import Secret
from credsync.vault.person_auth import PersonAuth, PersonSignIn

from .helpers import Ctx
from .soft_key import SoftKey

RP = RelyingParty("localhost", "http://localhost")
PASSWORD = "Key-Person-Pa55!"


@pytest.fixture
def auth(ctx: Ctx) -> PersonAuth:
    ctx.vault.person_auth.use_keys(ctx.keys)
    return ctx.vault.person_auth


def _person(ctx: Ctx) -> str:
    username = f"pk-{uuid.uuid4().hex[:8]}"
    cred = ctx.add(f"Login {username}", PASSWORD, username=username)
    ctx.vault.people.add(ctx.admin, ctx.name, {"username": username, "credential": cred.id})
    return username


def _signed(ctx: Ctx, auth: PersonAuth, username: str) -> PersonSignIn:
    return auth.check_password(ctx.client.id, username, Secret(PASSWORD), address="192.0.2.8")


def _add(auth: PersonAuth, sign_in: PersonSignIn, name: str = "YubiKey") -> SoftKey:
    key = SoftKey()
    options = auth.security_keys.registration_options(sign_in, RP)
    auth.security_keys.register(sign_in, RP, name, key.create(options))
    return key


def _sign_in(auth: PersonAuth, sign_in: PersonSignIn, key: SoftKey) -> PersonSignIn:
    options = auth.security_keys.sign_in_options(sign_in, RP)
    assert options is not None
    return auth.security_keys.check(sign_in, RP, key.get(options), address="192.0.2.8")


def test_a_key_enrols_and_then_signs_in(ctx: Ctx, auth: PersonAuth) -> None:
    username = _person(ctx)
    first = _signed(ctx, auth, username)
    assert first.mfa_enrolled is False
    key = _add(auth, first)
    assert auth.mfa_status(first.person_id).security_keys == 1
    [shown] = auth.security_keys.list(first.person_id)
    assert shown.name == "YubiKey"
    assert "credential_id" not in repr(shown)
    again = _signed(ctx, auth, username)
    assert again.mfa_enrolled is True
    done = _sign_in(auth, again, key)
    assert done.mfa is True
    [entry] = ctx.audit("person.security_key_added", first.person_id)
    assert entry.details["key_name"] == "YubiKey"
    factors = {e.details["factor"] for e in ctx.audit("person.sign_in", first.person_id)}
    assert factors == {"password", "security_key"}


def test_refused_answers_count_as_failures(ctx: Ctx, auth: PersonAuth) -> None:
    username = _person(ctx)
    first = _signed(ctx, auth, username)
    key = _add(auth, first)
    signed = _signed(ctx, auth, username)
    options = auth.security_keys.sign_in_options(signed, RP)
    assert options is not None
    answer = key.get(options)
    auth.security_keys.check(signed, RP, answer, address="192.0.2.8")
    with pytest.raises(SignInRefused, match="security key"):  # the same answer again
        auth.security_keys.check(signed, RP, answer, address="192.0.2.8")
    stranger = SoftKey()
    options = auth.security_keys.sign_in_options(signed, RP)
    assert options is not None
    with pytest.raises(SignInRefused):
        auth.security_keys.check(signed, RP, stranger.get(options), address="192.0.2.8")
    clone = dataclasses.replace(key, sign_count=0)
    options = auth.security_keys.sign_in_options(signed, RP)
    assert options is not None
    with pytest.raises(SignInRefused):
        auth.security_keys.check(signed, RP, clone.get(options), address="192.0.2.8")
    reasons = [e.details["reason"] for e in ctx.audit("person.sign_in_failed", signed.person_id)]
    assert any("sign count" in r for r in reasons)
    assert len(reasons) == 3


def test_adding_a_key_needs_the_second_factor_once_there_is_one(ctx: Ctx, auth: PersonAuth) -> None:
    username = _person(ctx)
    first = _signed(ctx, auth, username)
    _add(auth, first)
    password_only = _signed(ctx, auth, username)
    with pytest.raises(PermissionDenied, match="second factor"):
        auth.security_keys.registration_options(password_only, RP)
    with pytest.raises(InvalidInput) as bad:
        auth.security_keys.register(dataclasses.replace(password_only, mfa=True), RP, "", "{}")
    assert bad.value.field == "name"


def test_second_factor_takes_a_key_or_a_code_and_says_when_neither(
    ctx: Ctx, auth: PersonAuth
) -> None:
    """PersonAuth.second_factor, as the self-service pages call it: a key's answer (checked as
    the sign-in checks it), else the app's code; nothing given is named, not counted."""
    username = _person(ctx)
    key = _add(auth, _signed(ctx, auth, username))
    signed = _signed(ctx, auth, username)
    with pytest.raises(InvalidInput) as neither:
        auth.second_factor(signed, address="192.0.2.8")
    assert neither.value.field == "code"
    with pytest.raises(SignInRefused, match="one-time code"):  # no app: any code is wrong
        auth.second_factor(signed, code="123456", address="192.0.2.8")
    options = auth.security_keys.sign_in_options(signed, RP)
    assert options is not None
    with pytest.raises(InvalidInput, match="relying party"):
        auth.second_factor(signed, key_answer=key.get(options), address="192.0.2.8")
    options = auth.security_keys.sign_in_options(signed, RP)
    assert options is not None
    done = auth.second_factor(signed, key_answer=key.get(options), rp=RP, address="192.0.2.8")
    assert done.mfa is True
    failed = ctx.audit("person.sign_in_failed", signed.person_id)
    assert [e.details["reason"] for e in failed] == ["wrong or reused one-time code"]
