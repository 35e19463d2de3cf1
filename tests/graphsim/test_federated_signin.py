"""Federated sign-in at the simulator: realm discovery, the hop to the identity provider (SAML
2.0 HTTP-POST and WS-Federation) and login.srf checking the answer as Entra does, with answers
built and signed in the test by an independent signer (``fedidp``)."""

from __future__ import annotations

import base64
import re
import ssl
import zlib
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import jwt
import pytest

from credsync.testing.graphsim import (
    GraphSimulator,
    IdpRequest,
    SimTenant,
    post_to_login_srf,
    read_authn_request,
    sign_in,
    sign_in_entries,
    start_federated_sign_in,
)

from .fedidp import AUDIENCE, Signer, make_signer, saml_response, wsfed_result

REDIRECT = "https://vault.example.test/auth/microsoft/callback"
IMMUTABLE = "q0/Vs+Fh3kGbW1cA8N7x2A=="


@dataclass
class World:
    tenant: SimTenant
    saml_domain: str
    wsfed_domain: str
    signer: Signer
    ada: dict[str, Any]
    bob: dict[str, Any]

    def config(self, domain: str) -> dict[str, Any]:
        return self.tenant.federation[domain]

    def issuer(self, domain: str) -> str:
        return str(self.config(domain)["issuerUri"])


@pytest.fixture(scope="module")
def world(sim: GraphSimulator) -> World:
    tenant = sim.add_tenant(users=2, groups=0, domain="fedsign.test")
    signer = make_signer()
    saml = sim.add_domain(tenant, "saml.fedsign.test", federated=True)
    wsfed = sim.add_domain(tenant, "wsfed.fedsign.test", federated=True)
    for domain, protocol in ((saml, "saml"), (wsfed, "wsFed")):
        tenant.federation[domain].update(
            issuerUri=f"https://vault.example.test/idp/{domain}",
            signingCertificate=signer.b64,
            nextSigningCertificate=None,
            passiveSignInUri=f"https://vault.example.test/idp/{domain}/sso",
            signOutUri=f"https://vault.example.test/idp/{domain}/slo",
            preferredAuthenticationProtocol=protocol,
            federatedIdpMfaBehavior="acceptIfMfaDoneByFederatedIdp",
        )
    ada = tenant.create_user(upn=f"ada@{saml}", display_name="Ada")
    tenant.set_immutable_id(ada.id, IMMUTABLE)
    bob = tenant.create_user(upn=f"bob@{wsfed}", display_name="Bob")
    tenant.set_immutable_id(bob.id, "Ym9iLWFuY2hvcg==")
    sim.add_redirect_uri(tenant, REDIRECT)
    return World(tenant, saml, wsfed, signer, tenant.get_user(ada.id), tenant.get_user(bob.id))


@pytest.fixture(autouse=True)
def _fresh_settings(world: World):
    """Each test starts from the module's federation settings."""
    saved = {d: dict(world.config(d)) for d in (world.saml_domain, world.wsfed_domain)}
    yield
    for domain, config in saved.items():
        world.config(domain).clear()
        world.config(domain).update(config)


def _answer(sim: GraphSimulator, world: World, hop: IdpRequest, **overrides: Any) -> dict[str, str]:
    request = read_authn_request(hop.fields)
    options: dict[str, Any] = {
        "issuer": world.issuer(world.saml_domain),
        "name_id": IMMUTABLE,
        "upn": world.ada["userPrincipalName"],
        "recipient": request["acs_url"],
        "in_response_to": request["id"],
        "now": sim.now(),
    }
    signer = overrides.pop("signer", world.signer)
    options.update(overrides)
    return {"SAMLResponse": saml_response(signer, **options), "RelayState": hop.relay_state}


def _hop(sim: GraphSimulator, world: World) -> IdpRequest:
    return start_federated_sign_in(sim, world.ada["userPrincipalName"])


# --- realm discovery and the hop -------------------------------------------------------------
def test_getuserrealm_names_the_federated_domains_identity_provider(
    http: httpx.Client, sim: GraphSimulator, world: World
) -> None:
    def realm(login: str) -> dict[str, Any]:
        answer = http.get(f"{sim.url}/getuserrealm.srf", params={"login": login, "json": "1"})
        assert answer.status_code == 200
        return dict(answer.json())

    saml = realm(world.ada["userPrincipalName"])
    assert saml["NameSpaceType"] == "Federated"
    assert saml["AuthURL"] == world.config(world.saml_domain)["passiveSignInUri"]
    assert saml["CloudInstanceIssuerUri"] == AUDIENCE
    assert saml["FederationProtocol"] == "SAML20"
    assert saml["FederationBrandName"]
    wsfed = realm(world.bob["userPrincipalName"])
    assert wsfed["FederationProtocol"] == "WSTrust"
    assert wsfed["AuthURL"].startswith(world.config(world.wsfed_domain)["passiveSignInUri"] + "?")
    assert "wa=wsignin1.0" in wsfed["AuthURL"]
    assert realm("someone@fedsign.test")["NameSpaceType"] == "Managed"
    assert realm("someone@nowhere.example")["NameSpaceType"] == "Unknown"


def test_a_saml_domain_gets_an_auto_posted_authn_request(sim: GraphSimulator, world: World) -> None:
    hop = _hop(sim, world)
    assert hop.method == "POST"
    assert hop.url == world.config(world.saml_domain)["passiveSignInUri"]
    request = read_authn_request(hop.fields)
    assert request["issuer"] == AUDIENCE
    assert request["acs_url"] == f"{sim.url}/login.srf"
    assert request["destination"] == hop.url
    assert request["name_id_format"] == "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
    assert request["id"] == hop.relay_state
    assert request["issue_instant"].endswith("Z")


def test_a_wsfed_domain_gets_a_wsignin_redirect(sim: GraphSimulator, world: World) -> None:
    hop = start_federated_sign_in(sim, world.bob["userPrincipalName"])
    assert hop.method == "GET"
    assert hop.url.startswith(world.config(world.wsfed_domain)["passiveSignInUri"] + "?")
    assert hop.fields["wa"] == "wsignin1.0"
    assert hop.fields["wtrealm"] == AUDIENCE
    assert hop.fields["username"] == world.bob["userPrincipalName"]
    assert hop.relay_state == hop.fields["wctx"]


def test_a_managed_user_is_sent_nowhere(sim: GraphSimulator, world: World) -> None:
    with pytest.raises(ValueError, match="federation realm object"):
        start_federated_sign_in(sim, f"carol@{world.tenant.domain}")


# --- success ----------------------------------------------------------------------------------
def test_a_signed_saml_response_signs_the_user_in(sim: GraphSimulator, world: World) -> None:
    outcome = post_to_login_srf(sim, _answer(sim, world, _hop(sim, world)))
    assert outcome.ok, (outcome.code, outcome.description)
    assert outcome.upn == world.ada["userPrincipalName"]
    entry = sign_in_entries(world.tenant)[-1]
    assert entry["userId"] == world.ada["id"]
    assert entry["status"]["errorCode"] == 0


def test_the_app_gets_a_code_whose_id_token_names_the_user(
    http: httpx.Client, sim: GraphSimulator, world: World
) -> None:
    params = {
        "client_id": world.tenant.default_app.client_id,
        "response_type": "code",
        "redirect_uri": REDIRECT,
        "scope": "openid profile",
        "state": "st-fed",
        "nonce": "n-fed",
    }
    url = f"{sim.authority_url(world.tenant)}/oauth2/v2.0/authorize?{urlencode(params)}"
    hop = start_federated_sign_in(sim, world.ada["userPrincipalName"], authorize_url=url)
    assert hop.method == "POST"
    outcome = post_to_login_srf(sim, _answer(sim, world, hop))
    assert outcome.ok, (outcome.code, outcome.description)
    assert outcome.location is not None
    assert outcome.location.startswith(REDIRECT + "?")
    query = {k: v[0] for k, v in parse_qs(urlsplit(outcome.location).query).items()}
    assert query["state"] == "st-fed"
    answer = http.post(
        f"{sim.authority_url(world.tenant)}/oauth2/v2.0/token",
        data={
            "grant_type": "authorization_code",
            "client_id": world.tenant.default_app.client_id,
            "client_secret": world.tenant.default_app.client_secret,
            "redirect_uri": REDIRECT,
            "code": query["code"],
        },
    )
    assert answer.status_code == 200, answer.text
    claims = jwt.decode(answer.json()["id_token"], options={"verify_signature": False})
    assert claims["preferred_username"] == world.ada["userPrincipalName"]
    assert claims["oid"] == world.ada["id"]
    assert claims["nonce"] == "n-fed"


def test_a_login_hint_goes_straight_to_the_identity_provider(
    http: httpx.Client, sim: GraphSimulator, world: World
) -> None:
    params = {
        "client_id": world.tenant.default_app.client_id,
        "response_type": "code",
        "redirect_uri": REDIRECT,
        "scope": "openid",
        "login_hint": world.bob["userPrincipalName"],
    }
    url = f"{sim.authority_url(world.tenant)}/oauth2/v2.0/authorize?{urlencode(params)}"
    answer = http.get(url)
    assert answer.status_code == 302
    assert answer.headers["location"].startswith(
        world.config(world.wsfed_domain)["passiveSignInUri"]
    )


def test_a_signed_wsfed_answer_signs_the_user_in(sim: GraphSimulator, world: World) -> None:
    hop = start_federated_sign_in(sim, world.bob["userPrincipalName"])
    wresult = wsfed_result(
        world.signer,
        issuer=world.issuer(world.wsfed_domain),
        immutable_id=world.bob["onPremisesImmutableId"],
        upn=world.bob["userPrincipalName"],
        now=sim.now(),
    )
    fields = {"wa": "wsignin1.0", "wresult": wresult, "wctx": hop.relay_state}
    outcome = post_to_login_srf(sim, fields)
    assert outcome.ok, (outcome.code, outcome.description)
    assert outcome.upn == world.bob["userPrincipalName"]
    assert not post_to_login_srf(sim, fields).ok  # the same answer twice: a replay


def test_a_wsfed_answer_without_the_immutable_id_is_refused(
    sim: GraphSimulator, world: World
) -> None:
    hop = start_federated_sign_in(sim, world.bob["userPrincipalName"])
    wresult = wsfed_result(
        world.signer,
        issuer=world.issuer(world.wsfed_domain),
        immutable_id=None,
        upn=world.bob["userPrincipalName"],
        now=sim.now(),
    )
    outcome = post_to_login_srf(
        sim, {"wa": "wsignin1.0", "wresult": wresult, "wctx": hop.relay_state}
    )
    assert outcome.code == 90020


# --- Microsoft's refusals ---------------------------------------------------------------------
@pytest.mark.parametrize("suffix", ["/", "x", ""])
def test_an_issuer_that_is_not_the_domains_is_aadsts50107(
    sim: GraphSimulator, world: World, suffix: str
) -> None:
    issuer = world.issuer(world.saml_domain) + suffix if suffix else "https://evil.example.test/"
    outcome = post_to_login_srf(sim, _answer(sim, world, _hop(sim, world), issuer=issuer))
    assert outcome.code == 50107
    assert f"'{issuer}' does not exist" in outcome.description


def test_a_name_id_or_upn_of_nobody_is_aadsts51004(sim: GraphSimulator, world: World) -> None:
    other = post_to_login_srf(sim, _answer(sim, world, _hop(sim, world), name_id="bm9ib2R5"))
    assert other.code == 51004
    wrong_upn = _answer(sim, world, _hop(sim, world), upn=f"eve@{world.saml_domain}")
    assert post_to_login_srf(sim, wrong_upn).code == 51004
    case = _answer(sim, world, _hop(sim, world), name_id=IMMUTABLE.lower())  # base64: exact
    assert post_to_login_srf(sim, case).code == 51004
    failed = sign_in_entries(world.tenant)[-1]
    assert failed["status"]["errorCode"] == 51004


def test_an_escaped_name_id_is_decoded(sim: GraphSimulator, world: World) -> None:
    escaped = IMMUTABLE.replace("+", ".2B").replace("/", ".2F").replace("=", ".3D")
    outcome = post_to_login_srf(sim, _answer(sim, world, _hop(sim, world), name_id=escaped))
    assert outcome.ok, (outcome.code, outcome.description)


def test_a_tampered_assertion_is_aadsts50006(sim: GraphSimulator, world: World) -> None:
    outcome = post_to_login_srf(sim, _answer(sim, world, _hop(sim, world), tamper=True))
    assert outcome.code == 50006


def test_an_unsigned_assertion_is_aadsts50008(sim: GraphSimulator, world: World) -> None:
    outcome = post_to_login_srf(sim, _answer(sim, world, _hop(sim, world), sign=False))
    assert outcome.code == 50008
    assert "not signed" in outcome.description


def test_a_sha1_signature_is_refused(sim: GraphSimulator, world: World) -> None:
    outcome = post_to_login_srf(sim, _answer(sim, world, _hop(sim, world), sha1=True))
    assert outcome.code == 50008
    assert "SHA-1" in outcome.description


def test_another_key_is_aadsts5000811(sim: GraphSimulator, world: World) -> None:
    forger = make_signer("forger")
    outcome = post_to_login_srf(sim, _answer(sim, world, _hop(sim, world), signer=forger))
    assert outcome.code == 5000811


def test_the_next_signing_certificate_is_accepted_during_a_rollover(
    sim: GraphSimulator, world: World
) -> None:
    new = make_signer("vault idp 2027")
    config = world.config(world.saml_domain)
    assert post_to_login_srf(sim, _answer(sim, world, _hop(sim, world), signer=new)).code == 5000811
    config["nextSigningCertificate"] = new.b64
    assert post_to_login_srf(sim, _answer(sim, world, _hop(sim, world), signer=new)).ok
    assert post_to_login_srf(sim, _answer(sim, world, _hop(sim, world))).ok  # old one too
    config.update(signingCertificate=new.b64, nextSigningCertificate=None)  # rolled
    assert post_to_login_srf(sim, _answer(sim, world, _hop(sim, world), signer=new)).ok
    assert post_to_login_srf(sim, _answer(sim, world, _hop(sim, world))).code == 5000811


def test_an_expired_or_future_assertion_is_aadsts500133(sim: GraphSimulator, world: World) -> None:
    past = sim.now() - timedelta(hours=1)
    old = _answer(sim, world, _hop(sim, world), now=past, not_before=past)
    assert post_to_login_srf(sim, old).code == 500133
    future = sim.now() + timedelta(hours=1)
    early = _answer(sim, world, _hop(sim, world), not_before=future)
    assert post_to_login_srf(sim, early).code == 500133
    skewed = sim.now() + timedelta(minutes=2)  # within the 5 minutes' skew
    assert post_to_login_srf(sim, _answer(sim, world, _hop(sim, world), not_before=skewed)).ok


def test_a_replayed_or_unknown_in_response_to_is_refused(sim: GraphSimulator, world: World) -> None:
    fields = _answer(sim, world, _hop(sim, world))
    assert post_to_login_srf(sim, fields).ok
    again = post_to_login_srf(sim, fields)
    assert again.code == 50008
    assert "replay" in again.description
    hop = _hop(sim, world)
    fresh = _answer(sim, world, hop)  # a new assertion for the spent request
    stale = {**fresh, "RelayState": hop.relay_state}
    assert post_to_login_srf(sim, stale).ok
    unknown = _answer(sim, world, hop, in_response_to="_never-issued")
    assert post_to_login_srf(sim, {**unknown, "RelayState": ""}).code == 50008


def test_an_idp_initiated_answer_is_accepted_once(sim: GraphSimulator, world: World) -> None:
    fields = _answer(sim, world, _hop(sim, world), in_response_to=None)
    fields.pop("RelayState")
    assert post_to_login_srf(sim, fields).ok
    assert "replay" in post_to_login_srf(sim, fields).description


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("audience", "https://login.microsoftonline.com/", "audience"),
        ("recipient", "https://login.microsoftonline.com/login.srf", "recipient"),
        ("destination", "https://evil.example.test/login.srf", "destination"),
    ],
)
def test_a_wrong_audience_recipient_or_destination_is_aadsts50008(
    sim: GraphSimulator, world: World, field: str, value: str, words: str
) -> None:
    outcome = post_to_login_srf(sim, _answer(sim, world, _hop(sim, world), **{field: value}))
    assert outcome.code == 50008
    assert words in outcome.description


def test_a_disabled_user_is_aadsts50057(sim: GraphSimulator, world: World) -> None:
    world.tenant.disable(world.ada["id"])
    try:
        assert post_to_login_srf(sim, _answer(sim, world, _hop(sim, world))).code == 50057
    finally:
        world.tenant.enable(world.ada["id"])


def test_enforced_mfa_needs_the_multipleauthn_claim(sim: GraphSimulator, world: World) -> None:
    config = world.config(world.saml_domain)
    config["federatedIdpMfaBehavior"] = "enforceMfaByFederatedIdp"
    assert post_to_login_srf(sim, _answer(sim, world, _hop(sim, world))).code == 50079
    assert post_to_login_srf(sim, _answer(sim, world, _hop(sim, world), mfa=True)).ok
    config["federatedIdpMfaBehavior"] = "rejectMfaByFederatedIdp"
    assert post_to_login_srf(sim, _answer(sim, world, _hop(sim, world))).ok
    assert post_to_login_srf(sim, _answer(sim, world, _hop(sim, world), mfa=True)).ok


def test_garbage_and_get_are_refused(http: httpx.Client, sim: GraphSimulator) -> None:
    assert post_to_login_srf(sim, {"SAMLResponse": "bm90IHhtbA=="}).code == 7500514
    assert post_to_login_srf(sim, {"wa": "wsignin1.0", "wresult": "<x"}).code == 90081
    assert post_to_login_srf(sim, {}).code == 900144
    entity = base64.b64encode(
        b'<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>'
    ).decode()
    assert post_to_login_srf(sim, {"SAMLResponse": entity}).code == 7500514
    assert http.get(f"{sim.url}/login.srf").status_code == 400


def test_password_sign_in_of_a_federated_user_is_refused(sim: GraphSimulator, world: World) -> None:
    answer = sign_in(sim, world.ada["userPrincipalName"], "whatever-it-is-1A!")
    assert answer.code == 50126


# --- the sign-in log and sign-out -------------------------------------------------------------
def test_the_sign_in_log_needs_premium_and_both_permissions(
    http: httpx.Client, sim: GraphSimulator, world: World
) -> None:
    assert post_to_login_srf(sim, _answer(sim, world, _hop(sim, world))).ok
    reader = world.tenant.add_app(("AuditLog.Read.All", "Directory.Read.All"))
    token = http.post(
        f"{sim.authority_url(world.tenant)}/oauth2/v2.0/token",
        data={
            "client_id": reader.client_id,
            "client_secret": reader.client_secret,
            "grant_type": "client_credentials",
            "scope": "https://graph.microsoft.com/.default",
        },
    ).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    url = f"{sim.graph_url}/v1.0/auditLogs/signIns"
    refused = http.get(url, headers=headers)
    assert refused.status_code == 403
    assert (
        refused.json()["error"]["code"] == "Authentication_RequestFromNonPremiumTenantOrB2CTenant"
    )
    world.tenant.premium = True
    try:
        upn = world.ada["userPrincipalName"]
        listed = http.get(url, headers=headers, params={"$filter": f"userPrincipalName eq '{upn}'"})
        assert listed.status_code == 200, listed.text
        entries = listed.json()["value"]
        assert entries
        assert entries[0]["status"]["errorCode"] == 0
        assert all(e["userPrincipalName"] == upn for e in entries)
        one = http.get(f"{url}/{entries[0]['id']}", headers=headers)
        assert one.json()["id"] == entries[0]["id"]
    finally:
        world.tenant.premium = False


def test_sign_out_goes_to_the_identity_providers_sign_out_uri(
    sim: GraphSimulator, world: World
) -> None:
    outcome = post_to_login_srf(sim, _answer(sim, world, _hop(sim, world)))
    assert outcome.ok
    context = ssl.create_default_context(cafile=str(sim.ca_file))
    with httpx.Client(verify=context, cookies=outcome.cookies) as browser:
        answer = browser.get(f"{sim.authority_url(world.tenant)}/oauth2/v2.0/logout")
    assert answer.status_code == 302
    location = answer.headers["location"]
    assert location.startswith(world.config(world.saml_domain)["signOutUri"] + "?")
    packed = parse_qs(urlsplit(location).query)["SAMLRequest"][0]
    xml = zlib.decompress(base64.b64decode(packed), -15).decode()
    assert "LogoutRequest" in xml
    assert IMMUTABLE in xml
    with httpx.Client(verify=context) as stranger:  # no session: the signed-out page
        page = stranger.get(f"{sim.authority_url(world.tenant)}/oauth2/v2.0/logout")
    assert 'id="signed-out"' in page.text


def test_a_configuration_written_without_protocol_or_address(
    sim: GraphSimulator, world: World
) -> None:
    """Graph may hold a configuration with no preferredAuthenticationProtocol (wsFed then) or
    no passiveSignInUri (no hop: AADSTS20001)."""
    config = world.config(world.saml_domain)
    config["preferredAuthenticationProtocol"] = None
    hop = _hop(sim, world)
    assert hop.method == "GET"
    assert hop.fields["wa"] == "wsignin1.0"
    config["passiveSignInUri"] = None
    with pytest.raises(ValueError, match="passiveSignInUri"):
        _hop(sim, world)


def test_text_beside_a_signed_assertion_changes_nothing(sim: GraphSimulator, world: World) -> None:
    """Stray text after the assertion inside its Response (outside what the signature covers):
    the signed assertion is checked as it is, the user signed in (it answered 500: the
    assertion's tail went to signxml with it)."""
    fields = _answer(sim, world, _hop(sim, world))
    xml = base64.b64decode(fields["SAMLResponse"]).decode()
    end = re.search(r"</(\w+:)?Assertion>", xml).end()  # type: ignore[union-attr]
    fields["SAMLResponse"] = base64.b64encode(f"{xml[:end]}stray{xml[end:]}".encode()).decode()
    outcome = post_to_login_srf(sim, fields)
    assert outcome.ok, (outcome.code, outcome.description)
