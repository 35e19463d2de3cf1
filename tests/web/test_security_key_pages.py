"""The dashboard's security-key pages in-process, with a software authenticator (real ES256
signatures): adding a key from the account page (CSRF, the first key passes the session's
second factor), removing one (one's own only), and the sign-in's second step with a key (a
pending sign-in of this browser only, the form's token, the challenge once, refused answers
counted by the sign-in limiter)."""

from __future__ import annotations

import dataclasses
import html
import re
import time

import pyotp

from credsync.api.state import LoginLimiter
from credsync.types import Secret
from vault.soft_key import SoftKey

from .conftest import WebWorld, csrf_of, operator_password
from .test_mfa_pages import password_step

VIEWER = "op-viewer"


def soft_key() -> SoftKey:
    return SoftKey(rp_id="testserver", origin="http://testserver")


def options_in(page: str) -> str:
    found = re.search(r'data-options="([^"]*)"', page)
    assert found, "no WebAuthn options on the page"
    return html.unescape(found.group(1))


def add_key(web: WebWorld, browser, name: str = "Desk key", key: SoftKey | None = None):
    key = key or soft_key()
    csrf = csrf_of(browser.get("/account/mfa").text)
    form = browser.post("/account/mfa/keys/new", data={"csrf_token": csrf})
    assert form.status_code == 200, form.text
    answer = key.create(options_in(form.text))
    done = browser.post(
        "/account/mfa/keys", data={"csrf_token": csrf, "name": name, "credential": answer}
    )
    return key, done


def test_a_key_is_added_and_removed_on_the_account_page(web: WebWorld) -> None:
    viewer = web.signed_in("viewer")
    _, done = add_key(web, viewer)
    assert done.status_code == 303
    page = viewer.get(done.headers["location"])
    assert "Security key &#39;Desk key&#39; added." in page.text
    assert 'id="security-keys"' in page.text
    assert "Desk key" in page.text
    # the first key passed this session's second factor: it may add another
    again = viewer.post("/account/mfa/keys/new", data={"csrf_token": web.csrf(viewer)})
    assert again.status_code == 200
    # a post without a browser's answer, or a bad one: the form again, the field named
    empty = viewer.post(
        "/account/mfa/keys", data={"csrf_token": web.csrf(viewer), "name": "x", "credential": ""}
    )
    assert empty.status_code == 400
    assert "needs JavaScript" in empty.text
    bad = viewer.post(
        "/account/mfa/keys", data={"csrf_token": web.csrf(viewer), "name": "x", "credential": "{}"}
    )
    assert bad.status_code == 400
    assert "Security key:" in bad.text
    (shown,) = web.world.vault.mfa.status(web.world.admin, VIEWER).security_keys
    # another operator can't remove it
    technician = web.signed_in("technician")
    theirs = technician.post(
        f"/account/mfa/keys/{shown.id}/remove", data={"csrf_token": web.csrf(technician)}
    )
    assert theirs.status_code == 404
    assert web.world.vault.mfa.status(web.world.admin, VIEWER).security_keys
    gone = viewer.post(
        f"/account/mfa/keys/{shown.id}/remove", data={"csrf_token": web.csrf(viewer)}
    )
    assert gone.status_code == 303
    assert "removed" in viewer.get(gone.headers["location"]).text
    assert web.world.vault.mfa.status(web.world.admin, VIEWER).state == "off"
    actions = [e.action for e in web.world.vault.audit.list(web.world.admin, limit=30)]
    assert "mfa.webauthn_added" in actions
    assert "mfa.webauthn_removed" in actions


def test_sign_in_with_a_key_on_the_second_step(web: WebWorld) -> None:
    key, _ = add_key(web, web.signed_in("viewer"))
    browser, answer, token = password_step(web)
    assert answer.headers["location"] == "/sign-in/code?next=/"
    step = browser.get("/sign-in/code")
    assert step.status_code == 200
    assert 'data-webauthn="get"' in step.text
    assert "/static/webauthn.js" in step.text
    assert 'autocomplete="one-time-code"' not in step.text  # no authenticator app
    signed = key.get(options_in(step.text))
    # the form's token is needed, and the pending sign-in of this browser
    assert browser.post("/sign-in/key", data={"credential": signed}).status_code == 403
    stranger = web.http
    csrf_of(stranger.get("/sign-in").text)
    lost = stranger.post("/sign-in/key", data={"credential": signed, "csrf_token": token})
    assert lost.status_code == 401
    assert "sign in again" in lost.text
    done = browser.post(
        "/sign-in/key", data={"credential": signed, "csrf_token": token, "next": "/flags"}
    )
    assert done.status_code == 303
    assert done.headers["location"] == "/flags"
    assert browser.get("/").status_code == 200
    login = web.world.vault.audit.list(web.world.admin, action="auth.web_login", limit=1)[0]
    assert login.details["mfa"] == "passed"
    # the same answer again, in a new sign-in: its challenge is spent
    browser, _, token = password_step(web)
    replayed = browser.post("/sign-in/key", data={"credential": signed, "csrf_token": token})
    assert replayed.status_code == 401
    assert "answer was refused" in replayed.text
    assert "credsync_session" not in replayed.headers.get("set-cookie", "")


def test_refused_answers_are_limited_like_wrong_codes(web: WebWorld) -> None:
    web.state.limiter = LoginLimiter.of_vault(web.world.db, web.world.keys, limit=3)
    key, _ = add_key(web, web.signed_in("viewer"))
    statuses = []
    for _ in range(4):
        browser, answer, token = password_step(web)
        if answer.status_code != 303:
            statuses.append(answer.status_code)
            break
        step = browser.get("/sign-in/code")
        forged = key.get(options_in(step.text), origin="http://evil.example")
        statuses.append(
            browser.post(
                "/sign-in/key", data={"credential": forged, "csrf_token": token}
            ).status_code
        )
    assert statuses == [401, 401, 401, 429]


def test_an_operator_with_a_key_and_an_app_gets_both(web: WebWorld) -> None:
    viewer = web.signed_in("viewer")
    add_key(web, viewer)
    vault = web.world.vault
    row = vault.access.check_password(VIEWER, Secret(operator_password("viewer")))
    with web.world.db.write() as conn:
        actor = dataclasses.replace(vault.access.signed_in(conn, row), mfa=True)
    started = vault.mfa.begin(actor)
    vault.mfa.confirm(actor, pyotp.TOTP(started.secret.reveal()).at(time.time()))
    browser, _, _ = password_step(web)
    step = browser.get("/sign-in/code").text
    assert 'data-webauthn="get"' in step
    assert 'autocomplete="one-time-code"' in step


def test_an_operator_who_must_enrol_may_do_it_with_a_key(web: WebWorld) -> None:
    web.world.vault.mfa.set_required(web.world.admin, True, role="viewer")
    try:
        browser, answer, _ = password_step(web)
        assert answer.headers["location"] == "/account/mfa"
        assert browser.get("/").headers["location"] == "/account/mfa"  # only the MFA page
        _, done = add_key(web, browser)
        assert done.status_code == 303
        assert browser.get("/").status_code == 200  # the key passed this session's MFA
        # and the next sign-in needs the key
        browser, answer, _ = password_step(web)
        assert answer.headers["location"] == "/sign-in/code?next=/"
    finally:
        web.world.vault.mfa.set_required(web.world.admin, False, role="viewer")
