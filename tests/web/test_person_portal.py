"""The person portal in-process (``/my/{client_id}/...``, issue 17): a person signs in with
their vault password and sets up an authenticator app right there; a person session is no
operator's and an operator's is no person's; no open redirect; one refusal message; the limit
(429); CSRF on every post; cookies HttpOnly, SameSite=Lax, per client."""

from __future__ import annotations

import time
import uuid

import pyotp

from credsync.types import Secret
from credsync.vault.drafts import make_draft

from .conftest import WebWorld, csrf_of, page_text

PASSWORD = "Portal-Pa55word!"


def _person(web: WebWorld) -> tuple[str, str, str]:
    """A person of Contoso with a password: (client id, person id, username)."""
    vault, admin, keys = web.world.vault, web.world.admin, web.world.keys
    username = f"portal-{uuid.uuid4().hex[:6]}@contoso.example"
    client = web.ids["client"]
    cred = vault.credentials.add(
        admin,
        keys,
        client,
        make_draft(title=username, username=username, password=Secret(PASSWORD)),
    )
    person = vault.people.add(
        admin, client,
        {"username": username, "given_name": "Petra", "surname": "Portal", "credential": cred.id},
    )  # fmt: skip
    return client, person.id, username


def _password(web: WebWorld, client: str, username: str, password: str = PASSWORD, **extra: str):
    browser = web.http
    token = csrf_of(browser.get(f"/my/{client}/sign-in").text)
    data = {"username": username, "password": password, "csrf_token": token, **extra}
    return browser, browser.post(f"/my/{client}/sign-in", data=data), token


def _enrolled_sign_in(web: WebWorld, next_url: str = ""):
    client, pid, username = _person(web)
    browser, answer, token = _password(web, client, username, next=next_url)
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"].startswith(f"/my/{client}/sign-in/enrol?next=")
    page = browser.get(answer.headers["location"])
    assert page.status_code == 200
    secret = page_text(page.text).split("Secret: ")[1].split()[0]
    assert browser.get(answer.headers["location"]).text.count(secret) == 1  # the same pending seed
    done = browser.post(
        f"/my/{client}/sign-in/enrol",
        data={"code": pyotp.TOTP(secret).now(), "csrf_token": token, "next": next_url},
    )
    return browser, done, client, pid, username, secret


def test_a_person_signs_in_and_sets_up_an_app_on_the_way(web: WebWorld) -> None:
    browser, done, client, pid, username, _ = _enrolled_sign_in(web)
    assert done.status_code == 303, done.text
    assert done.headers["location"] == f"/my/{client}/"
    [cookie] = [c for c in done.headers.get_list("set-cookie") if c.startswith("credsync_person=")]
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie or "samesite=lax" in cookie.lower()
    assert f"Path=/my/{client}" in cookie
    home = browser.get(f"/my/{client}/")
    assert home.status_code == 200
    text = page_text(home.text)
    assert username in text
    assert "Authenticator app on" in text
    assert f'href="/my/{client}/password"' in home.text
    assert "Operators" not in text  # no operator navigation
    entries = web.world.vault.audit.list(web.world.admin, action="person.sign_in", target_id=pid)
    assert {e.details["factor"] for e in entries} == {"password", "totp_enrolment"}


def test_a_person_session_is_no_operators_and_an_operators_no_persons(web: WebWorld) -> None:
    browser, _, client, _, _, _ = _enrolled_sign_in(web)
    assert browser.get("/").status_code == 303  # the dashboard: not signed in
    assert browser.get("/api/v1/auth/whoami").status_code == 401
    operator = web.signed_in("admin")
    answer = operator.get(f"/my/{client}/")
    assert answer.status_code == 303
    assert answer.headers["location"].startswith(f"/my/{client}/sign-in")


def test_the_next_page_is_a_same_site_path_only(web: WebWorld) -> None:
    for evil in ("//evil.example/x", "https://evil.example/", "/\\evil.example"):
        _, done, client, *_ = _enrolled_sign_in(web, next_url=evil)
        assert done.headers["location"] == f"/my/{client}/", evil
    _, done, client, *_ = _enrolled_sign_in(web, next_url="/my/somewhere/password")
    assert done.headers["location"] == "/my/somewhere/password"


def test_wrong_passwords_get_one_message_then_the_limit(web: WebWorld) -> None:
    client, _, username = _person(web)
    _, unknown, _ = _password(web, client, "nobody-" + username)
    _, wrong, _ = _password(web, client, username, "Wrong-Pa55word!")
    assert unknown.status_code == wrong.status_code == 401
    message = "Wrong username or password, or this account can't sign in here."
    assert message in page_text(wrong.text)
    assert message in page_text(unknown.text)
    for _ in range(4):  # five wrong passwords of the person in all
        _password(web, client, username, "Wrong-again-1!")
    _, limited, _ = _password(web, client, username)
    assert limited.status_code == 429
    assert "try again in" in page_text(limited.text)
    assert int(limited.headers["retry-after"]) > 0


def test_a_replayed_code_is_refused_and_the_code_step_needs_the_pending_sign_in(
    web: WebWorld,
) -> None:
    _, _, client, _, username, secret = _enrolled_sign_in(web)
    browser, answer, token = _password(web, client, username)
    assert answer.headers["location"].startswith(f"/my/{client}/sign-in/code")
    assert web.http.get(answer.headers["location"]).status_code == 303  # another browser
    used = pyotp.TOTP(secret).at(time.time())
    replayed = browser.post(f"/my/{client}/sign-in/code", data={"code": used, "csrf_token": token})
    assert replayed.status_code == 401
    assert "already used" in page_text(replayed.text)
    later = pyotp.TOTP(secret).at(time.time() + 30)
    done = browser.post(f"/my/{client}/sign-in/code", data={"code": later, "csrf_token": token})
    assert done.status_code == 303


def test_posts_need_the_csrf_token_and_sign_out_ends_the_session(web: WebWorld) -> None:
    browser, _, client, pid, _, _ = _enrolled_sign_in(web)
    refused = browser.post(f"/my/{client}/sign-out", data={})
    assert refused.status_code == 403
    assert browser.get(f"/my/{client}/").status_code == 200
    token = csrf_of(browser.get(f"/my/{client}/").text)
    out = browser.post(f"/my/{client}/sign-out", data={"csrf_token": token})
    assert out.status_code == 303
    assert browser.get(f"/my/{client}/").status_code == 303
    assert web.world.vault.audit.list(web.world.admin, action="person.sign_out", target_id=pid)


def test_no_portal_for_a_client_that_is_not_there(web: WebWorld) -> None:
    assert web.http.get(f"/my/{uuid.uuid4()}/sign-in").status_code == 404


def test_the_keys_page_offers_to_add_a_key(web: WebWorld) -> None:
    browser, _, client, *_ = _enrolled_sign_in(web)
    page = browser.get(f"/my/{client}/keys")
    assert page.status_code == 200
    assert 'data-webauthn="create"' in page.text
    assert "You have no security keys." in page_text(page.text)


def test_the_dashboards_person_page_shows_the_mfa_and_resets_it_for_vault_write(
    web: WebWorld,
) -> None:
    browser, _, client, pid, _, _ = _enrolled_sign_in(web)
    viewer = web.signed_in("viewer")
    shown = viewer.get(f"/people/{pid}")
    assert "authenticator app on; 0 security keys" in page_text(shown.text)
    assert "mfa-reset" not in shown.text  # no button without vault.write
    refused = viewer.post(f"/people/{pid}/mfa-reset", data={"csrf_token": web.csrf(viewer)})
    assert refused.status_code == 403
    denied = web.world.vault.audit.list(web.world.admin, action="permission.denied", limit=5)
    assert any(e.details.get("permissions") == ["vault.write"] for e in denied)
    tech = web.signed_in("technician")
    page = tech.get(f"/people/{pid}")
    assert f'action="/people/{pid}/mfa-reset"' in page.text
    done = tech.post(f"/people/{pid}/mfa-reset", data={"csrf_token": csrf_of(page.text)})
    assert done.status_code == 303
    assert "authenticator app off" in page_text(tech.get(done.headers["location"]).text)
    assert browser.get(f"/my/{client}/").status_code == 303  # the person's session ended
    [entry] = web.world.vault.audit.list(
        web.world.admin, action="person.mfa_reset", target_id=pid, limit=5
    )
    assert entry.details["sessions_ended"] == 1
