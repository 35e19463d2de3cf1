"""The API of operators' sign-in with Microsoft: an admin connects the tenant (the secret
never comes back), links and unlinks an operator; a refused value names its field; the other
roles get 403 (the permission matrix tries every role too); what a client needs to start a
sign-in is open to anyone, and says nothing secret."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from credsync.testing.graphsim import GraphSimulator

from .conftest import ApiWorld

SETUP = {
    "tenant_id": "11111111-2222-3333-4444-555555555555",
    "client_id": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
    "client_secret": "api-secret-value-1",
    "redirect_uri": "https://vault.example.test/sign-in/microsoft/callback",
}
OID = "99999999-8888-7777-6666-555555555555"


@pytest.fixture(scope="module")
def graph_sim() -> Iterator[GraphSimulator]:
    with GraphSimulator(port=0, seed=37) as sim:
        yield sim


def test_an_admin_connects_links_and_unlinks(api: ApiWorld) -> None:
    admin = api.admin
    assert admin.get("/api/v1/sign-in/microsoft").status_code == 404
    assert api.http.get("/api/v1/auth/microsoft").status_code == 404
    answer = admin.put("/api/v1/sign-in/microsoft", json=SETUP)
    assert answer.status_code == 200, answer.text
    assert "api-secret-value-1" not in answer.text
    assert answer.json()["has_secret"] is True
    shown = admin.get("/api/v1/sign-in/microsoft").json()
    assert shown["tenant_id"] == SETUP["tenant_id"]
    assert "api-secret-value-1" not in str(shown)
    public = api.http.get("/api/v1/auth/microsoft")
    assert public.status_code == 200
    assert public.json() == {
        "provider": "microsoft",
        "tenant_id": SETUP["tenant_id"],
        "client_id": SETUP["client_id"],
        "authority": "https://login.microsoftonline.com",
        "ca_pem": None,
    }
    linked = admin.put("/api/v1/operators/op-viewer/microsoft", json={"object_id": OID})
    assert linked.status_code == 200, linked.text
    assert linked.json()["tenant_id"] == SETUP["tenant_id"]
    listed = admin.get("/api/v1/sign-in/microsoft/links").json()
    assert [(x["operator"], x["object_id"]) for x in listed] == [("op-viewer", OID)]
    taken = admin.put("/api/v1/operators/op-technician/microsoft", json={"object_id": OID})
    assert taken.status_code == 409
    assert admin.delete("/api/v1/operators/op-viewer/microsoft").status_code == 204
    assert admin.delete("/api/v1/operators/op-viewer/microsoft").status_code == 404


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"tenant_id": "contoso.test"}, "tenant_id"),
        ({"redirect_uri": "vault.example.test"}, "redirect_uri"),
        ({"client_secret": None}, "client_secret"),
    ],
)
def test_a_refused_value_names_its_field(api: ApiWorld, change: dict, field: str) -> None:
    answer = api.admin.put("/api/v1/sign-in/microsoft", json={**SETUP, **change})
    assert answer.status_code == 400
    assert field in str(answer.json())


@pytest.mark.parametrize("role", ["viewer", "technician", "directory_manager", "auditor"])
def test_other_roles_are_refused(api: ApiWorld, role: str) -> None:
    client = api.as_role(role)
    assert client.put("/api/v1/sign-in/microsoft", json=SETUP).status_code == 403
    assert client.get("/api/v1/sign-in/microsoft").status_code == 403
    assert client.get("/api/v1/sign-in/microsoft/links").status_code == 403
    linked = client.put(f"/api/v1/operators/op-{role}/microsoft", json={"object_id": OID})
    assert linked.status_code == 403
    assert client.delete(f"/api/v1/operators/op-{role}/microsoft").status_code == 403
    assert api.world.vault.operator_sign_in.show(api.world.admin) is None


def test_trading_an_id_token_needs_the_connection_and_a_good_token(api: ApiWorld) -> None:
    """The device code sign-in's trade (tests/cli/test_login_microsoft.py signs in for real):
    404 while nothing is set up, and no API token for what is not an id token."""
    body = {"id_token": "not-a-jwt"}
    assert api.http.post("/api/v1/auth/microsoft/token", json=body).status_code == 404
    assert api.admin.put("/api/v1/sign-in/microsoft", json=SETUP).status_code == 200
    answer = api.http.post("/api/v1/auth/microsoft/token", json=body)
    assert answer.status_code == 401
    assert "cst_" not in answer.text
    assert api.http.post("/api/v1/auth/microsoft/token", json={}).status_code in (400, 422)


def test_the_import_of_operators_through_the_api(api: ApiWorld, graph_sim: Any) -> None:
    """Search, map a group, sync (on the Graph simulator as the MSP tenant); the other roles
    get 403 on each of these routes."""
    tenant = graph_sim.add_tenant(users=0, groups=0, domain="msp-api.test")
    ivy = tenant.create_user(upn=f"ivy@{tenant.domain}", display_name="Ivy")
    group = tenant.create_group("Engineers", members=[ivy.id])
    setup = {
        **SETUP,
        "tenant_id": tenant.id,
        "client_id": tenant.default_app.client_id,
        "client_secret": tenant.default_app.client_secret,
        "authority": graph_sim.url,
        "ca_pem": graph_sim.ca_pem,
    }
    admin = api.admin
    assert admin.put("/api/v1/sign-in/microsoft", json=setup).status_code == 200
    for role in ("viewer", "technician", "directory_manager", "auditor"):
        other = api.as_role(role)
        search = other.post("/api/v1/sign-in/microsoft/import/search", json={"query": "ivy"})
        assert search.status_code == 403
        assert other.post("/api/v1/sign-in/microsoft/import", json={}).status_code == 403
        mapped = other.put(f"/api/v1/sign-in/microsoft/groups/{group}", json={"role": "viewer"})
        assert mapped.status_code == 403
        assert other.get("/api/v1/sign-in/microsoft/groups").status_code == 403
        assert other.delete(f"/api/v1/sign-in/microsoft/groups/{group}").status_code == 403
    found = admin.post("/api/v1/sign-in/microsoft/import/search", json={"query": "ivy"}).json()
    assert [f["object_id"] for f in found] == [ivy.id]
    mapped = admin.put(f"/api/v1/sign-in/microsoft/groups/{group}", json={"role": "auditor"})
    assert mapped.status_code == 200, mapped.text
    assert mapped.json()["group_name"] == "Engineers"
    report = admin.post("/api/v1/sign-in/microsoft/import", json={}).json()
    assert [(x["action"], x["operator"]) for x in report["lines"]] == [
        ("created", f"ivy@{tenant.domain}")
    ]
    assert api.world.vault.operators.get(api.world.admin, f"ivy@{tenant.domain}").role == "auditor"
    assert admin.delete(f"/api/v1/sign-in/microsoft/groups/{group}").status_code == 204
