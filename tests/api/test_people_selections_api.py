"""Saved import selections and the import into a group at the API (issue 16), on a tenant of
the Graph simulator: saved, listed, shown, run (409 while another run holds it), its runs,
removed; a bad interval a 400 naming it; the import into a group and the person's onboarding
in their JSON; who may (a viewer and a technician 403, an operator without the client 404)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from credsync.storage import import_selections as rows
from credsync.vault._time import utcnow

from .conftest import ApiWorld, assert_error
from .test_people_import_api import _scoped

BASE = "/api/v1/clients/Contoso/people/import/selections"
SYNC = "/api/v1/people/import/sync"


@pytest.fixture(scope="module")
def graph_sim() -> Iterator[Any]:
    from credsync.testing.graphsim import GraphSimulator

    with GraphSimulator(port=0, seed=17) as sim:
        yield sim


@pytest.fixture
def imported(api: ApiWorld, graph_sim: Any) -> tuple[ApiWorld, dict[str, str]]:
    from sync.entra import add_entra_directory

    world = api.world
    world.vault.clients.add(world.admin, world.keys, "Contoso")
    world.vault.clients.add(world.admin, world.keys, "Fabrikam")
    tenant = graph_sim.add_tenant(users=0, groups=0)
    ada = tenant.create_user(upn=f"ada@{tenant.domain}", display_name="Ada Lovelace")
    bob = tenant.create_user(upn=f"bob@{tenant.domain}", display_name="Bob Baker")
    group = tenant.create_group("Research", members=[ada.id])
    add_entra_directory(world, "Contoso", graph_sim, tenant, name="contoso-365")
    return api, {"ada": str(ada.id), "bob": str(bob.id), "group": str(group)}


def _body(**more: Any) -> dict[str, Any]:
    return {"directory": "contoso-365", "name": "Research", **more}


def test_save_list_run_show_and_remove(imported: Any) -> None:
    api, ids = imported
    http = api.admin
    made = http.post(BASE, json=_body(ids=[ids["group"]], members=True, interval=3600))
    assert made.status_code == 200, made.text
    assert (made.json()["name"], made.json()["interval_seconds"]) == ("Research", 3600)
    assert [s["name"] for s in http.get(BASE).json()] == ["Research"]
    run = http.post(f"{BASE}/research/run")
    assert run.status_code == 200, run.text
    assert (run.json()["state"], run.json()["totals"]["created"]) == ("done", 2)
    shown = http.get(f"{BASE}/Research").json()
    assert shown["last_state"] == "done"
    assert shown["last_totals"]["created"] == 2
    runs = http.get(f"{BASE}/Research/runs").json()
    assert [r["id"] for r in runs] == [run.json()["id"]]
    # another run under way (a fresh heartbeat) holds the selection: 409
    now = utcnow()
    with api.world.vault.db.write() as conn:
        rows.insert_run(conn, rows.RunRow("r-busy", shown["id"], "agent", "system", "x:1",
                                          "running", now, now, None, "{}", "[]", ""))  # fmt: skip
    assert_error(http.post(f"{BASE}/Research/run"), 409, "run_in_progress")
    gone = http.delete(f"{BASE}/Research")
    assert gone.status_code == 200, gone.text
    assert http.get(BASE).json() == []
    assert_error(http.get(f"{BASE}/Research"), 404, "not_found")


def test_a_bad_interval_is_a_400_naming_it(imported: Any) -> None:
    api, _ = imported
    error = assert_error(
        api.admin.post(BASE, json=_body(query="", interval=5)), 400, "invalid_input"
    )
    assert [d["field"] for d in error["details"]] == ["interval"]
    assert api.admin.get(BASE).json() == []


def test_the_import_into_a_group_and_the_persons_onboarding(imported: Any) -> None:
    api, ids = imported
    body = {"client": "Contoso", "directory": "contoso-365", "ids": [ids["ada"]],
            "provisioning": {"into_group": "Staff", "folder": "People", "sync_mode": "enforce",
                             "invite": True}}  # fmt: skip
    done = api.admin.post(SYNC, json=body)
    assert done.status_code == 200, done.text
    onboarding = done.json()["onboarding"]
    assert (onboarding["group_created"], onboarding["credentials_created"]) == (True, 1)
    person_id = done.json()["objects"][0]["vault_id"]
    person = api.admin.get(f"/api/v1/people/{person_id}").json()
    assert person["onboarding"]["awaiting"] is True
    assert person["onboarding"]["invite"] is True
    assert person["credential_id"] is not None
    bad = {**body, "provisioning": {"into_group": "Staff", "sync_mode": "sideways"}}
    error = assert_error(api.admin.post(SYNC, json=bad), 400, "invalid_input")
    assert [d["field"] for d in error["details"]] == ["sync_mode"]


@pytest.mark.parametrize("role", ["viewer", "technician"])
def test_a_role_without_directory_setup_is_refused(imported: Any, role: str) -> None:
    api, _ = imported
    api.admin.post(BASE, json=_body(query=""))
    http = api.as_role(role)
    assert_error(http.post(BASE, json=_body(query="", name="Mine")), 403, "forbidden")
    assert_error(http.get(BASE), 403, "forbidden")
    assert_error(http.get(f"{BASE}/Research/runs"), 403, "forbidden")
    assert_error(http.post(f"{BASE}/Research/run"), 403, "forbidden")
    assert_error(http.delete(f"{BASE}/Research"), 403, "forbidden")
    assert [s["name"] for s in api.admin.get(BASE).json()] == ["Research"]
    assert api.admin.get(f"{BASE}/Research/runs").json() == []


def test_an_operator_without_the_client_is_not_told_it_exists(imported: Any) -> None:
    api, _ = imported
    api.admin.post(BASE, json=_body(query=""))
    http = _scoped(api, "directory_manager", "Fabrikam")
    assert_error(http.get(BASE), 404, "not_found")
    assert_error(http.post(BASE, json=_body(query="", name="Mine")), 404, "not_found")
    assert_error(http.post(f"{BASE}/Research/run"), 404, "not_found")
    assert_error(http.delete(f"{BASE}/Research"), 404, "not_found")
    assert [s["name"] for s in api.admin.get(BASE).json()] == ["Research"]
