"""The identity provider's public pages in-process (``/idp/{domain}/...`` and the continue
step under the person portal's path): Entra's request is checked and kept, a signed-in
person (password + TOTP) gets the page that posts the signed response to Microsoft's sign-in
and nowhere else, a signed-out one goes to the portal's sign-in first; refusals are pages
that say why; metadata; sign-out ends the person's session."""

from __future__ import annotations

import base64
import html
import re
import uuid
import zlib
from urllib.parse import parse_qs, quote, urlsplit

from lxml import etree

from credsync.vault.federated_domains import FederatedIdentity
from vault.flag_seed import add_ad_directory

from .conftest import WebWorld, page_text
from .test_person_portal import _enrolled_sign_in, _person

LOGIN = "https://login.microsoftonline.com/login.srf"


def _federate(web: WebWorld, client: str) -> str:
    vault, admin = web.world.vault, web.world.admin
    vault.idp_keys.attach(web.world.keys)
    directory_id, _ = add_ad_directory(web.world, client, f"o365-{uuid.uuid4().hex[:6]}")
    domain = f"w{uuid.uuid4().hex[:8]}.example"
    vault.federated_domains.record(
        admin, client, domain, directory_id=directory_id, base_url="https://vault.contoso.example",
        login_url=LOGIN, protocol="saml", mfa_behavior="enforceMfaByFederatedIdp",
    )  # fmt: skip
    vault.federated_domains.set_state(admin, client, domain, "federated")
    return domain


def _request(request_id: str = "_r1", acs: str = LOGIN) -> str:
    xml = (
        '<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" '
        f'ID="{request_id}" Version="2.0" IssueInstant="2026-12-07T01:00:00Z" '
        f'AssertionConsumerServiceURL="{acs}"><saml:Issuer '
        'xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion">urn:federation:MicrosoftOnline'
        "</saml:Issuer></samlp:AuthnRequest>"
    ).encode()
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    return quote(base64.b64encode(packer.compress(xml) + packer.flush()).decode(), safe="")


def _fields(text: str) -> dict[str, str]:
    return {
        name: html.unescape(value)
        for name, value in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', text)
    }


def test_a_signed_in_person_gets_the_form_that_posts_to_microsoft(web: WebWorld) -> None:
    browser, done, client, pid, _, _ = _enrolled_sign_in(web)
    assert done.status_code == 303
    domain = _federate(web, client)
    web.world.vault.federated_domains.set_identities(
        web.world.admin, client, domain, [FederatedIdentity(pid, "imm-1", f"p@{domain}")]
    )
    started = browser.get(f"/idp/{domain}/sign-in?SAMLRequest={_request()}&RelayState=rs")
    assert started.status_code == 303, started.text
    onward = started.headers["location"]
    assert onward.startswith(f"/my/{client}/idp/{domain}/continue/")
    answer = browser.get(onward)
    assert answer.status_code == 200, answer.text
    assert f'action="{LOGIN}"' in answer.text
    assert (
        "form-action https://login.microsoftonline.com;"
        in answer.headers["content-security-policy"]
    )
    fields = _fields(answer.text)
    assert fields["RelayState"] == "rs"
    response = etree.fromstring(base64.b64decode(fields["SAMLResponse"]))
    assert response.get("InResponseTo") == "_r1"
    assert browser.get(onward).status_code == 400  # one-time
    entries = web.world.vault.audit.list(web.world.admin, action="idp.sign_in", target_id=pid)
    assert len(entries) == 1


def test_a_signed_out_person_goes_to_the_portal_first(web: WebWorld) -> None:
    client, _, _ = _person(web)
    domain = _federate(web, client)
    browser = web.http
    started = browser.get(f"/idp/{domain}/sign-in?SAMLRequest={_request()}")
    onward = started.headers["location"]
    answer = browser.get(onward)
    assert answer.status_code == 303
    location = answer.headers["location"]
    assert location.startswith(f"/my/{client}/sign-in?next=")
    assert parse_qs(urlsplit(location).query)["next"] == [onward]


def test_a_person_without_an_identity_is_told_so(web: WebWorld) -> None:
    browser, _, client, pid, _, _ = _enrolled_sign_in(web)
    domain = _federate(web, client)
    onward = browser.get(f"/idp/{domain}/sign-in?SAMLRequest={_request()}").headers["location"]
    answer = browser.get(onward)
    assert answer.status_code == 403
    assert "not set up for Office 365 sign-in" in page_text(answer.text)
    refused = web.world.vault.audit.list(web.world.admin, action="idp.refused", target_id=pid)
    assert refused


def test_foreign_requests_and_unknown_domains_are_refused(web: WebWorld) -> None:
    client, _, _ = _person(web)
    domain = _federate(web, client)
    browser = web.http
    evil = browser.get(
        f"/idp/{domain}/sign-in?SAMLRequest={_request(acs='https://evil.example/acs')}"
    )
    assert evil.status_code == 400
    assert "not at the domain's sign-in URL" in page_text(evil.text)
    assert browser.get("/idp/nowhere.example/sign-in?wa=wsignin1.0").status_code == 404
    assert browser.get("/idp/nowhere.example/metadata").status_code == 404
    meta = browser.get(f"/idp/{domain}/metadata")
    assert meta.status_code == 200
    assert meta.headers["content-type"].startswith("application/samlmetadata+xml")
    assert (
        etree.fromstring(meta.content).get("entityID")
        == f"https://vault.contoso.example/idp/{domain}"
    )
    posted = browser.post(
        f"/idp/{domain}/sign-in",
        data={"SAMLRequest": base64.b64encode(b"<not-a-request/>").decode()},
    )
    assert posted.status_code == 400


def test_sign_out_ends_the_persons_session(web: WebWorld) -> None:
    browser, _, client, _, _, _ = _enrolled_sign_in(web)
    domain = _federate(web, client)
    assert browser.get(f"/my/{client}/").status_code == 200
    out = browser.get(f"/idp/{domain}/sign-out?wa=wsignout1.0")
    assert out.status_code == 303
    done = browser.get(out.headers["location"])
    assert done.status_code == 200
    assert "You are signed out" in page_text(done.text)
    assert browser.get(f"/my/{client}/").status_code == 303
