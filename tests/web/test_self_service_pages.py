"""The mail server page and the self-service pages in-process: the admin sets the mail server
and sends a test message (a bad field named, the password never shown back); an operator's
invitation from a person's page; a link that is not valid answers 410; a post without the
form's token changes nothing; the reset page says the same for anyone; signed out, the change
page sends to the sign-in."""

from __future__ import annotations

import re
import time

import pyotp

from credsync.storage import credentials as credential_rows
from credsync.testing.smtp import MailTrap
from sync.selfservice_world import add_person

from .conftest import WebWorld, csrf_of, page_text


def _requests_done(web: WebWorld, count: int) -> None:
    """Wait until ``count`` reset requests are done (they run after the page answered)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        done = web.world.vault.audit.list(web.world.admin, action="person.reset_requested")
        if len(done) >= count:
            return
        time.sleep(0.02)
    raise AssertionError(f"{count} reset requests were not done")


def _mail(web: WebWorld, trap: MailTrap) -> None:
    admin = web.signed_in("admin")
    token = csrf_of(admin.get("/mail").text)
    answer = admin.post("/mail", data={
        "csrf_token": token, "host": "127.0.0.1", "port": str(trap.port), "security": "none",
        "from_address": "vault@msp.test", "public_url": "https://vault.msp.test",
        "username": "", "password": "",
    })  # fmt: skip
    assert answer.status_code == 303, page_text(answer.text)


def test_the_admin_sets_the_mail_server_and_sends_a_test(
    web: WebWorld, mail_trap: MailTrap
) -> None:
    admin = web.signed_in("admin")
    token = csrf_of(admin.get("/mail").text)
    refused = admin.post("/mail", data={
        "csrf_token": token, "host": "smtp.example.com", "security": "none",
        "from_address": "vault@msp.test", "public_url": "https://vault.msp.test",
        "password": "smtp-secret-Q7",
    })  # fmt: skip
    assert refused.status_code == 400
    assert "only to this machine" in page_text(refused.text)
    assert "smtp-secret-Q7" not in refused.text
    assert not web.world.vault.mail.configured()
    _mail(web, mail_trap)
    shown = admin.get("/mail")
    assert f"127.0.0.1:{mail_trap.port}" in page_text(shown.text)
    sent = admin.post("/mail/test", data={"csrf_token": token, "address": "ops@msp.test"})
    assert sent.status_code == 303
    assert mail_trap.wait_for(1)[0].recipients == ("ops@msp.test",)


def test_an_operator_invites_a_person_awaiting_onboarding(
    web: WebWorld, mail_trap: MailTrap
) -> None:
    _mail(web, mail_trap)
    ada = add_person(web.world, web.ids["client"], accounts={}, awaiting=True)
    admin = web.signed_in("admin")
    person_page = admin.get(f"/people/{ada.person_id}")
    assert 'id="person-invite"' in person_page.text
    token = csrf_of(person_page.text)
    answer = admin.post(f"/people/{ada.person_id}/invite", data={"csrf_token": token})
    assert answer.status_code == 303
    [mail] = mail_trap.wait_for(1)
    assert mail.recipients == (ada.email,)
    shown = page_text(admin.get(f"/people/{ada.person_id}").text)
    assert "Invitation pending, sent; valid until" in shown
    [link] = mail.links()
    path = link.removeprefix("https://vault.msp.test")
    browser = web.http
    page = browser.get(path)
    assert page.status_code == 200
    secret = page_text(page.text).split("Secret: ")[1].split()[0]
    form_token = csrf_of(page.text)
    with web.world.db.read() as conn:
        before = credential_rows.get(conn, ada.credential_id).secret_version
    no_token = browser.post(path, data={
        "new_password": "Strong-Enough-Pa55", "new_password_again": "Strong-Enough-Pa55",
        "code": pyotp.TOTP(secret).now(),
    })  # fmt: skip
    assert no_token.status_code == 400
    assert "expired" in page_text(no_token.text)
    differ = browser.post(path, data={
        "csrf_token": form_token, "new_password": "Strong-Enough-Pa55",
        "new_password_again": "Strong-Enough-Pa56", "code": pyotp.TOTP(secret).now(),
    })  # fmt: skip
    assert "The two new passwords differ" in page_text(differ.text)
    with web.world.db.read() as conn:
        assert credential_rows.get(conn, ada.credential_id).secret_version == before
    done = browser.post(path, data={
        "csrf_token": form_token, "new_password": "Strong-Enough-Pa55",
        "new_password_again": "Strong-Enough-Pa55", "code": pyotp.TOTP(secret).now(),
    })  # fmt: skip
    assert done.status_code == 200, page_text(done.text)
    assert "Your new password is kept" in page_text(done.text)
    assert browser.get(path).status_code == 410


def test_links_that_are_not_valid_and_the_reset_page(web: WebWorld, mail_trap: MailTrap) -> None:
    client = web.ids["client"]
    browser = web.http
    for path in (f"/my/{client}/welcome/not-a-token", f"/my/{client}/reset/not-a-token"):
        answer = browser.get(path)
        assert answer.status_code == 410
        assert "This link does not work" in page_text(answer.text)
    assert browser.get("/my/no-such-client/reset").status_code == 404
    _mail(web, mail_trap)
    ada = add_person(web.world, client, accounts={})
    page = browser.get(f"/my/{client}/reset")
    token = csrf_of(page.text)
    said = []
    for n, who in enumerate(("nobody-at-all", ada.username), start=1):
        answer = browser.post(f"/my/{client}/reset", data={"csrf_token": token, "who": who})
        assert answer.status_code == 200
        said.append(re.findall(r'role="status">([^<]+)<', answer.text))
        _requests_done(web, n)
    assert said[0] == said[1]
    assert [m.recipients for m in mail_trap.wait_for(1)] == [(ada.email,)]
    signed_out = browser.get(f"/my/{client}/password")
    assert signed_out.status_code == 303
    assert signed_out.headers["location"].startswith(f"/my/{client}/sign-in?next=")
