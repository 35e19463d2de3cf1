"""POST /api/v1/people/deleted/check and /apply (issue 16) on a tenant of the Graph simulator:
who may (a viewer and a technician 403, an operator without the client 404, in the error
envelope; an admin and a directory manager get the check and the report), a bad action a 422
naming it, a bad new username a 400 naming ``new_username``."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from credsync.sync.people_import import PeopleImport, Selection
from credsync.types import Secret

from .conftest import ApiWorld, assert_error

CHECK, APPLY = "/api/v1/people/deleted/check", "/api/v1/people/deleted/apply"


@pytest.fixture(scope="module")
def graph_sim() -> Iterator[Any]:
    from credsync.testing.graphsim import GraphSimulator

    with GraphSimulator(port=0, seed=17) as sim:
        yield sim


@pytest.fixture
def deleted(api: ApiWorld, graph_sim: Any) -> tuple[ApiWorld, dict[str, Any]]:
    """Contoso with an Entra directory ``contoso-365`` whose Ada and Bob are people of the
    vault; Ada deleted in the tenant since. Fabrikam, a client of its own."""
    from sync.entra import add_entra_directory

    world = api.world
    world.vault.clients.add(world.admin, world.keys, "Contoso", directory_sync=True)
    world.vault.clients.add(world.admin, world.keys, "Fabrikam")
    tenant = graph_sim.add_tenant(users=0, groups=0)
    ada = tenant.create_user(upn=f"ada@{tenant.domain}", display_name="Ada Lovelace")
    bob = tenant.create_user(upn=f"bob@{tenant.domain}", display_name="Bob Baker")
    add_entra_directory(world, "Contoso", graph_sim, tenant, name="contoso-365")
    asyncio.run(
        PeopleImport(world.vault, world.keys, world.admin).sync(
            "Contoso", "contoso-365", Selection(ids=(str(ada.id), str(bob.id)))
        )
    )
    tenant.soft_delete(ada.id)
    return api, {"ada": str(ada.id), "bob": str(bob.id), "tenant": tenant}


def _body(**more: Any) -> dict[str, Any]:
    return {"client": "Contoso", "directory": "contoso-365", **more}


def _scoped(api: ApiWorld, role: str, client: str) -> Any:
    world = api.world
    name, password = f"scoped-{role}", Secret(f"scoped-{role}-password-1234")
    world.vault.operators.add(world.admin, name, password, role, [client])
    actor = world.vault.access.login_password(name, password)
    token = world.vault.access.create_token(actor, "scoped")[1].reveal()
    http = api.http.__class__(api.http.app, raise_server_exceptions=False)
    http.headers["Authorization"] = f"Bearer {token}"
    return http


def _people(api: ApiWorld) -> list[tuple[str, bool]]:
    world = api.world
    people, _ = world.vault.people.list(world.admin, "Contoso")
    return sorted((p.row.username, bool(p.row.enabled)) for p in people)


@pytest.mark.parametrize("role", ["viewer", "technician"])
def test_a_role_without_directory_setup_is_refused(deleted: Any, role: str) -> None:
    api, ids = deleted
    http = api.as_role(role)
    before = _people(api)
    assert_error(http.post(CHECK, json=_body()), 403, "forbidden")
    for action in ("disable", "delete", "restore", "keep"):
        choice = {"object_id": ids["ada"], "action": action}
        assert_error(http.post(APPLY, json=_body(choices=[choice])), 403, "forbidden")
    assert _people(api) == before
    assert ids["ada"] not in ids["tenant"].user_ids()


@pytest.mark.parametrize("role", ["viewer", "directory_manager"])
def test_an_operator_without_the_client_is_not_told_it_exists(deleted: Any, role: str) -> None:
    api, ids = deleted
    http = _scoped(api, role, "Fabrikam")
    code = (403, "forbidden") if role == "viewer" else (404, "not_found")
    choice = {"object_id": ids["ada"], "action": "delete"}
    for url, body in ((CHECK, _body()), (APPLY, _body(choices=[choice]))):
        error = assert_error(http.post(url, json=body), *code)
        nowhere = assert_error(http.post(url, json={**body, "client": "Nowhere"}), *code)
        assert error["message"] == nowhere["message"].replace("Nowhere", "Contoso")
    assert len(_people(api)) == 2


@pytest.mark.parametrize("role", ["admin", "directory_manager"])
def test_an_admin_and_a_directory_manager_check_and_apply(deleted: Any, role: str) -> None:
    api, ids = deleted
    http = api.as_role(role)
    found = http.post(CHECK, json=_body())
    assert found.status_code == 200, found.text
    [ada] = found.json()["findings"]
    assert (ada["object_id"], ada["state"]) == (ids["ada"], "deleted")
    assert ada["actions"] == ["disable", "delete", "restore", "keep"]
    done = http.post(APPLY, json=_body(choices=[{"object_id": ids["ada"], "action": "restore"}]))
    assert done.status_code == 200, done.text
    assert done.json()["totals"] == {"done": 1, "refused": 0, "skipped": 0}
    assert ids["ada"] in ids["tenant"].user_ids()
    assert http.post(CHECK, json=_body()).json()["findings"] == []


def test_bad_choices_are_refused_naming_the_field(deleted: Any) -> None:
    api, ids = deleted
    bad = api.admin.post(APPLY, json=_body(choices=[{"object_id": ids["ada"], "action": "x"}]))
    assert "body.choices.0.action" in [
        d["field"] for d in assert_error(bad, 422, "invalid_request")["details"]
    ]
    choice = {"object_id": ids["ada"], "action": "restore", "new_username": "a b"}
    error = assert_error(api.admin.post(APPLY, json=_body(choices=[choice])), 400, "invalid_input")
    assert [d["field"] for d in error["details"]] == ["new_username"]
