"""The dashboard's MFA pages in-process: the second step of sign-in (a pending sign-in is no
session, works only in the browser that gave the password, can't be forged, and its wrong codes
are limited), an admin's reset and the requirement form (admins only), turning one's own off."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import totp_clock
from credsync.api.state import LoginLimiter
from credsync.types import Secret

from .conftest import WebWorld, csrf_of, operator_password

VIEWER = "op-viewer"


@pytest.fixture(autouse=True)
def _mid_step_clock(web: WebWorld) -> Iterator[None]:
    yield from totp_clock.held(web.world.vault.mfa)


code = totp_clock.code


def enrol(web: WebWorld, name: str = VIEWER) -> str:
    vault = web.world.vault
    actor = vault.access.login_password(name, Secret(operator_password("viewer")))
    started = vault.mfa.begin(actor)
    vault.mfa.confirm(actor, code(started.secret.reveal()))
    return started.secret.reveal()


def password_step(web: WebWorld, browser=None):
    browser = browser or web.http
    token = csrf_of(browser.get("/sign-in").text)
    data = {"name": VIEWER, "password": operator_password("viewer"), "csrf_token": token}
    return browser, browser.post("/sign-in", data=data), token


def test_the_password_alone_gives_a_pending_sign_in_not_a_session(web: WebWorld) -> None:
    secret = enrol(web)
    browser, answer, token = password_step(web)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/sign-in/code?next=/"
    cookies = answer.headers.get_list("set-cookie")
    assert not [c for c in cookies if c.startswith("credsync_session=")]
    [pending] = [c for c in cookies if c.startswith("credsync_mfa=")]
    assert "HttpOnly" in pending
    assert "Path=/sign-in" in pending
    assert browser.get("/").status_code == 303  # not signed in
    # the API knows no such thing either
    assert browser.get("/api/v1/auth/whoami").status_code == 401
    form = browser.get("/sign-in/code")
    assert form.status_code == 200
    assert 'autocomplete="one-time-code"' in form.text
    # another browser with the cookie copied, but its own pre-session cookie: refused
    thief = web.http
    csrf_of(thief.get("/sign-in").text)
    thief.cookies.set("credsync_mfa", browser.cookies.get("credsync_mfa"))
    assert thief.get("/sign-in/code").status_code == 303  # back to the password
    stolen = thief.post("/sign-in/code", data={"code": code(secret, 1), "csrf_token": token})
    assert stolen.status_code == 401
    assert "sign in again" in stolen.text
    # a forged pending sign-in: refused
    forged = web.http
    csrf_of(forged.get("/sign-in").text)
    value = browser.cookies.get("credsync_mfa")
    forged.cookies.set("credsync_mfa", value[:-4] + ("0000" if value[-4:] != "0000" else "1111"))
    assert forged.get("/sign-in/code").status_code == 303
    # the form's token is needed
    no_token = browser.post("/sign-in/code", data={"code": code(secret, 1)})
    assert no_token.status_code == 403
    done = browser.post(
        "/sign-in/code", data={"code": code(secret, 1), "csrf_token": token, "next": "/flags"}
    )
    assert done.status_code == 303
    assert done.headers["location"] == "/flags"
    assert browser.get("/").status_code == 200
    login = web.world.vault.audit.list(web.world.admin, action="auth.web_login", limit=1)[0]
    assert login.details["mfa"] == "passed"


def test_wrong_codes_are_limited_and_the_right_password_does_not_clear_them(web: WebWorld) -> None:
    web.state.limiter = LoginLimiter.of_vault(web.world.db, web.world.keys, limit=3)
    secret = enrol(web)
    wrong = next(
        c for c in ("111111", "222222", "333333") if c not in (code(secret), code(secret, 1))
    )
    statuses = []
    for _ in range(4):
        browser, answer, token = password_step(web)
        if answer.status_code != 303:
            statuses.append(answer.status_code)
            break
        statuses.append(
            browser.post("/sign-in/code", data={"code": wrong, "csrf_token": token}).status_code
        )
    assert statuses == [401, 401, 401, 429]
    assert web.world.vault.audit.list(web.world.admin, action="auth.failed", limit=10)


def test_admins_reset_an_operator_s_mfa_and_set_the_requirement(web: WebWorld) -> None:
    enrol(web)
    viewer = web.signed_in("viewer")
    refused = viewer.post(
        f"/operators/{web.ids['operator']}/mfa/reset", data={"csrf_token": web.csrf(viewer)}
    )
    assert refused.status_code == 403
    admin = web.signed_in("admin")
    token = web.csrf(admin)
    target = web.world.vault.operators.get(web.world.admin, VIEWER)
    page = admin.get(f"/operators/{target.id}")
    assert 'id="operator-mfa">on<' in page.text
    done = admin.post(f"/operators/{target.id}/mfa/reset", data={"csrf_token": token})
    assert done.status_code == 303
    assert (
        "second factor removed; 1 session of theirs ended."
        in admin.get(done.headers["location"]).text
    )
    assert web.world.vault.mfa.status(web.world.admin, VIEWER).state == "off"
    assert viewer.get("/").status_code == 303  # their session ended
    assert (
        admin.post(
            "/mfa/require", data={"csrf_token": token, "scope": "viewer", "required": "yes"}
        ).status_code
        == 303
    )
    roles = admin.get("/roles").text
    assert "Required of the holders of: <strong>viewer</strong>" in roles
    assert web.world.vault.mfa.requirement(web.world.admin).roles == ("viewer",)
    # the viewer signs in again: only the MFA page is open to them
    browser, answer, _ = password_step(web)
    assert answer.headers["location"] == "/account/mfa"
    assert browser.get("/").headers["location"] == "/account/mfa"
    assert browser.get("/account/mfa").status_code == 200
    assert browser.get("/api/v1/clients").json()["error"]["code"] == "mfa_enrollment_required"
    technician = web.signed_in("technician")
    assert (
        technician.post(
            "/mfa/require", data={"csrf_token": web.csrf(technician), "required": "yes"}
        ).status_code
        == 403
    )


def test_turning_one_s_own_off_needs_the_password_and_a_code(web: WebWorld) -> None:
    secret = enrol(web)
    browser, _, token = password_step(web)
    browser.post("/sign-in/code", data={"code": code(secret, 1), "csrf_token": token})
    page = browser.get("/account/mfa")
    csrf = csrf_of(page.text)
    wrong = browser.post(
        "/account/mfa/disable", data={"csrf_token": csrf, "password": "nope-nope", "code": "123456"}
    )
    assert wrong.status_code == 401
    assert "not your password" in wrong.text
    done = browser.post(
        "/account/mfa/disable",
        data={"csrf_token": csrf, "password": operator_password("viewer"), "code": code(secret, 2)},
    )
    assert done.status_code == 401  # two steps ahead: outside the skew
    done = browser.post(
        "/account/mfa/disable",
        data={"csrf_token": csrf, "password": operator_password("viewer"), "code": code(secret, 0)},
    )
    assert done.status_code == 401  # older than the step the sign-in used
    web.world.vault.mfa.clock = lambda: (
        totp_clock.NOW[0] + 60
    )  # a minute on: two steps ahead is now
    try:
        done = browser.post(
            "/account/mfa/disable",
            data={
                "csrf_token": csrf,
                "password": operator_password("viewer"),
                "code": code(secret, 2),
            },
        )
    finally:
        web.world.vault.mfa.clock = lambda: totp_clock.NOW[0]
    assert done.status_code == 303
    assert "Sign-in with a second factor is off." in browser.get(done.headers["location"]).text
    assert web.world.vault.mfa.status(web.world.admin, VIEWER).state == "off"
