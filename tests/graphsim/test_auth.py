"""The identity platform: discovery, tokens by secret and by certificate through msal itself,
AADSTS errors, and Graph's validation of the access token."""

from __future__ import annotations

import base64
import json
import ssl
import time
import uuid

import httpx
import msal
import pytest
import requests
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

from credsync.testing.graphsim import GraphSimulator

from .conftest import SCOPE, Graph, error_of


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _claims(token: str) -> dict:
    part = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


@pytest.fixture
def session(sim):
    with requests.Session() as s:
        s.trust_env = False  # REQUESTS_CA_BUNDLE would override verify=
        s.verify = str(sim.ca_file)
        yield s


def _msal(sim, tenant, app, credential, session):
    return msal.ConfidentialClientApplication(
        app.client_id,
        authority=sim.authority_url(tenant),
        client_credential=credential,
        http_client=session,
        instance_discovery=False,
    )


def test_discovery_document(sim, tenant, http) -> None:
    doc = http.get(f"{sim.url}/{tenant.id}/v2.0/.well-known/openid-configuration").json()
    assert doc["issuer"] == f"{sim.url}/{tenant.id}/v2.0"
    assert doc["token_endpoint"] == f"{sim.url}/{tenant.id}/oauth2/v2.0/token"
    assert doc["authorization_endpoint"].startswith("https://127.0.0.1:")
    by_domain = http.get(f"{sim.url}/{tenant.domain}/v2.0/.well-known/openid-configuration")
    assert by_domain.json()["token_endpoint"] == doc["token_endpoint"]
    keys = http.get(doc["jwks_uri"]).json()["keys"]
    assert keys[0]["kty"] == "RSA"
    assert keys[0]["kid"]


def test_unknown_tenant_is_aadsts90002(sim, http) -> None:
    answer = http.get(f"{sim.url}/{uuid.uuid4()}/v2.0/.well-known/openid-configuration")
    assert answer.status_code == 400
    body = answer.json()
    assert body["error_codes"] == [90002]
    assert body["error_description"].startswith("AADSTS90002: Tenant '")
    assert set(body) >= {
        "error",
        "error_description",
        "error_codes",
        "timestamp",
        "trace_id",
        "correlation_id",
    }


@pytest.mark.parametrize("kind", ["secret", "certificate-sha1", "certificate-sha256"])
def test_msal_gets_a_token(sim, tenant, session, kind) -> None:
    app = tenant.default_app
    credential: object = app.client_secret
    if kind == "certificate-sha1":  # RS256 + x5t
        credential = {
            "private_key": app.private_key_pem,
            "thumbprint": app.thumbprint_sha1,
            "public_certificate": app.certificate_pem,
        }
    elif kind == "certificate-sha256":  # PS256 + x5t#S256
        credential = {"private_key": app.private_key_pem, "public_certificate": app.certificate_pem}
    result = _msal(sim, tenant, app, credential, session).acquire_token_for_client([SCOPE])
    assert "access_token" in result, result.get("error_description")
    assert result["expires_in"] > 3000
    claims = _claims(result["access_token"])
    assert claims["aud"] == "https://graph.microsoft.com"
    assert claims["iss"] == f"https://sts.windows.net/{tenant.id}/"
    assert claims["tid"] == tenant.id
    assert claims["appid"] == claims["azp"] == app.client_id
    assert claims["oid"] == app.service_principal_id
    assert claims["idtyp"] == "app"
    assert set(claims["roles"]) == set(app.permissions)
    assert claims["wids"] == ["7be44c8a-adaf-4e2a-84d6-ab2649e08a13"]  # PAA's template id
    assert claims["exp"] - claims["iat"] == 3599


def test_wrong_secret_is_aadsts7000215(sim, tenant, session) -> None:
    app = tenant.default_app
    result = _msal(sim, tenant, app, "not-the-secret", session).acquire_token_for_client([SCOPE])
    assert result["error"] == "invalid_client"
    assert result["error_codes"] == [7000215]
    assert f"for a secret added to app '{app.client_id}'" in result["error_description"]
    assert app.client_secret not in json.dumps(result)


def test_unknown_client_is_aadsts700016(sim, tenant, http) -> None:
    answer = http.post(
        f"{sim.authority_url(tenant)}/oauth2/v2.0/token",
        data={
            "client_id": str(uuid.uuid4()),
            "client_secret": "x",
            "scope": SCOPE,
            "grant_type": "client_credentials",
        },
    )
    assert answer.status_code == 400
    assert answer.json()["error"] == "unauthorized_client"
    assert answer.json()["error_codes"] == [700016]


def test_bad_scope_is_refused(sim, tenant, http) -> None:
    app = tenant.default_app
    form = {
        "client_id": app.client_id,
        "client_secret": app.client_secret,
        "grant_type": "client_credentials",
    }
    url = f"{sim.authority_url(tenant)}/oauth2/v2.0/token"
    answer = http.post(url, data={**form, "scope": "User.Read.All"})
    assert answer.json()["error_codes"] == [1002012]
    answer = http.post(url, data={**form, "scope": "https://vault.azure.net/.default"})
    assert answer.json()["error_codes"] == [500011]


def _assertion(sim, tenant, app, *, exp_offset=600, aud=None, key_pem=None, x5t=None) -> str:
    key = serialization.load_pem_private_key((key_pem or app.private_key_pem).encode(), None)
    header = {"alg": "RS256", "typ": "JWT", "x5t": x5t or _b64(bytes.fromhex(app.thumbprint_sha1))}
    now = time.time()
    claims = {
        "aud": aud or f"{sim.authority_url(tenant)}/oauth2/v2.0/token",
        "iss": app.client_id,
        "sub": app.client_id,
        "jti": str(uuid.uuid4()),
        "iat": now - 5,
        "exp": now + exp_offset,
    }
    signing = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    signature = key.sign(signing.encode(), padding.PKCS1v15(), hashes.SHA256())  # type: ignore[union-attr,call-arg]
    return f"{signing}.{_b64(signature)}"


def _post_assertion(sim, tenant, http, assertion: str):
    return http.post(
        f"{sim.authority_url(tenant)}/oauth2/v2.0/token",
        data={
            "client_id": tenant.default_app.client_id,
            "grant_type": "client_credentials",
            "scope": SCOPE,
            "client_assertion": assertion,
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        },
    )


def test_certificate_assertion_checks(sim, tenant, http) -> None:
    app = tenant.default_app
    good = _post_assertion(sim, tenant, http, _assertion(sim, tenant, app))
    assert good.status_code == 200, good.text
    expired = _post_assertion(sim, tenant, http, _assertion(sim, tenant, app, exp_offset=-900))
    assert expired.json()["error_codes"] == [700024]
    other = tenant.add_app(permissions=("User.Read.All",))
    forged = _assertion(sim, tenant, app, key_pem=other.private_key_pem)
    assert _post_assertion(sim, tenant, http, forged).json()["error_codes"] == [700027]
    unknown = _assertion(sim, tenant, app, x5t=_b64(bytes.fromhex(other.thumbprint_sha1)))
    assert _post_assertion(sim, tenant, http, unknown).json()["error_codes"] == [700027]
    wrong_aud = _assertion(sim, tenant, app, aud="https://example.test/token")
    answer = _post_assertion(sim, tenant, http, wrong_aud)
    assert answer.status_code == 401
    assert answer.json()["error"] == "invalid_client"


def test_graph_validates_the_token(sim: GraphSimulator, tenant, graph: Graph, http) -> None:
    answer = http.get(f"{sim.graph_url}/v1.0/users")
    assert answer.status_code == 401
    assert error_of(answer)["code"] == "InvalidAuthenticationToken"
    assert error_of(answer)["message"] == "Access token is empty."
    garbled = http.get(
        f"{sim.graph_url}/v1.0/users", headers={"Authorization": "Bearer abc.def.ghi"}
    )
    assert garbled.status_code == 401
    assert "validation failure" in error_of(garbled)["message"]
    assert graph.get("/users").status_code == 200
    local = GraphSimulator(seed=3)  # the clock is per simulator: move a private one
    try:
        local.start()
        t = local.add_tenant(users=1, groups=0)
        with httpx.Client(verify=ssl.create_default_context(cafile=str(local.ca_file))) as c:
            g = Graph(c, local, t, t.default_app)
            assert g.get("/users").status_code == 200
            local.advance_clock(3600)
            expired = g.get("/users")
            assert expired.status_code == 401
            assert error_of(expired)["message"] == "Access token has expired or is not yet valid."
    finally:
        local.stop()


def test_client_request_id_is_echoed(graph: Graph) -> None:
    answer = graph.get("/users/nobody@nowhere.test", headers={"client-request-id": "abc-123"})
    assert answer.status_code == 404
    error = error_of(answer)
    assert error["code"] == "Request_ResourceNotFound"
    assert error["innerError"]["client-request-id"] == "abc-123"
    assert answer.headers["client-request-id"] == "abc-123"
    assert answer.headers["request-id"] == error["innerError"]["request-id"]


def test_msal_reuses_its_assertion(sim, tenant, session) -> None:
    """msal signs one assertion and reuses it for minutes: a second token request with the same
    jti is accepted."""
    app = tenant.default_app
    client = _msal(
        sim,
        tenant,
        app,
        {"private_key": app.private_key_pem, "public_certificate": app.certificate_pem},
        session,
    )
    assert "access_token" in client.acquire_token_for_client([SCOPE])
    client.remove_tokens_for_client()
    again = client.acquire_token_for_client([SCOPE])
    assert again.get("token_source") == "identity_provider", again.get("error_description")


def test_secrets_stay_out_of_reprs_and_errors(sim, tenant, http) -> None:
    app = tenant.default_app
    user = tenant.create_user(password="Repr-Check!42")
    shown = " ".join(repr(x) for x in (sim, tenant, app, user))
    for secret in (app.client_secret, app.private_key_pem, "Repr-Check!42"):
        assert secret not in shown
    wrong = "Wrong-Secret-Value-123"
    answer = http.post(
        f"{sim.authority_url(tenant)}/oauth2/v2.0/token",
        data={
            "client_id": app.client_id,
            "client_secret": wrong,
            "scope": SCOPE,
            "grant_type": "client_credentials",
        },
    )
    assert wrong not in answer.text
    assert app.client_secret not in answer.text
