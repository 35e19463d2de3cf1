"""Provisioning people through the API (issue 16) on a tenant of the Graph simulator: the
settings (GET, PATCH; a bad mapping a 400 naming ``username_template``), the plan and the
apply (users created), and who may: a viewer and a technician 403, an operator without the
client 404 as for a client that does not exist."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from credsync.types import Secret
from credsync.vault.drafts import make_draft

from .conftest import ApiWorld, assert_error

SETTINGS = "/api/v1/directories/contoso-365/provisioning"
PLAN, APPLY = "/api/v1/people/provision/plan", "/api/v1/people/provision/apply"
BODY = {"client": "Contoso", "directory": "contoso-365"}


@pytest.fixture(scope="module")
def graph_sim() -> Iterator[Any]:
    from credsync.testing.graphsim import GraphSimulator

    with GraphSimulator(port=0, seed=17) as sim:
        yield sim


@pytest.fixture
def world(api: ApiWorld, graph_sim: Any) -> tuple[ApiWorld, Any, str]:
    """Contoso (directory sync on) with an Entra directory ``contoso-365`` and Ada, who has a
    password; Fabrikam, a client of its own."""
    from sync.entra import add_entra_directory

    w = api.world
    w.vault.clients.add(w.admin, w.keys, "Contoso", directory_sync=True)
    w.vault.clients.add(w.admin, w.keys, "Fabrikam")
    tenant = graph_sim.add_tenant(users=0, groups=0)
    add_entra_directory(w, "Contoso", graph_sim, tenant, name="contoso-365")
    cred = w.vault.credentials.add(w.admin, w.keys, "Contoso", make_draft(
        title="Ada login", username="ada", password=Secret("Cs-Ada-Pass-77!")))  # fmt: skip
    fields = {"username": "ada", "given_name": "Ada", "surname": "Lovelace", "credential": cred.id}
    ada = w.vault.people.add(w.admin, "Contoso", fields)
    return api, tenant, ada.id


def _scoped(api: ApiWorld, role: str, client: str) -> Any:
    w = api.world
    name, password = f"scoped-{role}", Secret(f"scoped-{role}-password-1234")
    w.vault.operators.add(w.admin, name, password, role, [client])
    actor = w.vault.access.login_password(name, password)
    token = w.vault.access.create_token(actor, "scoped")[1].reveal()
    http = api.http.__class__(api.http.app, raise_server_exceptions=False)
    http.headers["Authorization"] = f"Bearer {token}"
    return http


@pytest.mark.parametrize("role", ["admin", "directory_manager"])
def test_settings_plan_and_apply(world: Any, role: str) -> None:
    api, tenant, ada = world
    http = api.as_role(role)
    assert http.get(SETTINGS).json()["version"] == 0
    bad = http.patch(SETTINGS, json={"username_template": "{given}.{nick}"})
    error = assert_error(bad, 400, "invalid_input")
    assert [d["field"] for d in error["details"]] == ["username_template"]
    changed = http.patch(SETTINGS, json={"username_template": "{given}.{surname}",
                                         "upn_suffix": tenant.domain, "licence": "ENTERPRISEPACK",
                                         "usage_location": "SE"})  # fmt: skip
    assert changed.status_code == 200, changed.text
    assert changed.json()["version"] == 1
    stale = http.patch(SETTINGS, json={"licence": "", "version": 0})
    assert_error(stale, 409, "conflict")
    planned = http.post(PLAN, json=BODY)
    assert planned.status_code == 200, planned.text
    [line] = planned.json()["people"]
    assert (line["person_id"], line["outcome"]) == (ada, "create")
    assert line["actions"] == ["create", "usage_location", "licence", "password"]
    assert tenant.stats["writes"] == 0
    done = http.post(APPLY, json=BODY)
    assert done.status_code == 200, done.text
    [line] = done.json()["people"]
    assert line["outcome"] == "created"
    assert line["done"] == ["created", "password", "licensed"]
    assert tenant.check_password(line["object_id"], "Cs-Ada-Pass-77!")
    again = http.post(APPLY, json=BODY).json()
    assert (again["writes"], again["totals"]["unchanged"]) == (0, 1)


@pytest.mark.parametrize("role", ["viewer", "technician"])
def test_a_role_without_directory_setup_is_refused(world: Any, role: str) -> None:
    api, tenant, _ada = world
    http = api.as_role(role)
    assert_error(http.patch(SETTINGS, json={"usage_location": "SE"}), 403, "forbidden")
    assert_error(http.post(PLAN, json=BODY), 403, "forbidden")
    assert_error(http.post(APPLY, json=BODY), 403, "forbidden")
    assert tenant.stats["writes"] == 0


def test_an_operator_without_the_client_is_not_told_it_exists(world: Any) -> None:
    api, tenant, _ada = world
    http = _scoped(api, "directory_manager", "Fabrikam")
    assert_error(http.get(SETTINGS), 404, "not_found")
    assert_error(http.patch(SETTINGS, json={"usage_location": "SE"}), 404, "not_found")
    for url in (PLAN, APPLY):
        error = assert_error(http.post(url, json=BODY), 404, "not_found")
        nowhere = assert_error(http.post(url, json={**BODY, "client": "Nowhere"}), 404, "not_found")
        assert error["message"] == nowhere["message"].replace("Nowhere", "Contoso")
    assert tenant.stats["writes"] == 0


def test_held_provisioning_is_listed_and_approving_it_needs_directory_setup(world: Any) -> None:
    """Over the change threshold the apply writes nothing and holds the creates; a role with
    all a push's approval needs but directory.setup is refused (403), as is a technician;
    discarding needs no more than a push's; an admin's approval creates the user."""
    api, tenant, _ada = world
    w, admin = api.world, api.as_role("admin")
    w.vault.provisioning.update(w.admin, "contoso-365", {
        "username_template": "{given}.{surname}", "upn_suffix": tenant.domain, "licence": "",
    })  # fmt: skip
    w.vault.people.add(w.admin, "Contoso", {"username": "bo", "given_name": "Bo",
                                            "surname": "Berg"})  # fmt: skip
    w.vault.directories.update(w.admin, "contoso-365", _cap(1))
    done = admin.post(APPLY, json=BODY)
    assert done.status_code == 200, done.text
    assert {p["outcome"] for p in done.json()["people"]} == {"skipped"}
    assert tenant.stats["writes"] == 0
    held = admin.get("/api/v1/quarantine", params={"directory": "contoso-365"}).json()
    assert sorted((h["direction"], h["action"]) for h in held) == [("people", "create")] * 2
    w.vault.operators.add_role(w.admin, "pusher",
                               ["vault.read", "vault.write", "directory_admin.use"])  # fmt: skip
    pusher = _scoped(api, "pusher", "Contoso")
    ids = {"ids": [held[0]["id"]]}
    assert_error(pusher.post("/api/v1/quarantine/approve", json=ids), 403, "forbidden")
    assert_error(api.as_role("technician").post("/api/v1/quarantine/approve", json=ids), 403,
                 "forbidden")  # fmt: skip
    assert tenant.stats["writes"] == 0
    approved = admin.post("/api/v1/quarantine/approve", json=ids)
    assert approved.status_code == 200, approved.text
    assert approved.json()["totals"] == {"done": 1}
    assert tenant.stats["writes"] >= 1
    dropped = pusher.post("/api/v1/quarantine/discard", json={"ids": [held[1]["id"]]})
    assert dropped.status_code == 200, dropped.text
    assert admin.get("/api/v1/quarantine", params={"directory": "contoso-365"}).json() == []


def _cap(count: int) -> Any:
    from credsync.vault.directory_input import DirectoryInput

    return DirectoryInput(options={"change_cap": count})
