"""/api/v1/groups/export/settings, /plan and /apply (issue 16) on a tenant of the Graph
simulator: who may (a viewer and a technician 403, an operator without the client 404, in the
error envelope, and nothing written to the tenant), the plan and the apply of an admin and a
directory manager, the duplicates' confirmation (a stale one a 400 naming
``confirm_duplicates``), a bad setting a 422/400 naming its field."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from credsync.types import Secret

from .conftest import ApiWorld, assert_error

BASE = "/api/v1/groups/export"
WHERE = {"client": "Contoso", "directory": "contoso-365"}


@pytest.fixture(scope="module")
def graph_sim() -> Iterator[Any]:
    from credsync.testing.graphsim import GraphSimulator

    with GraphSimulator(port=0, seed=17) as sim:
        yield sim


@pytest.fixture
def exported(api: ApiWorld, graph_sim: Any) -> tuple[ApiWorld, Any]:
    """Contoso with an Entra directory ``contoso-365`` and a vault group Sales; the tenant
    has two groups named Sales already (one matches, one is a duplicate); Fabrikam too."""
    from sync.entra import add_entra_directory

    world = api.world
    world.vault.clients.add(world.admin, world.keys, "Contoso", directory_sync=True)
    world.vault.clients.add(world.admin, world.keys, "Fabrikam")
    tenant = graph_sim.add_tenant(users=0, groups=0)
    tenant.create_group("Sales")
    graph_sim.advance_clock(5)
    tenant.create_group("Sales")
    world.vault.groups.add(world.admin, "Contoso", {"name": "Sales"})
    add_entra_directory(world, "Contoso", graph_sim, tenant, name="contoso-365")
    return api, tenant


def _scoped(api: ApiWorld, role: str, client: str) -> Any:
    world = api.world
    name, password = f"scoped-{role}", Secret(f"scoped-{role}-password-1234")
    world.vault.operators.add(world.admin, name, password, role, [client])
    actor = world.vault.access.login_password(name, password)
    token = world.vault.access.create_token(actor, "scoped")[1].reveal()
    http = api.http.__class__(api.http.app, raise_server_exceptions=False)
    http.headers["Authorization"] = f"Bearer {token}"
    return http


def _tried(http: Any) -> list[Any]:
    return [
        http.get(f"{BASE}/settings", params=WHERE),
        http.patch(f"{BASE}/settings", json={**WHERE, "remove_duplicates": True}),
        http.post(f"{BASE}/plan", json=WHERE),
        http.post(f"{BASE}/apply", json=WHERE),
    ]


@pytest.mark.parametrize("role", ["viewer", "technician"])
def test_a_role_without_directory_setup_is_refused(exported: Any, role: str) -> None:
    api, tenant = exported
    for answer in _tried(api.as_role(role)):
        assert_error(answer, 403, "forbidden")
    assert tenant.stats["writes"] == 0


def test_an_operator_without_the_client_is_not_told_it_exists(exported: Any) -> None:
    api, tenant = exported
    http = _scoped(api, "directory_manager", "Fabrikam")
    for answer in _tried(http):
        assert_error(answer, 404, "not_found")
    nowhere = http.post(f"{BASE}/plan", json={**WHERE, "client": "Nowhere"})
    error = assert_error(nowhere, 404, "not_found")
    mine = assert_error(http.post(f"{BASE}/plan", json=WHERE), 404, "not_found")
    assert mine["message"] == error["message"].replace("Nowhere", "Contoso")
    assert tenant.stats["writes"] == 0


@pytest.mark.parametrize("role", ["admin", "directory_manager"])
def test_plan_then_apply_with_the_duplicates_confirmed(exported: Any, role: str) -> None:
    api, tenant = exported
    http = api.as_role(role)
    changed = http.patch(f"{BASE}/settings", json={**WHERE, "remove_duplicates": True})
    assert changed.status_code == 200, changed.text
    assert changed.json()["remove_duplicates"] is True
    planned = http.post(f"{BASE}/plan", json=WHERE)
    assert planned.status_code == 200, planned.text
    plan = planned.json()
    [line] = plan["groups"]
    assert line["action"] == "matched"
    [duplicate] = plan["duplicates"]
    assert plan["writes"] == 2  # the link, the removal
    stale = http.post(f"{BASE}/apply", json={**WHERE, "confirm_duplicates": [line["object_id"]]})
    error = assert_error(stale, 400, "invalid_input")
    assert [d["field"] for d in error["details"]] == ["confirm_duplicates"]
    assert tenant.stats["writes"] == 0
    body = {**WHERE, "confirm_duplicates": [duplicate["object_id"]]}
    done = http.post(f"{BASE}/apply", json=body).json()
    assert done["applied"] is True
    assert [d["removed"] for d in done["duplicates"]] == [True]
    assert duplicate["object_id"] not in tenant.group_ids()
    again = http.post(f"{BASE}/apply", json=WHERE).json()
    assert (again["writes"], again["duplicates"]) == (0, [])


def test_a_bad_setting_names_its_field(exported: Any) -> None:
    api, _ = exported
    answer = api.admin.patch(f"{BASE}/settings", json={**WHERE, "matching": "email"})
    error = assert_error(answer, 422, "invalid_request")
    assert [d["field"] for d in error["details"]] == ["body.matching"]


def test_an_apply_is_refused_while_the_clients_directory_sync_is_off(exported: Any) -> None:
    api, tenant = exported
    world = api.world
    world.vault.clients.configure(world.admin, "Contoso", directory_sync=False)
    assert api.admin.post(f"{BASE}/plan", json=WHERE).status_code == 200
    refused = assert_error(api.admin.post(f"{BASE}/apply", json=WHERE), 400, "invalid_input")
    assert "directory sync off" in refused["message"]
    assert tenant.stats["writes"] == 0
