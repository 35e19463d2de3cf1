"""Operators' sign-in with Microsoft, the provider's side (credsync.connectors.graph.signin),
against the Graph simulator: the auth code flow through msal with the vault's own check of the
id token, and each refusal of a token that is not this sign-in's: another app (audience),
another tenant (issuer, tid), a forged signature, an unknown key, a wrong nonce, an expired
one; then the device code flow of a public client."""

from __future__ import annotations

import ssl
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from credsync.connectors import registry
from credsync.connectors.graph.signin import MicrosoftSignIn
from credsync.connectors.operator_sign_in import ProviderConfig
from credsync.errors import AuthenticationFailed
from credsync.testing.graphsim import GraphSimulator, SimTenant, approve_device, authorize
from credsync.types import Secret

PASSWORD = "Operator-Sign-In-1!"
REDIRECT = "https://vault.example.test/sign-in/microsoft/callback"


@pytest.fixture(scope="module")
def sim() -> Iterator[GraphSimulator]:
    with GraphSimulator(port=0, seed=21) as simulator:
        yield simulator


@pytest.fixture(scope="module")
def msp(sim: GraphSimulator) -> SimTenant:
    tenant = sim.add_tenant(users=0, groups=0, domain="msp.test")
    sim.add_redirect_uri(tenant, REDIRECT)
    tenant.create_user(upn="ada@msp.test", password=PASSWORD, display_name="Ada Admin")
    return tenant


def _config(sim: GraphSimulator, tenant: SimTenant, **changes: Any) -> ProviderConfig:
    values: dict[str, Any] = {
        "tenant_id": tenant.id,
        "client_id": tenant.default_app.client_id,
        "authority": sim.url,
        "client_secret": Secret(tenant.default_app.client_secret),
        "ca_pem": sim.ca_pem,
        "redirect_uri": REDIRECT,
        **changes,
    }
    return ProviderConfig(**values)


def _answer(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def _id_token(sim: GraphSimulator, tenant: SimTenant, app: Any = None) -> str:
    """An id token of ada, issued to ``app`` (default: the tenant's own) by the simulator."""
    app = app or tenant.default_app
    context = ssl.create_default_context(cafile=str(sim.ca_file))
    with httpx.Client(verify=context, trust_env=False) as http:
        answer = http.post(
            f"{sim.authority_url(tenant)}/oauth2/v2.0/token",
            data={
                "grant_type": "password",
                "client_id": app.client_id,
                "client_secret": app.client_secret,
                "scope": "openid profile",
                "username": f"ada@{tenant.domain}",
                "password": PASSWORD,
            },
        )
    assert answer.status_code == 200, answer.text
    return str(answer.json()["id_token"])


def test_the_auth_code_flow_signs_ada_in(sim: GraphSimulator, msp: SimTenant) -> None:
    provider = registry.operator_sign_in(_config(sim, msp))
    try:
        flow = provider.begin()
        assert "code_challenge_method=S256" in flow["auth_uri"]
        location = authorize(sim, flow["auth_uri"], "ada@msp.test", PASSWORD)
        identity = provider.finish(flow, _answer(location))
    finally:
        provider.close()
    ada = msp.store.user("ada@msp.test")
    assert ada is not None
    assert (identity.tenant_id, identity.object_id) == (msp.id, ada["id"])
    assert (identity.username, identity.display_name) == ("ada@msp.test", "Ada Admin")


def test_a_changed_state_is_refused(sim: GraphSimulator, msp: SimTenant) -> None:
    provider = registry.operator_sign_in(_config(sim, msp))
    try:
        flow = provider.begin()
        answer = _answer(authorize(sim, flow["auth_uri"], "ada@msp.test", PASSWORD))
        with pytest.raises(AuthenticationFailed, match="does not match"):
            provider.finish(flow, {**answer, "state": "forged"})
    finally:
        provider.close()


def test_a_replayed_code_is_refused(sim: GraphSimulator, msp: SimTenant) -> None:
    provider = registry.operator_sign_in(_config(sim, msp))
    try:
        flow = provider.begin()
        answer = _answer(authorize(sim, flow["auth_uri"], "ada@msp.test", PASSWORD))
        provider.finish(dict(flow), answer)
        with pytest.raises(AuthenticationFailed, match="AADSTS54005"):
            provider.finish(dict(flow), answer)
    finally:
        provider.close()


def test_an_error_redirect_is_refused_with_microsofts_words(
    sim: GraphSimulator, msp: SimTenant
) -> None:
    provider = MicrosoftSignIn(_config(sim, msp))
    try:
        flow = provider.begin()
        with pytest.raises(AuthenticationFailed, match="AADSTS65004"):
            provider.finish(
                flow,
                {
                    "error": "access_denied",
                    "error_description": "AADSTS65004: User declined.",
                    "state": flow["state"],
                },
            )
    finally:
        provider.close()


def test_a_token_of_another_app_is_refused(sim: GraphSimulator, msp: SimTenant) -> None:
    other = msp.add_app(("User.Read.All",), None, "another app")
    provider = MicrosoftSignIn(_config(sim, msp))
    try:
        with pytest.raises(AuthenticationFailed, match="audience"):
            provider.verify(_id_token(sim, msp, other))
        assert provider.verify(_id_token(sim, msp)).username == "ada@msp.test"
    finally:
        provider.close()


def test_a_token_of_another_tenant_is_refused(sim: GraphSimulator, msp: SimTenant) -> None:
    elsewhere = sim.add_tenant(users=0, groups=0, domain="elsewhere.test")
    elsewhere.create_user(upn="ada@elsewhere.test", password=PASSWORD)
    token = _id_token(sim, elsewhere)
    # the same app id in the configuration, so only the tenant tells the token apart
    provider = MicrosoftSignIn(_config(sim, msp, client_id=elsewhere.default_app.client_id))
    try:
        with pytest.raises(AuthenticationFailed, match="issuer"):
            provider.verify(token)
    finally:
        provider.close()


def test_a_forged_signature_and_an_unknown_key_are_refused(
    sim: GraphSimulator, msp: SimTenant
) -> None:
    genuine = _id_token(sim, msp)
    claims = jwt.decode(genuine, options={"verify_signature": False})
    kid = jwt.get_unverified_header(genuine)["kid"]
    forger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    provider = MicrosoftSignIn(_config(sim, msp))
    try:
        forged = jwt.encode(claims, forger, algorithm="RS256", headers={"kid": kid})
        with pytest.raises(AuthenticationFailed, match="signature"):
            provider.verify(forged)
        unknown = jwt.encode(claims, forger, algorithm="RS256", headers={"kid": "not-theirs"})
        with pytest.raises(AuthenticationFailed, match="key the tenant does not publish"):
            provider.verify(unknown)
        unsigned = jwt.encode(claims, "", algorithm="none")  # alg none: never accepted
        with pytest.raises(AuthenticationFailed):
            provider.verify(unsigned)
        with pytest.raises(AuthenticationFailed, match="not a JWT"):
            provider.verify("not-a-token")
    finally:
        provider.close()


def test_a_wrong_nonce_and_an_expired_token_are_refused(
    sim: GraphSimulator, msp: SimTenant
) -> None:
    token = _id_token(sim, msp)
    provider = MicrosoftSignIn(_config(sim, msp))
    later = MicrosoftSignIn(_config(sim, msp), clock=lambda: time.time() + 2 * 3600)
    try:
        with pytest.raises(AuthenticationFailed, match="nonce"):
            provider.verify(token, nonce=uuid.uuid4().hex)
        with pytest.raises(AuthenticationFailed, match="expired"):
            later.verify(token)
    finally:
        provider.close()
        later.close()


def test_the_device_code_flow_of_a_public_client(sim: GraphSimulator, msp: SimTenant) -> None:
    sim.device_interval = 1
    config = _config(sim, msp, client_secret=None, redirect_uri="")
    device = registry.operator_sign_in(config)
    checker = registry.operator_sign_in(_config(sim, msp))
    try:
        flow = device.start_device()
        assert flow["user_code"] in flow["message"]
        result: dict[str, str] = {}
        poller = threading.Thread(
            target=lambda: result.update(token=device.finish_device(flow)), daemon=True
        )
        poller.start()
        approve_device(sim, flow["user_code"], "ada@msp.test", PASSWORD)
        poller.join(timeout=60)
        assert checker.verify(result["token"]).username == "ada@msp.test"
    finally:
        sim.device_interval = 5
        device.close()
        checker.close()
