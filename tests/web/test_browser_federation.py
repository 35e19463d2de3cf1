"""Federated sign-in to Office 365 through the vault, end to end in Debian's Chromium: the
Graph simulator's sign-in (home realm discovery for a federated domain) sends the person to
the vault's identity provider, they sign in at the person portal with their vault password
and the code of their authenticator app, and the signed response, posted back to the
simulator's ``login.srf``, signs them in there. Then what must fail fails with Microsoft's
errors (a wrong password stays at the vault; a tampered response AADSTS50006; a certificate
Entra doesn't know AADSTS5000811; an issuer that isn't the domain's, even by a trailing
slash, AADSTS50107), and a signing-key rollover (next certificate published, then made
current) goes by without a failed sign-in."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, urlencode

import pytest

from credsync.testing.graphsim import sign_in_entries

from .federation_world import PASSWORD, FedWorld, federated
from .test_browser import browser, shot

__all__ = ["browser"]


@pytest.fixture(scope="module")
def fed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FedWorld]:
    with federated(tmp_path_factory.mktemp("idp-e2e")) as world:
        yield world


@pytest.fixture(scope="module")
def page(browser: Any, fed: FedWorld) -> Iterator[Any]:
    """One browser for the module: the person signs in once (a wrong password first, then
    the right one and the app's code), and later sign-ins reuse their portal session."""
    # Chromium knows neither test CA (the vault's nor the simulator's)
    context = browser.new_context(viewport={"width": 1200, "height": 800},
                                  ignore_https_errors=True)  # fmt: skip
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        page.goto(fed.start_url)
        # a wrong password stays at the vault: Microsoft never hears of it
        _portal_sign_in(page, fed, "Not-the-Pa55word!")
        assert "Wrong username or password" in page.content()
        _portal_sign_in(page, fed)
        page.wait_for_url(f"{fed.url}/my/{fed.client_id}/sign-in/code**")
        page.get_by_label("Code").fill(fed.totp.now())
        page.get_by_role("button", name="Sign in").click()
        yield page
    finally:
        context.close()


def _portal_sign_in(page: Any, fed: FedWorld, password: str = PASSWORD) -> None:
    page.wait_for_url(f"{fed.url}/my/{fed.client_id}/sign-in**")
    page.get_by_label("Username").fill(fed.username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def _signed_in_at_microsoft(page: Any, fed: FedWorld) -> None:
    page.wait_for_url(f"{fed.sim.url}/login.srf")
    signed = page.locator("#signed-in")
    assert signed.get_attribute("data-upn") == fed.upn


def _error_at_microsoft(page: Any, fed: FedWorld) -> str:
    page.wait_for_url(f"{fed.sim.url}/login.srf")
    return str(page.locator("#error").inner_text())


def test_a_person_signs_in_to_office_365_with_password_and_totp(page: Any, fed: FedWorld) -> None:
    _signed_in_at_microsoft(page, fed)  # the module's first sign-in (see ``page``)
    shot(page, "idp-signed-in-at-microsoft")
    [entry] = [e for e in sign_in_entries(fed.tenant) if e["userPrincipalName"] == fed.upn][-1:]
    assert entry["status"]["errorCode"] == 0
    audit = fed.world.vault.audit.list(fed.world.admin, action="idp.sign_in", limit=1)[0]
    assert audit.target_id == fed.person_id
    # signed in at the vault already: the next sign-in goes straight through
    page.goto(fed.start_url)
    _signed_in_at_microsoft(page, fed)


def _sign_in_once(page: Any, fed: FedWorld) -> None:
    page.goto(fed.start_url)
    _signed_in_at_microsoft(page, fed)


def test_a_tampered_response_fails_with_microsofts_error(page: Any, fed: FedWorld) -> None:
    _sign_in_once(page, fed)

    def tamper(route: Any) -> None:
        form = dict(parse_qsl(route.request.post_data or ""))
        xml = base64.b64decode(form["SAMLResponse"])
        form["SAMLResponse"] = base64.b64encode(
            xml.replace(fed.upn.encode(), f"admin@{fed.domain.domain}".encode())
        ).decode()
        route.continue_(post_data=urlencode(form))

    page.route(f"{fed.sim.url}/login.srf", tamper)
    page.goto(fed.start_url)
    assert "AADSTS50006" in _error_at_microsoft(page, fed)
    page.unroute(f"{fed.sim.url}/login.srf")


def test_a_certificate_entra_does_not_know_and_an_issuer_mismatch_fail(
    page: Any, fed: FedWorld
) -> None:
    _sign_in_once(page, fed)
    saved = fed.config
    other = fed.world.vault.clients.add(fed.world.admin, fed.world.keys, "Other client")
    foreign, _ = fed.world.vault.idp_keys.certificates(other.id)
    try:
        fed.set_config(signingCertificate=foreign.b64)
        page.goto(fed.start_url)
        assert "AADSTS5000811" in _error_at_microsoft(page, fed)
        fed.set_config(signingCertificate=saved["signingCertificate"])
        fed.set_config(issuerUri=saved["issuerUri"] + "/")  # a trailing slash is a mismatch
        page.goto(fed.start_url)
        assert "AADSTS50107" in _error_at_microsoft(page, fed)
    finally:
        fed.set_config(**saved)
    page.goto(fed.start_url)
    _signed_in_at_microsoft(page, fed)


def test_signing_key_rollover_goes_by_without_a_failed_sign_in(page: Any, fed: FedWorld) -> None:
    _sign_in_once(page, fed)
    vault, admin = fed.world.vault, fed.world.admin
    before = len([e for e in sign_in_entries(fed.tenant) if e["status"]["errorCode"] != 0])
    new = vault.idp_keys.begin_rotation(admin, fed.client_id)
    fed.set_config(nextSigningCertificate=new.b64)  # published first, as PATCH would
    page.goto(fed.start_url)
    _signed_in_at_microsoft(page, fed)  # still the old key
    old = vault.idp_keys.finish_rotation(admin, fed.client_id)
    assert old.key_id == new.key_id
    page.goto(fed.start_url)
    _signed_in_at_microsoft(page, fed)  # the new key, Entra still knows it as next
    fed.set_config(signingCertificate=new.b64, nextSigningCertificate=None)
    page.goto(fed.start_url)
    _signed_in_at_microsoft(page, fed)
    after = len([e for e in sign_in_entries(fed.tenant) if e["status"]["errorCode"] != 0])
    assert after == before
    thumbs = [
        e.details["thumbprint"]
        for e in vault.audit.list(admin, action="idp.sign_in", target_id=fed.person_id, limit=3)
    ]
    assert thumbs == [new.thumbprint] * 2 + [thumbs[2]]
    assert thumbs[2] != new.thumbprint


def test_a_ws_federation_domain_signs_in_too(
    browser: Any, tmp_path_factory: pytest.TempPathFactory
) -> None:
    with federated(tmp_path_factory.mktemp("idp-wsfed"), "wsFed") as ws:
        context = browser.new_context(ignore_https_errors=True)
        context.set_default_timeout(15_000)
        page = context.new_page()
        try:
            page.goto(ws.start_url)
            assert "wa=wsignin1.0" not in page.url  # the vault's request key, not Entra's
            _portal_sign_in(page, ws)
            page.wait_for_url(f"{ws.url}/my/{ws.client_id}/sign-in/code**")
            page.get_by_label("Code").fill(ws.totp.now())
            page.get_by_role("button", name="Sign in").click()
            _signed_in_at_microsoft(page, ws)
        finally:
            context.close()
        entry = ws.world.vault.audit.list(ws.world.admin, action="idp.sign_in", limit=1)[0]
        assert entry.details["protocol"] == "wsFed"
