"""The self-service change and reset pages with a security key (WebAuthn) as the second
factor, in-process with a software authenticator whose signatures the server verifies for
real: a person whose only factor is a key changes their password with it (the challenge is the
page's, taken once, a wrong current password changes nothing), resets it by a mailed link
with it, and a person with both an app and a key may use either."""

from __future__ import annotations

import dataclasses
import html
import re
import uuid

import pyotp
import pytest

from credsync.crypto.webauthn import RelyingParty
from credsync.storage import credentials as credential_rows
from credsync.testing.smtp import MailTrap
from credsync.types import Secret
from credsync.vault.person_auth import PersonSignIn
from sync.selfservice_world import Someone, add_person, mail_to
from vault.soft_key import SoftKey

from .conftest import WebWorld, csrf_of, page_text

RP = RelyingParty("testserver", "http://testserver")
PASSWORD = "Key-Holder-Pa55word!"
NEW = "Strong-Enough-Pa55"


def _options(text: str) -> str:
    found = re.search(r'data-options="([^"]*)"', text)
    assert found, "no WebAuthn options on the page"
    return html.unescape(found.group(1))


def _version(web: WebWorld, someone: Someone) -> int:
    with web.world.db.read() as conn:
        return int(credential_rows.get(conn, someone.credential_id).secret_version)


def _first(web: WebWorld, someone: Someone) -> PersonSignIn:
    auth = web.world.vault.person_auth
    auth.use_keys(web.world.keys)
    return auth.check_password(
        web.ids["client"], someone.username, Secret(PASSWORD), address="192.0.2.9"
    )


def _with_key(web: WebWorld, *, app: bool = False) -> tuple[Someone, SoftKey, str | None]:
    """A person whose second factor is a key (added as their first: it enrols them), and an
    app too when ``app`` (its secret returned)."""
    someone = add_person(web.world, web.ids["client"], accounts={}, password=PASSWORD,
                         username=f"sskey-{uuid.uuid4().hex[:8]}")  # fmt: skip
    auth = web.world.vault.person_auth
    signed = _first(web, someone)
    secret = None
    if app:
        started = auth.begin_totp(someone.person_id)
        secret = started.seed.reveal()
        auth.confirm_totp(someone.person_id, pyotp.TOTP(secret).now())
        signed = dataclasses.replace(signed, mfa=True)  # as past the app (no code spent)
    key = SoftKey(rp_id="testserver", origin="http://testserver")
    options = auth.security_keys.registration_options(signed, RP)
    auth.security_keys.register(signed, RP, "Desk key", key.create(options))
    return someone, key, secret


def _signed_in(web: WebWorld, someone: Someone, key: SoftKey):
    """A browser signed in to the portal with the password and the key."""
    client, browser = web.ids["client"], web.http
    token = csrf_of(browser.get(f"/my/{client}/sign-in").text)
    step = browser.post(f"/my/{client}/sign-in", data={
        "username": someone.username, "password": PASSWORD, "csrf_token": token})  # fmt: skip
    assert step.headers["location"].startswith(f"/my/{client}/sign-in/code")
    answer = key.get(_options(browser.get(step.headers["location"]).text))
    done = browser.post(f"/my/{client}/sign-in/key",
                        data={"credential": answer, "csrf_token": token})  # fmt: skip
    assert done.status_code == 303, page_text(done.text)
    return browser


def _change(browser, client: str, page: str, **fields: str):
    data = {"csrf_token": csrf_of(page), "current_password": PASSWORD,
            "new_password": NEW, "new_password_again": NEW, **fields}  # fmt: skip
    return browser.post(f"/my/{client}/password", data=data)


def test_a_person_with_only_a_key_changes_their_password_with_it(web: WebWorld) -> None:
    someone, key, _ = _with_key(web)
    client = web.ids["client"]
    browser = _signed_in(web, someone, key)
    page = browser.get(f"/my/{client}/password")
    assert page.status_code == 200
    assert 'data-webauthn="get"' in page.text
    assert "data-webauthn-button" in page.text
    assert "/static/webauthn.js" in page.text
    assert 'autocomplete="one-time-code"' not in page.text  # no app: no code field
    before = _version(web, someone)
    # neither factor: said, nothing stored
    none = _change(browser, client, page.text)
    assert none.status_code == 400
    assert "use your security key" in page_text(none.text)
    # a wrong current password with a good answer: refused before the key is looked at
    answer = key.get(_options(none.text))
    wrong = _change(browser, client, none.text, current_password="Wrong-Pa55word!",
                    credential=answer)  # fmt: skip
    assert wrong.status_code == 400
    assert "Wrong username or password" in page_text(wrong.text)
    assert _version(web, someone) == before
    # a good answer to the page's challenge
    answer = key.get(_options(wrong.text))
    done = _change(browser, client, wrong.text, credential=answer)
    assert done.status_code == 200, page_text(done.text)
    assert "Password changed" in page_text(done.text)
    assert _version(web, someone) == before + 1
    assert web.world.vault.person_auth.check_password(
        client, someone.username, Secret(NEW), address="192.0.2.9"
    )
    # the same answer again: its challenge is spent
    again = browser.get(f"/my/{client}/password")
    replayed = _change(browser, client, again.text, current_password=NEW, credential=answer)
    assert replayed.status_code == 400
    assert "answer was refused" in page_text(replayed.text)
    assert _version(web, someone) == before + 1
    factors = [
        e.details["factor"]
        for e in web.world.vault.audit.list(
            web.world.admin, action="person.sign_in", target_id=someone.person_id
        )
    ]
    assert factors.count("security_key") == 2  # the sign-in and the change
    failed = web.world.vault.audit.list(
        web.world.admin, action="person.sign_in_failed", target_id=someone.person_id
    )
    assert len(failed) == 2  # the wrong password, the replayed answer
    assert NEW not in str([e.details for e in failed])


@pytest.mark.parametrize("factor", ["code", "key"])
def test_a_person_with_an_app_and_a_key_may_use_either(web: WebWorld, factor: str) -> None:
    someone, key, secret = _with_key(web, app=True)
    assert secret is not None
    client = web.ids["client"]
    browser = _signed_in(web, someone, key)
    page = browser.get(f"/my/{client}/password")
    assert 'autocomplete="one-time-code"' in page.text
    assert 'data-webauthn="get"' in page.text
    given = (
        {"code": pyotp.TOTP(secret).at(web.world.vault.person_auth.clock() + 30)}
        if factor == "code"
        else {"credential": key.get(_options(page.text))}
    )
    done = _change(browser, client, page.text, **given)
    assert done.status_code == 200, page_text(done.text)
    assert "Password changed" in page_text(done.text)


def test_a_reset_link_takes_the_key(web: WebWorld, mail_trap: MailTrap) -> None:
    mail_to(web.world, mail_trap)
    someone, key, _ = _with_key(web)
    client = web.ids["client"]
    web.world.vault.self_service.request_reset(
        web.world.keys, client, someone.username, address="192.0.2.9"
    )
    [mail] = mail_trap.wait_for(1)
    [link] = [u for u in mail.links() if "/reset/" in u]
    path = link.removeprefix("https://vault.msp.test")
    browser = web.http
    page = browser.get(path)
    assert page.status_code == 200
    assert "your security key" in page_text(page.text)
    assert 'autocomplete="one-time-code"' not in page.text
    before = _version(web, someone)
    fields = {"csrf_token": csrf_of(page.text), "new_password": NEW, "new_password_again": NEW}
    stranger = SoftKey(rp_id="testserver", origin="http://testserver")
    refused = browser.post(path, data={**fields, "credential": stranger.get(_options(page.text))})
    assert refused.status_code == 400
    assert "answer was refused" in page_text(refused.text)
    assert _version(web, someone) == before
    done = browser.post(path, data={**fields, "credential": key.get(_options(refused.text))})
    assert done.status_code == 200, page_text(done.text)
    assert "Password reset" in page_text(done.text)
    assert _version(web, someone) == before + 1
    assert browser.get(path).status_code == 410  # the link is used
