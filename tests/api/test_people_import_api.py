"""POST /api/v1/people/import/search and /sync (issue 16) on a tenant of the Graph
simulator: who may (a viewer and a technician refused 403, an operator without the client
404, each in the error envelope; an admin and a directory manager get the preview and the
report), a bad query a 400 naming ``query`` (one too long for the request a 422 naming
``body.query``), and a dry run that keeps nothing."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from credsync.types import Secret

from .conftest import ApiWorld, assert_error

SEARCH, SYNC = "/api/v1/people/import/search", "/api/v1/people/import/sync"


@pytest.fixture(scope="module")
def graph_sim() -> Iterator[Any]:
    from credsync.testing.graphsim import GraphSimulator

    with GraphSimulator(port=0, seed=13) as sim:
        yield sim


@pytest.fixture
def imported(api: ApiWorld, graph_sim: Any) -> tuple[ApiWorld, dict[str, str]]:
    """Contoso with an Entra directory ``contoso-365`` whose tenant has Ada and Bob, and a
    group of Ada; Fabrikam, a client of its own."""
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


def _search(query: str = "", **more: Any) -> dict[str, Any]:
    return {"client": "Contoso", "directory": "contoso-365", "query": query, **more}


def _sync(**selection: Any) -> dict[str, Any]:
    return {"client": "Contoso", "directory": "contoso-365", **selection}


def _scoped(api: ApiWorld, role: str, client: str) -> Any:
    """A client of the API as an operator of ``role`` limited to ``client``."""
    world = api.world
    name, password = f"scoped-{role}", Secret(f"scoped-{role}-password-1234")
    world.vault.operators.add(world.admin, name, password, role, [client])
    actor = world.vault.access.login_password(name, password)
    token = world.vault.access.create_token(actor, "scoped")[1].reveal()
    http = api.http.__class__(api.http.app, raise_server_exceptions=False)
    http.headers["Authorization"] = f"Bearer {token}"
    return http


def _kept(api: ApiWorld) -> tuple[int, int, int]:
    """(the newest audit entry's number, Contoso's people, its groups)."""
    world = api.world
    people, _ = world.vault.people.list(world.admin, "Contoso")
    groups, _ = world.vault.groups.list(world.admin, "Contoso")
    return world.vault.audit.list(world.admin, limit=1)[0].seq, len(people), len(groups)


@pytest.mark.parametrize("role", ["viewer", "technician"])
def test_a_role_without_directory_setup_is_refused(imported: Any, role: str) -> None:
    api, ids = imported
    http = api.as_role(role)
    before = _kept(api)
    assert_error(http.post(SEARCH, json=_search("ada")), 403, "forbidden")
    assert_error(http.post(SYNC, json=_sync(ids=[ids["ada"]])), 403, "forbidden")
    assert_error(http.post(SYNC, json=_sync(ids=[ids["ada"]], dry_run=True)), 403, "forbidden")
    assert _kept(api)[1:] == before[1:]


@pytest.mark.parametrize("role", ["viewer", "directory_manager"])
def test_an_operator_without_the_client_is_not_told_it_exists(imported: Any, role: str) -> None:
    api, ids = imported
    http = _scoped(api, role, "Fabrikam")
    code = (403, "forbidden") if role == "viewer" else (404, "not_found")
    for url, body in ((SEARCH, _search("ada")), (SYNC, _sync(ids=[ids["ada"]]))):
        error = assert_error(http.post(url, json=body), *code)
        # the answer for a client that does not exist, word for word
        nowhere = assert_error(http.post(url, json={**body, "client": "Nowhere"}), *code)
        assert error["message"] == nowhere["message"].replace("Nowhere", "Contoso")
    assert _kept(api)[1:] == (0, 0)


@pytest.mark.parametrize("role", ["admin", "directory_manager"])
def test_an_admin_and_a_directory_manager_preview_and_sync(imported: Any, role: str) -> None:
    api, ids = imported
    http = api.as_role(role)
    preview = http.post(SEARCH, json=_search(groups=True))
    assert preview.status_code == 200, preview.text
    found = preview.json()
    assert {p["object_id"] for p in found["people"]} == {ids["ada"], ids["bob"]}
    assert [g["object_id"] for g in found["groups"]] == [ids["group"]]
    assert all(f["vault_id"] is None for f in found["people"] + found["groups"])
    done = http.post(SYNC, json=_sync(ids=[ids["group"]], members=True))
    assert done.status_code == 200, done.text
    report = done.json()
    assert report["dry_run"] is False
    assert report["totals"] == {"created": 2, "updated": 0, "unchanged": 0, "linked": 0,
                                "refused": 0}  # fmt: skip
    assert report["members_added"] == 1
    again = http.post(SEARCH, json=_search("ada")).json()
    assert again["people"][0]["vault_id"] == next(
        o["vault_id"] for o in report["objects"] if o["object_id"] == ids["ada"]
    )


def test_a_bad_query_is_a_400_naming_query(imported: Any) -> None:
    api, _ = imported
    for url, body in (
        (SEARCH, _search('"displayName:ada" AND')),
        (SYNC, _sync(query='"displayName:ada" AND')),
    ):
        error = assert_error(api.admin.post(url, json=body), 400, "invalid_input")
        assert [d["field"] for d in error["details"]] == ["query"], error
    # a query longer than the request allows is the request's refusal (422), naming it too
    answer = api.admin.post(SEARCH, json=_search("x" * 2001))
    too_long = assert_error(answer, 422, "invalid_request")
    assert [d["field"] for d in too_long["details"]] == ["body.query"]


def test_a_dry_run_answers_the_report_and_keeps_nothing(imported: Any) -> None:
    api, ids = imported
    before = _kept(api)
    dry = api.admin.post(SYNC, json=_sync(ids=[ids["group"], "nope"], members=True, dry_run=True))
    assert dry.status_code == 200, dry.text
    report = dry.json()
    assert report["dry_run"] is True
    assert {o["object_id"]: o["outcome"] for o in report["objects"]} == {
        ids["ada"]: "created", ids["group"]: "created", "nope": "refused"}  # fmt: skip
    assert all(o["vault_id"] is None for o in report["objects"])
    assert _kept(api) == before
