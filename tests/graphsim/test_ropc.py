"""The password grant (ROPC) at the token endpoint and the sign_in helper: the password is
checked against the stored hash, with Entra's AADSTS answers for each refusal."""

from __future__ import annotations

import jwt
import pytest

from credsync.testing.graphsim import GraphSimulator, SimTenant, sign_in

from .conftest import Graph

PASSWORD = "Corr3ct-Horse!"


@pytest.fixture(scope="module")
def world(sim: GraphSimulator) -> SimTenant:
    return sim.add_tenant(users=5, groups=0, domain="ropc.test", federated_domain="fed.ropc.test")


def _token(http, sim: GraphSimulator, tenant: SimTenant, **form: str):
    app = tenant.default_app
    data = {"grant_type": "password", "client_id": app.client_id, **form}
    return http.post(f"{sim.authority_url(tenant)}/oauth2/v2.0/token", data=data)


def test_a_managed_user_with_the_right_password_gets_tokens(sim, world, http) -> None:
    user = world.create_user(upn="ada@ropc.test", password=PASSWORD, display_name="Ada")
    answer = _token(
        http,
        sim,
        world,
        scope="openid profile offline_access https://graph.microsoft.com/User.Read",
        username="Ada@ROPC.test",  # user principal names ignore case
        password=PASSWORD,
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3599
    assert body["scope"] == "User.Read openid profile"
    assert body["refresh_token"]
    access = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert (access["oid"], access["upn"], access["idtyp"]) == (user.id, "ada@ropc.test", "user")
    assert access["scp"] == "User.Read"
    assert access["aud"] == "https://graph.microsoft.com"
    identity = jwt.decode(body["id_token"], options={"verify_signature": False})
    assert identity["aud"] == world.default_app.client_id
    assert identity["iss"] == f"{sim.url}/{world.id}/v2.0"
    assert identity["preferred_username"] == "ada@ropc.test"
    assert sign_in(sim, "ada@ropc.test", PASSWORD)


def test_a_wrong_password_is_aadsts50126(sim, world, http) -> None:
    world.create_user(upn="wrong@ropc.test", password=PASSWORD)
    answer = _token(http, sim, world, scope="User.Read", username="wrong@ropc.test", password="x")
    assert answer.status_code == 400
    body = answer.json()
    assert body["error"] == "invalid_grant"
    assert body["error_codes"] == [50126]
    assert body["error_description"].startswith(
        "AADSTS50126: Error validating credentials due to invalid username or password."
    )
    assert "Corr3ct" not in answer.text
    result = sign_in(sim, "wrong@ropc.test", PASSWORD.lower())
    assert not result
    assert (result.error, result.code) == ("invalid_grant", 50126)
    assert PASSWORD.lower() not in repr(result)


def test_an_unknown_user_is_aadsts50034(sim, world) -> None:
    assert sign_in(sim, "nobody@ropc.test", PASSWORD).code == 50034
    assert sign_in(sim, "nobody", PASSWORD, tenant=world).code == 50034


def test_a_disabled_account_is_aadsts50057(sim, world) -> None:
    user = world.create_user(upn="off@ropc.test", password=PASSWORD, enabled=False)
    assert sign_in(sim, user.upn, PASSWORD).code == 50057
    world.enable(user.id)
    assert sign_in(sim, user.upn, PASSWORD)


def test_a_password_to_change_at_next_sign_in_is_expired(sim, world, http) -> None:
    user = world.create_user(upn="temp@ropc.test", password=PASSWORD)
    world.set_password(user.id, "Temp0rary!pass", force_change=True)
    assert sign_in(sim, user.upn, "Temp0rary!pass").code == 50055
    assert sign_in(sim, user.upn, "Wr0ng!password").code == 50126  # the password comes first
    graph = Graph(http, sim, world, world.default_app)
    answer = graph.patch(
        f"/users/{user.id}",
        {"passwordProfile": {"password": "Rel4yed!pass", "forceChangePasswordNextSignIn": False}},
    )
    assert answer.status_code == 204
    assert sign_in(sim, user.upn, "Rel4yed!pass")
    assert not sign_in(sim, user.upn, "Temp0rary!pass")


def test_an_old_password_expires_unless_the_policy_disables_expiration(sim, world) -> None:
    user = world.create_user(upn="aged@ropc.test", password=PASSWORD)
    world.update_user(user.id, lastPasswordChangeDateTime="2020-01-01T00:00:00Z")
    assert sign_in(sim, user.upn, PASSWORD)  # the domain's passwords never expire
    domain = next(d for d in world.domains if d["id"] == "ropc.test")
    domain["passwordValidityPeriodInDays"] = 90
    try:
        assert sign_in(sim, user.upn, PASSWORD).code == 50055
        world.update_user(user.id, passwordPolicies="DisablePasswordExpiration")
        assert sign_in(sim, user.upn, PASSWORD)
    finally:
        domain["passwordValidityPeriodInDays"] = 2147483647


def test_a_federated_user_is_refused_whatever_the_password(sim, world) -> None:
    user = world.create_user(upn="fed.user@fed.ropc.test", password=PASSWORD)
    assert world.check_password(user.id, PASSWORD)  # a cloud hash it has does not count
    result = sign_in(sim, user.upn, PASSWORD)
    assert not result
    assert result.code == 50126


def test_the_request_is_checked(sim, world, http) -> None:
    world.create_user(upn="form@ropc.test", password=PASSWORD)
    ok = {"scope": "User.Read", "username": "form@ropc.test", "password": PASSWORD}
    for missing in ok:
        form = {k: v for k, v in ok.items() if k != missing}
        answer = _token(http, sim, world, **form)
        assert answer.status_code == 400
        assert answer.json()["error_codes"] == [900144], missing
        assert f"'{missing}'" in answer.json()["error_description"]
    bad_secret = _token(http, sim, world, client_secret="nope", **ok)
    assert (bad_secret.status_code, bad_secret.json()["error_codes"]) == (401, [7000215])
    other = _token(http, sim, world, **{**ok, "scope": "https://outlook.example/.default"})
    assert other.json()["error_codes"] == [500011]
    public = _token(http, sim, world, **ok)  # no secret: public client flows allowed
    assert public.status_code == 200
    refresh = _token(http, sim, world, **{**ok, "grant_type": "refresh_token"})
    assert refresh.json()["error"] == "unsupported_grant_type"


def test_graph_refuses_a_user_token(sim, world, http) -> None:
    world.create_user(upn="delegated@ropc.test", password=PASSWORD)
    answer = _token(
        http, sim, world, scope="User.Read", username="delegated@ropc.test", password=PASSWORD
    )
    token = answer.json()["access_token"]
    me = http.get(f"{sim.graph_url}/v1.0/users", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 401
    assert me.json()["error"]["code"] == "InvalidAuthenticationToken"


def test_sign_in_needs_a_tenant_it_can_find(sim) -> None:
    with pytest.raises(ValueError, match="no tenant"):
        sign_in(sim, "someone@elsewhere.example", PASSWORD)


def test_home_realm_discovery(sim, world, http) -> None:
    # what msal asks before a password grant (msal builds this URL without the authority's port,
    # so msal itself cannot sign in against the simulator: sign_in does)
    managed = http.get(f"{sim.url}/common/userrealm/x@ropc.test?api-version=1.0").json()
    assert (managed["account_type"], managed["domain_name"]) == ("Managed", "ropc.test")
    realm = http.get(f"{sim.url}/common/userrealm/x@fed.ropc.test?api-version=1.0").json()
    assert realm["account_type"] == "Federated"
    assert realm["federation_protocol"] == "WSTrust"
    assert realm["federation_active_auth_url"].startswith("https://sts.fed.ropc.test/")
    unknown = http.get(f"{sim.url}/common/userrealm/x@nowhere.example").json()
    assert unknown["account_type"] == "Unknown"
