"""federationConfiguration writes: create, merge, delete, the Managed/Federated flip, the
constraints, the app-only role switch, audit entries, the propagation knob and what a federated
domain does to user writes."""

from __future__ import annotations

import base64
import ssl

import httpx
import pytest
from cryptography.hazmat.primitives import serialization

from credsync.testing.graphsim import GraphSimulator, SimTenant
from credsync.testing.graphsim._tls import make_app_certificate

from .conftest import Graph, error_of

WRITE = (
    "Domain-InternalFederation.ReadWrite.All",
    "User.ReadWrite.All",
    "User-PasswordProfile.ReadWrite.All",
    "Directory.Read.All",
    "AuditLog.Read.All",
)


def cert_b64(name: str = "idp") -> str:
    cert = make_app_certificate(name).certificate
    return base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()


def config(domain: str, **extra: object) -> dict[str, object]:
    body: dict[str, object] = {
        "displayName": f"{domain} via credsync",
        "issuerUri": f"https://vault.example/idp/{domain}",
        "passiveSignInUri": f"https://vault.example/idp/{domain}/sso",
        "signOutUri": f"https://vault.example/idp/{domain}/logout",
        "signingCertificate": cert_b64(),
        "preferredAuthenticationProtocol": "saml",
        "federatedIdpMfaBehavior": "enforceMfaByFederatedIdp",
    }
    body.update(extra)
    return body


@pytest.fixture
def fed(http: httpx.Client, sim: GraphSimulator, tenant: SimTenant) -> Graph:
    app = tenant.add_app(WRITE, "Hybrid Identity Administrator", "federation app")
    return Graph(http, sim, tenant, app)


def test_create_flips_the_domain_to_federated_and_delete_back(
    fed: Graph, sim: GraphSimulator, tenant: SimTenant
) -> None:
    domain = sim.add_domain(tenant, "fabrikam.test")
    made = fed.post(f"/domains/{domain}/federationConfiguration", json=config(domain))
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["id"]
    assert body["issuerUri"] == f"https://vault.example/idp/{domain}"
    assert body["federatedIdpMfaBehavior"] == "enforceMfaByFederatedIdp"
    assert fed.get(f"/domains/{domain}").json()["authenticationType"] == "Federated"
    listed = fed.get(f"/domains/{domain}/federationConfiguration").json()["value"]
    assert [c["id"] for c in listed] == [body["id"]]
    assert tenant.federation[domain]["passiveSignInUri"].endswith("/sso")

    item = f"/domains/{domain}/federationConfiguration/{body['id']}"
    nxt = cert_b64("next")
    assert fed.patch(item, json={"nextSigningCertificate": nxt}).status_code == 204
    merged = fed.get(item).json()
    assert merged["nextSigningCertificate"] == nxt
    assert merged["signingCertificate"] == body["signingCertificate"]  # merge, not replace

    assert fed.delete(item).status_code == 204
    assert fed.get(f"/domains/{domain}").json()["authenticationType"] == "Managed"
    assert fed.get(f"/domains/{domain}/federationConfiguration").json()["value"] == []
    assert fed.get(item).status_code == 404


@pytest.mark.parametrize("which", ["default", "initial", "unverified"])
def test_default_initial_and_unverified_domains_are_refused(
    fed: Graph, sim: GraphSimulator, tenant: SimTenant, which: str
) -> None:
    if which == "default":
        domain = tenant.domain
    elif which == "initial":
        domain = tenant.initial_domain
    else:
        domain = sim.add_domain(tenant, "pending.test", verified=False)
    answer = fed.post(f"/domains/{domain}/federationConfiguration", json=config(domain))
    assert answer.status_code == 400
    assert which in error_of(answer)["message"]
    assert fed.get(f"/domains/{domain}").json()["authenticationType"] == "Managed"


def test_issuer_unique_per_domain_and_one_config_per_domain(
    fed: Graph, sim: GraphSimulator, tenant: SimTenant
) -> None:
    first = sim.add_domain(tenant, "one.test")
    second = sim.add_domain(tenant, "two.test")
    made = fed.post(f"/domains/{first}/federationConfiguration", json=config(first))
    assert made.status_code == 201
    again = fed.post(f"/domains/{first}/federationConfiguration", json=config(first))
    assert again.status_code == 409
    assert error_of(again)["code"] == "Request_MultipleObjectsWithSameKeyValue"
    same_issuer = config(second, issuerUri=f"https://vault.example/idp/{first}")
    clash = fed.post(f"/domains/{second}/federationConfiguration", json=same_issuer)
    assert clash.status_code == 409
    assert "issuerUri" in error_of(clash)["message"]
    assert (
        fed.post(f"/domains/{second}/federationConfiguration", json=config(second)).status_code
        == 201
    )
    second_id = tenant.federation[second]["id"]
    patch = fed.patch(
        f"/domains/{second}/federationConfiguration/{second_id}",
        json={"issuerUri": f"https://vault.example/idp/{first}"},
    )
    assert patch.status_code == 409


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"signingCertificate": "bm90IGEgY2VydA=="}, "signingCertificate"),
        ({"signingCertificate": None}, "signingCertificate"),
        ({"preferredAuthenticationProtocol": "kerberos"}, "preferredAuthenticationProtocol"),
        ({"federatedIdpMfaBehavior": "sometimes"}, "federatedIdpMfaBehavior"),
        ({"issuerUri": None}, "issuerUri"),
        ({"supportsMfa": True}, "supportsMfa"),
    ],
)
def test_bad_bodies_are_refused_naming_the_property(
    fed: Graph, sim: GraphSimulator, tenant: SimTenant, change: dict[str, object], field: str
) -> None:
    domain = sim.add_domain(tenant, "bad.test")
    answer = fed.post(f"/domains/{domain}/federationConfiguration", json=config(domain, **change))
    assert answer.status_code == 400
    assert field in error_of(answer)["message"]
    assert domain not in tenant.federation


def test_app_only_create_and_delete_need_a_role_that_may_federate(
    http: httpx.Client, sim: GraphSimulator, tenant: SimTenant
) -> None:
    domain = sim.add_domain(tenant, "norole.test")
    no_role = Graph(http, sim, tenant, tenant.add_app(WRITE, None, "no role"))
    answer = no_role.post(f"/domains/{domain}/federationConfiguration", json=config(domain))
    assert answer.status_code == 403
    assert error_of(answer)["code"] == "Authorization_RequestDenied"
    global_admin = Graph(http, sim, tenant, tenant.add_app(WRITE, "Global Administrator"))
    made = global_admin.post(f"/domains/{domain}/federationConfiguration", json=config(domain))
    assert made.status_code == 201
    item = f"/domains/{domain}/federationConfiguration/{made.json()['id']}"
    # GET and PATCH work without the role; DELETE does not
    assert no_role.get(item).status_code == 200
    assert no_role.patch(item, json={"displayName": "renamed"}).status_code == 204
    assert no_role.delete(item).status_code == 403
    tenant.federation_roles = None  # the switch: no role check
    assert no_role.delete(item).status_code == 204


def test_the_permission_is_checked_before_anything(
    http: httpx.Client, sim: GraphSimulator, tenant: SimTenant
) -> None:
    domain = sim.add_domain(tenant, "noperm.test")
    reader = Graph(http, sim, tenant, tenant.add_app(("Domain.Read.All",), "Global Administrator"))
    answer = reader.post(f"/domains/{domain}/federationConfiguration", json=config(domain))
    assert answer.status_code == 403
    assert domain not in tenant.federation


def test_writes_are_audited(fed: Graph, sim: GraphSimulator, tenant: SimTenant) -> None:
    domain = sim.add_domain(tenant, "audited.test")
    made = fed.post(f"/domains/{domain}/federationConfiguration", json=config(domain)).json()
    item = f"/domains/{domain}/federationConfiguration/{made['id']}"
    fed.patch(item, json={"nextSigningCertificate": cert_b64("n")})
    fed.delete(item)
    entries = fed.get(
        "/auditLogs/directoryAudits",
        params={"$filter": "category eq 'DomainManagement'", "$orderby": "activityDateTime asc"},
    ).json()["value"]
    assert [e["activityDisplayName"] for e in entries] == [
        "Set domain authentication",
        "Set federation settings on domain",
        "Set federation settings on domain",
        "Set domain authentication",
    ]
    assert {e["targetResources"][0]["displayName"] for e in entries} == {domain}
    assert {e["initiatedBy"]["app"]["appId"] for e in entries} == {fed.app.client_id}


def test_propagation_delay_holds_the_reported_state() -> None:
    with GraphSimulator(seed=11) as own:  # a private clock to move
        tenant = own.add_tenant(users=1, groups=0)
        domain = own.add_domain(tenant, "slow.test")
        tenant.federation_delay = 7200
        with httpx.Client(verify=ssl.create_default_context(cafile=str(own.ca_file))) as c:
            g = Graph(c, own, tenant, tenant.add_app(WRITE, "Global Administrator"))
            made = g.post(f"/domains/{domain}/federationConfiguration", json=config(domain))
            assert made.status_code == 201
            assert g.get(f"/domains/{domain}").json()["authenticationType"] == "Managed"
            own.clock.advance(7201)
            g = Graph(c, own, tenant, g.app)  # the first token has expired meanwhile
            assert g.get(f"/domains/{domain}").json()["authenticationType"] == "Federated"


def test_federated_domain_users_need_an_immutable_id_and_take_no_password_until_managed(
    http: httpx.Client, sim: GraphSimulator, tenant: SimTenant
) -> None:
    fed = Graph(http, sim, tenant, tenant.add_app(WRITE, "Global Administrator"))
    domain = sim.add_domain(tenant, "people.test")
    user = tenant.create_user(upn=f"ann@{domain}")
    made = fed.post(f"/domains/{domain}/federationConfiguration", json=config(domain)).json()
    new = {
        "accountEnabled": True,
        "displayName": "Bob",
        "mailNickname": "bob",
        "userPrincipalName": f"bob@{domain}",
        "passwordProfile": {"password": "Xy7!long-enough-pass"},
    }
    assert fed.post("/users", json=new).status_code == 400
    assert fed.post("/users", json={**new, "onPremisesImmutableId": "Ym9i"}).status_code == 201
    clash = {**new, "userPrincipalName": f"bob2@{domain}", "mailNickname": "bob2"}
    assert fed.post("/users", json={**clash, "onPremisesImmutableId": "Ym9i"}).status_code == 400
    reset = {
        "passwordProfile": {"password": "Zq8!another-pass", "forceChangePasswordNextSignIn": False}
    }
    assert fed.patch(f"/users/{user.id}", json=reset).status_code == 400
    fed.delete(f"/domains/{domain}/federationConfiguration/{made['id']}")
    assert fed.patch(f"/users/{user.id}", json=reset).status_code == 204
    assert tenant.check_password(user.id, "Zq8!another-pass")
