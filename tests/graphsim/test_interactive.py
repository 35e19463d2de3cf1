"""The authorization code flow (PKCE, nonce, state) and the device code flow at the simulator:
its authorize endpoint and sign-in page, the token endpoint's two grants, and each documented
refusal (AADSTS numbers as Microsoft's pages give them); msal drives both flows once."""

from __future__ import annotations

import hashlib
import secrets
import ssl
import threading
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import jwt
import msal
import pytest
import requests
from jwt.utils import base64url_encode

from credsync.testing.graphsim import GraphSimulator, SimTenant, approve_device, authorize

PASSWORD = "Interact1ve-Pass!"
REDIRECT = "https://vault.example.test/auth/microsoft/callback"


@pytest.fixture(scope="module")
def world(sim: GraphSimulator) -> SimTenant:
    tenant = sim.add_tenant(users=3, groups=0, domain="interactive.test")
    sim.add_redirect_uri(tenant, REDIRECT)
    tenant.create_user(upn="ada@interactive.test", password=PASSWORD, display_name="Ada")
    return tenant


def _client(sim: GraphSimulator) -> httpx.Client:
    return httpx.Client(verify=ssl.create_default_context(cafile=str(sim.ca_file)), trust_env=False)


def _pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64url_encode(hashlib.sha256(verifier.encode()).digest()).decode()
    return verifier, challenge


def _authorize_url(sim: GraphSimulator, tenant: SimTenant, **extra: str) -> str:
    params = {
        "client_id": tenant.default_app.client_id,
        "response_type": "code",
        "redirect_uri": REDIRECT,
        "scope": "openid profile offline_access",
        "state": "st-123",
        "nonce": "n-456",
        **extra,
    }
    params = {k: v for k, v in params.items() if v}
    return f"{sim.authority_url(tenant)}/oauth2/v2.0/authorize?{urlencode(params)}"


def _query(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def _redeem(
    http: httpx.Client, sim: GraphSimulator, tenant: SimTenant, **form: str
) -> httpx.Response:
    data = {
        "grant_type": "authorization_code",
        "client_id": tenant.default_app.client_id,
        "redirect_uri": REDIRECT,
        **form,
    }
    data = {k: v for k, v in data.items() if v is not None}
    return http.post(f"{sim.authority_url(tenant)}/oauth2/v2.0/token", data=data)


def _signed_in_code(sim: GraphSimulator, tenant: SimTenant, **extra: str) -> str:
    location = authorize(
        sim, _authorize_url(sim, tenant, **extra), "ada@interactive.test", PASSWORD
    )
    assert location.startswith(REDIRECT + "?"), location
    answer = _query(location)
    assert answer["state"] == "st-123"
    return answer["code"]


def _codes(answer: httpx.Response) -> tuple[int, str, list[int]]:
    body = answer.json()
    return answer.status_code, body.get("error", ""), body.get("error_codes", [])


# --- the authorization code flow --------------------------------------------------------------
def test_a_signed_in_user_gets_a_code_and_a_signed_id_token_with_the_nonce(
    sim, world, http
) -> None:
    verifier, challenge = _pkce()
    code = _signed_in_code(sim, world, code_challenge=challenge, code_challenge_method="S256")
    answer = _redeem(http, sim, world, code=code, code_verifier=verifier)
    assert answer.status_code == 200, answer.text
    keys = jwt.PyJWKClient(
        f"{sim.url}/{world.id}/discovery/v2.0/keys",
        ssl_context=ssl.create_default_context(cafile=str(sim.ca_file)),
    )
    id_token = answer.json()["id_token"]
    claims = jwt.decode(
        id_token,
        keys.get_signing_key_from_jwt(id_token).key,
        algorithms=["RS256"],
        audience=world.default_app.client_id,
        issuer=f"{sim.url}/{world.id}/v2.0",
        # the session's simulator clock may run ahead of the real one (other tests advance it)
        options={"verify_iat": False, "verify_nbf": False, "verify_exp": False},
    )
    assert claims["nbf"] <= sim.clock.timestamp() < claims["exp"]
    ada = world.store.user("ada@interactive.test")
    assert ada is not None
    assert claims["nonce"] == "n-456"
    assert (claims["tid"], claims["oid"]) == (world.id, ada["id"])
    assert claims["preferred_username"] == "ada@interactive.test"
    assert claims["name"] == "Ada"
    assert {"iat", "nbf", "exp", "sub"} <= claims.keys()


def test_a_code_is_single_use_aadsts54005(sim, world, http) -> None:
    code = _signed_in_code(sim, world)
    secret = world.default_app.client_secret
    assert _redeem(http, sim, world, code=code, client_secret=secret).status_code == 200
    assert _codes(_redeem(http, sim, world, code=code, client_secret=secret)) == (
        400,
        "invalid_grant",
        [54005],
    )


def test_a_code_expires_after_ten_minutes_aadsts70008(world, http) -> None:
    sim = GraphSimulator(seed=3).start()
    try:
        tenant = sim.add_tenant(users=1, groups=0, domain="expiry.test")
        sim.add_redirect_uri(tenant, REDIRECT)
        tenant.create_user(upn="ada@expiry.test", password=PASSWORD)
        location = authorize(sim, _authorize_url(sim, tenant), "ada@expiry.test", PASSWORD)
        code = _query(location)["code"]
        sim.advance_clock(601)
        with _client(sim) as client:
            answer = _redeem(
                client, sim, tenant, code=code, client_secret=tenant.default_app.client_secret
            )
        assert _codes(answer) == (400, "invalid_grant", [70008])
    finally:
        sim.stop()


def test_the_pkce_verifier_must_match_aadsts501481(sim, world, http) -> None:
    _, challenge = _pkce()
    code = _signed_in_code(sim, world, code_challenge=challenge, code_challenge_method="S256")
    wrong, _ = _pkce()
    assert _codes(_redeem(http, sim, world, code=code, code_verifier=wrong)) == (
        400,
        "invalid_grant",
        [501481],
    )
    code = _signed_in_code(sim, world, code_challenge=challenge, code_challenge_method="S256")
    secret = world.default_app.client_secret
    assert _codes(_redeem(http, sim, world, code=code, client_secret=secret))[2] == [501481]


def test_a_public_client_must_use_pkce_aadsts9002325(sim, world, http) -> None:
    code = _signed_in_code(sim, world)
    assert _codes(_redeem(http, sim, world, code=code)) == (400, "invalid_request", [9002325])


def test_the_redirect_uri_must_be_the_authorize_requests_aadsts500112(sim, world, http) -> None:
    other = "https://vault.example.test/other"
    sim.add_redirect_uri(world, other)
    code = _signed_in_code(sim, world)
    answer = _redeem(
        http,
        sim,
        world,
        code=code,
        redirect_uri=other,
        client_secret=world.default_app.client_secret,
    )
    assert _codes(answer) == (400, "invalid_grant", [500112])


def test_a_wrong_secret_is_aadsts7000215_and_a_made_up_code_9002313(sim, world, http) -> None:
    code = _signed_in_code(sim, world)
    assert _codes(_redeem(http, sim, world, code=code, client_secret="nope"))[2] == [7000215]
    answer = _redeem(
        http, sim, world, code="made-up", client_secret=world.default_app.client_secret
    )
    assert _codes(answer) == (400, "invalid_grant", [9002313])


def test_a_code_of_another_app_is_refused(sim, world, http) -> None:
    other = world.add_app(("User.Read.All",), None, "other app")
    code = _signed_in_code(sim, world)
    data = {
        "grant_type": "authorization_code",
        "client_id": other.client_id,
        "client_secret": other.client_secret,
        "redirect_uri": REDIRECT,
        "code": code,
    }
    answer = http.post(f"{sim.authority_url(world)}/oauth2/v2.0/token", data=data)
    assert _codes(answer) == (400, "invalid_grant", [70000])


def test_an_unregistered_redirect_uri_is_shown_on_the_page_aadsts50011(sim, world, http) -> None:
    url = _authorize_url(sim, world, redirect_uri="https://evil.example.test/cb")
    page = http.get(url)
    assert page.status_code == 400
    assert "AADSTS50011" in page.text
    assert "location" not in page.headers


def test_an_unknown_app_is_shown_on_the_page_aadsts700016(sim, world, http) -> None:
    page = http.get(_authorize_url(sim, world, client_id="11111111-2222-3333-4444-555555555555"))
    assert page.status_code == 400
    assert "AADSTS700016" in page.text


def test_bad_requests_go_back_to_the_app_with_the_state(sim, world, http) -> None:
    page = http.get(_authorize_url(sim, world, response_type="token"))
    assert page.status_code == 302
    answer = _query(page.headers["location"])
    assert answer["error"] == "unsupported_response_type"
    assert answer["state"] == "st-123"
    assert answer["error_description"].startswith("AADSTS70005:")
    page = http.get(_authorize_url(sim, world, scope=""))
    assert _query(page.headers["location"])["error"] == "invalid_request"
    page = http.get(_authorize_url(sim, world, code_challenge="x", code_challenge_method="S512"))
    # Microsoft documents no number for a bad method: the contract is the error value
    answer = _query(page.headers["location"])
    assert answer["error"] == "invalid_request"
    assert "code_challenge_method" in answer["error_description"]


@pytest.mark.parametrize(
    ("upn", "password", "number"),
    [
        ("ada@interactive.test", "wrong", 50126),
        ("nobody@interactive.test", PASSWORD, 50034),
        ("off@interactive.test", PASSWORD, 50057),
    ],
)
def test_a_refused_sign_in_is_shown_on_the_page(sim, world, upn, password, number) -> None:
    if upn.startswith("off@") and world.store.user(upn) is None:
        user = world.create_user(upn=upn, password=PASSWORD)
        world.disable(user.id)
    with pytest.raises(ValueError, match=f"AADSTS{number}"):
        authorize(sim, _authorize_url(sim, world), upn, password)


def test_form_post_answers_with_an_auto_posting_form(sim, world, http) -> None:
    url = _authorize_url(sim, world, response_mode="form_post")
    page = http.post(url, data={"login": "ada@interactive.test", "passwd": PASSWORD})
    assert page.status_code == 200
    assert f'action="{REDIRECT}"' in page.text
    assert 'name="code"' in page.text
    assert 'name="state" value="st-123"' in page.text


def _session(sim: GraphSimulator) -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    session.verify = str(sim.ca_file)
    return session


def test_msal_completes_the_auth_code_flow_with_pkce(sim, world) -> None:
    app = msal.ConfidentialClientApplication(
        world.default_app.client_id,
        client_credential=world.default_app.client_secret,
        authority=sim.authority_url(world),
        http_client=_session(sim),
        instance_discovery=False,
    )
    flow = app.initiate_auth_code_flow(
        ["User.Read"], redirect_uri=REDIRECT, response_mode="form_post"
    )
    assert "code_challenge=" in flow["auth_uri"]
    location = authorize(sim, flow["auth_uri"], "ada@interactive.test", PASSWORD)
    result = app.acquire_token_by_auth_code_flow(flow, _query(location))
    assert "error" not in result, result
    # msal sends the SHA-256 of its nonce, and checked the id token's against it
    assert result["id_token_claims"]["nonce"] == hashlib.sha256(flow["nonce"].encode()).hexdigest()
    assert result["id_token_claims"]["preferred_username"] == "ada@interactive.test"


# --- the device code flow ---------------------------------------------------------------------
def _device(http: httpx.Client, sim: GraphSimulator, tenant: SimTenant) -> dict[str, Any]:
    answer = http.post(
        f"{sim.authority_url(tenant)}/oauth2/v2.0/devicecode",
        data={"client_id": tenant.default_app.client_id, "scope": "openid profile"},
    )
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def _poll(http: httpx.Client, sim: GraphSimulator, tenant: SimTenant, code: str) -> httpx.Response:
    return http.post(
        f"{sim.authority_url(tenant)}/oauth2/v2.0/token",
        data={
            "grant_type": "urn:ietf:params:oauth:grant-type:device_code",
            "client_id": tenant.default_app.client_id,
            "device_code": code,
        },
    )


def test_device_code_pending_then_tokens_once(sim, world, http) -> None:
    flow = _device(http, sim, world)
    assert flow["verification_uri"] == f"{sim.url}/devicelogin"
    assert (flow["expires_in"], flow["interval"]) == (900, sim.device_interval)
    assert flow["user_code"] in flow["message"]
    assert _codes(_poll(http, sim, world, flow["device_code"])) == (
        400,
        "authorization_pending",
        [70016],
    )
    approve_device(sim, flow["user_code"], "ada@interactive.test", PASSWORD)
    answer = _poll(http, sim, world, flow["device_code"])
    assert answer.status_code == 200, answer.text
    claims = jwt.decode(answer.json()["id_token"], options={"verify_signature": False})
    assert claims["preferred_username"] == "ada@interactive.test"
    assert _poll(http, sim, world, flow["device_code"]).status_code == 400


def test_device_code_polled_too_fast_is_slow_down(sim, world, http) -> None:
    flow = _device(http, sim, world)
    assert _codes(_poll(http, sim, world, flow["device_code"]))[1] == "authorization_pending"
    assert _codes(_poll(http, sim, world, flow["device_code"]))[1] == "slow_down"


def test_device_code_declined(sim, world, http) -> None:
    flow = _device(http, sim, world)
    approve_device(sim, flow["user_code"], "", "", decline=True)
    # Microsoft's device code page names the error, not a number: the contract is the error
    status, error, _ = _codes(_poll(http, sim, world, flow["device_code"]))
    assert (status, error) == (400, "authorization_declined")


def test_device_code_expired_and_unknown(world, http) -> None:
    sim = GraphSimulator(seed=4).start()
    try:
        tenant = sim.add_tenant(users=1, groups=0, domain="device.test")
        with _client(sim) as client:
            flow = _device(client, sim, tenant)
            sim.advance_clock(901)
            assert _codes(_poll(client, sim, tenant, flow["device_code"])) == (
                400,
                "expired_token",
                [70019],
            )
            with pytest.raises(ValueError, match="AADSTS70019"):
                approve_device(sim, flow["user_code"], "a@device.test", PASSWORD)
            assert _codes(_poll(client, sim, tenant, "made-up"))[1:] == (
                "bad_verification_code",
                [70018],
            )
    finally:
        sim.stop()


def test_the_device_page_refuses_a_wrong_code_and_a_wrong_password(sim, world, http) -> None:
    with pytest.raises(ValueError, match="AADSTS70018"):
        approve_device(sim, "NOTACODE1", "ada@interactive.test", PASSWORD)
    flow = _device(http, sim, world)
    with pytest.raises(ValueError, match="AADSTS50126"):
        approve_device(sim, flow["user_code"], "ada@interactive.test", "wrong")
    assert _codes(_poll(http, sim, world, flow["device_code"]))[1] == "authorization_pending"


def test_msal_device_flow_polls_until_the_user_signs_in(sim, world) -> None:
    sim.device_interval = 1
    try:
        app = msal.PublicClientApplication(
            world.default_app.client_id,
            authority=sim.authority_url(world),
            http_client=_session(sim),
            instance_discovery=False,
        )
        flow = app.initiate_device_flow(scopes=["User.Read"])
        assert flow["user_code"] in flow["message"]
        result: dict[str, Any] = {}
        poller = threading.Thread(
            target=lambda: result.update(app.acquire_token_by_device_flow(flow)), daemon=True
        )
        poller.start()
        approve_device(sim, flow["user_code"], "ada@interactive.test", PASSWORD)
        poller.join(timeout=60)
        assert "error" not in result, result
        assert result["id_token_claims"]["preferred_username"] == "ada@interactive.test"
    finally:
        sim.device_interval = 5
