"""/api/v1/federation (show) and /enable, /rotate, /disable (issue 17) on a tenant of the
Graph simulator: who may (a viewer and a technician 403 on the writes, an operator without
the client 404, nothing written to the tenant), and an admin's enable, show, rotation and
defederation, answered in the shapes the CLI's --json prints; a bad value a 422 naming it."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from credsync.sync.provision_people import PeopleProvision
from credsync.testing.graphsim import DEFAULT_PERMISSIONS, sign_in
from credsync.types import Secret
from credsync.vault.drafts import make_draft

from .conftest import ApiWorld, assert_error

BASE = "/api/v1/federation"
FEDERATE = (*DEFAULT_PERMISSIONS, "Domain-InternalFederation.ReadWrite.All")
PASSWORD = "Ada-Fed-Pass-77!"


@pytest.fixture(scope="module")
def graph_sim() -> Iterator[Any]:
    from credsync.testing.graphsim import GraphSimulator

    with GraphSimulator(port=0, seed=23) as sim:
        yield sim


@pytest.fixture
def fed(api: ApiWorld, graph_sim: Any) -> tuple[ApiWorld, Any, str, str, Any]:
    """Contoso's Entra directory (an app that may federate) and Ada provisioned into a
    domain of the tenant; Fabrikam too."""
    from sync.entra import add_entra_directory

    world = api.world
    world.vault.clients.add(world.admin, world.keys, "Contoso", directory_sync=True)
    world.vault.clients.add(world.admin, world.keys, "Fabrikam")
    tenant = graph_sim.add_tenant(users=0, groups=0)
    app = tenant.add_app(FEDERATE, "Global Administrator")
    add_entra_directory(world, "Contoso", graph_sim, tenant, app, name="contoso-365")
    domain = graph_sim.add_domain(tenant, f"api{uuid.uuid4().hex[:6]}.test")
    world.vault.provisioning.update(world.admin, "contoso-365", {"upn_suffix": domain})
    cred = world.vault.credentials.add(world.admin, world.keys, "Contoso", make_draft(
        title="Ada login", username="ada", password=Secret(PASSWORD)))  # fmt: skip
    world.vault.people.add(world.admin, "Contoso", {"username": "ada", "credential": cred.id})
    asyncio.run(
        PeopleProvision(world.vault, world.keys, world.admin).apply("Contoso", "contoso-365")
    )
    return api, tenant, domain, f"ada@{domain}", graph_sim


def _writes(http: Any, domain: str) -> list[Any]:
    return [
        http.post(
            f"{BASE}/enable",
            json={"client": "Contoso", "domain": domain, "url": "https://vault.example"},
        ),
        http.post(f"{BASE}/rotate", json={"client": "Contoso", "step": "begin"}),
        http.post(f"{BASE}/disable", json={"client": "Contoso", "domain": domain}),
    ]


@pytest.mark.parametrize("role", ["viewer", "technician"])
def test_a_role_without_directory_setup_is_refused(fed: Any, role: str) -> None:
    api, tenant, domain, _ada, _sim = fed
    for answer in _writes(api.as_role(role), domain):
        assert_error(answer, 403, "forbidden")
    assert tenant.federation == {}
    assert api.as_role(role).get(BASE, params={"client": "Contoso"}).status_code == 200


def test_an_operator_without_the_client_is_not_told_it_exists(fed: Any) -> None:
    api, tenant, domain, _ada, _sim = fed
    world = api.world
    name, password = "scoped-dm", Secret("scoped-dm-password-1234")
    world.vault.operators.add(world.admin, name, password, "directory_manager", ["Fabrikam"])
    actor = world.vault.access.login_password(name, password)
    token = world.vault.access.create_token(actor, "scoped")[1].reveal()
    http = api.http.__class__(api.http.app, raise_server_exceptions=False)
    http.headers["Authorization"] = f"Bearer {token}"
    for answer in _writes(http, domain):
        assert_error(answer, 404, "not_found")
    assert_error(http.get(BASE, params={"client": "Contoso"}), 404, "not_found")
    assert tenant.federation == {}


def test_enable_show_rotate_disable(fed: Any) -> None:
    api, tenant, domain, ada, sim = fed
    http = api.admin
    where = {"client": "Contoso", "domain": domain, "url": "https://vault.example"}
    bad = http.post(f"{BASE}/enable", json={**where, "mfa": "often"})
    assert bad.status_code == 422
    assert "mfa" in bad.text
    default = http.post(f"{BASE}/enable", json={**where, "domain": tenant.domain})
    assert_error(default, 400, "invalid_input")
    enabled = http.post(f"{BASE}/enable", json=where)
    assert enabled.status_code == 200, enabled.text
    body = enabled.json()
    assert body["issuer_uri"] == f"https://vault.example/idp/{domain}"
    assert body["identities"] == 1
    assert tenant.federation[domain]["issuerUri"] == body["issuer_uri"]
    shown = http.get(BASE, params={"client": "Contoso"}).json()
    assert [(d["domain"], d["vault_state"], d["directory_state"]) for d in shown["domains"]] == [
        (domain, "federated", "federated")
    ]
    begun = http.post(f"{BASE}/rotate", json={"client": "Contoso", "step": "begin"}).json()
    assert begun["domains"] == {domain: "updated"}
    assert tenant.federation[domain]["nextSigningCertificate"]
    disabled = http.post(f"{BASE}/disable", json={"client": "Contoso", "domain": domain})
    assert disabled.status_code == 200, disabled.text
    assert disabled.json()["push"]["counts"]["pushed"] == 1
    assert PASSWORD not in disabled.text
    assert sign_in(sim, ada, PASSWORD).ok
