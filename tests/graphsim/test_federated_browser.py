"""The simulator's federated sign-in in Chromium: an app's authorize page, the user types a
name of a federated domain, the page auto-posts the AuthnRequest to the identity provider (here
answered by the test through Playwright's routing, with a response signed by ``fedidp``), whose
auto-posted answer at login.srf sends the browser back to the app with a code."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from credsync.testing.graphsim import GraphSimulator

from .fedidp import make_signer, saml_response

CHROMIUM = Path("/usr/bin/chromium")
IDP = "https://idp.browser.example.test"
APP = "https://app.browser.example.test/callback"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.fail(f"the browser tests need Debian's Chromium at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM))
        try:
            yield launched
        finally:
            launched.close()


def test_a_federated_user_signs_in_to_an_app_through_the_identity_provider(
    browser: Any, sim: GraphSimulator
) -> None:
    tenant = sim.add_tenant(users=1, groups=0, domain="browserfed.test")
    domain = sim.add_domain(tenant, "staff.browserfed.test", federated=True)
    signer = make_signer()
    issuer = f"{IDP}/{domain}"
    tenant.federation[domain].update(
        issuerUri=issuer,
        signingCertificate=signer.b64,
        passiveSignInUri=f"{IDP}/sso",
        preferredAuthenticationProtocol="saml",
    )
    user = tenant.create_user(upn=f"grace@{domain}", display_name="Grace")
    tenant.set_immutable_id(user.id, "R3JhY2U=")
    sim.add_redirect_uri(tenant, APP)
    seen: dict[str, str] = {}

    def identity_provider(route: Any) -> None:
        form = {k: v[0] for k, v in parse_qs(route.request.post_data or "").items()}
        request = base64.b64decode(form["SAMLRequest"]).decode()
        request_id = request.split('ID="', 1)[1].split('"', 1)[0]
        acs = request.split('AssertionConsumerServiceURL="', 1)[1].split('"', 1)[0]
        answer = saml_response(
            signer,
            issuer=issuer,
            name_id="R3JhY2U=",
            upn=user.upn,
            recipient=acs,
            in_response_to=request_id,
            now=sim.now(),
        )
        seen["relay"] = form["RelayState"]
        page = (
            '<!doctype html><html><body onload="document.forms[0].submit()">'
            f'<form method="post" action="{acs}">'
            f'<input type="hidden" name="SAMLResponse" value="{answer}">'
            f'<input type="hidden" name="RelayState" value="{form["RelayState"]}">'
            "</form></body></html>"
        )
        route.fulfill(status=200, content_type="text/html", body=page)

    def app(route: Any) -> None:
        seen["back"] = route.request.url
        route.fulfill(status=200, content_type="text/html", body="<p id='app'>back</p>")

    context = browser.new_context(ignore_https_errors=True)  # the simulator's own test CA
    context.set_default_timeout(15_000)
    try:
        context.route(f"{IDP}/**", identity_provider)
        context.route(f"{APP}**", app)
        page = context.new_page()
        params = {
            "client_id": tenant.default_app.client_id,
            "response_type": "code",
            "redirect_uri": APP,
            "scope": "openid",
            "state": "browser-state",
        }
        page.goto(f"{sim.authority_url(tenant)}/oauth2/v2.0/authorize?{urlencode(params)}")
        page.fill("#login", user.upn)
        page.click("#idSIButton9")
        page.wait_for_selector("#app")
    finally:
        context.close()
    query = {k: v[0] for k, v in parse_qs(urlsplit(seen["back"]).query).items()}
    assert query["state"] == "browser-state"
    assert query["code"]
    assert seen["relay"]
