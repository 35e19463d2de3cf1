"""Directories and runs over the API against the Graph simulator (and one Active Directory
test against the Samba AD DC): add, show, change, test, plan, run in the background with its
progress, the run list and reports, error shapes and permission refusals."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from credsync.sync.background import background_runs

from .conftest import ApiWorld, assert_error

V1 = "/api/v1"


@pytest.fixture(scope="module")
def graph_sim() -> Iterator[Any]:
    from credsync.testing.graphsim import GraphSimulator

    with GraphSimulator(port=0, seed=11) as sim:
        yield sim


def add_client(admin: TestClient, name: str | None = None) -> str:
    name = name or f"Client {uuid.uuid4().hex[:6]}"
    created = admin.post(f"{V1}/clients", json={"name": name, "directory_sync": True})
    assert created.status_code == 201, created.text
    return name


def add_cred(admin: TestClient, client: str, password: str, **fields: Any) -> dict[str, Any]:
    body = {"title": f"cred {uuid.uuid4().hex[:6]}", "password": password, **fields}
    created = admin.post(f"{V1}/clients/{client}/credentials", json=body)
    assert created.status_code == 201, created.text
    return created.json()  # type: ignore[no-any-return]


def entra_body(sim: Any, tenant: Any, client: str, secret_cred: str, **extra: Any) -> dict:
    return {
        "client": client,
        "name": f"entra-{uuid.uuid4().hex[:8]}",
        "kind": "entra",
        "url": sim.graph_url,
        "authority": sim.url,
        "tenant_id": tenant.id,
        "app_id": tenant.default_app.client_id,
        "secret_credential": secret_cred,
        "ca_pem": sim.ca_pem,
        **extra,
    }


def add_entra(api: ApiWorld, sim: Any) -> tuple[str, str, Any]:
    """A client with directory sync on and an Entra directory on a fresh tenant, added
    through the API: (client, directory name, tenant)."""
    admin = api.admin
    client = add_client(admin)
    tenant = sim.add_tenant(users=0, groups=0)
    app_cred = add_cred(
        admin,
        client,
        tenant.default_app.client_secret,
        username="credsync-app",
        type="directory_admin",
        sync_mode="off",
    )
    added = admin.post(f"{V1}/directories", json=entra_body(sim, tenant, client, app_cred["id"]))
    assert added.status_code == 201, added.text
    return client, added.json()["name"], tenant


def run(http: TestClient, directory: str, **body: Any) -> dict[str, Any]:
    """A run, waited for."""
    started = http.post(f"{V1}/directories/{directory}/runs?wait=true", json=body)
    assert started.status_code == 200, started.text
    return started.json()  # type: ignore[no-any-return]


def test_an_entra_directory_from_add_to_run(api: ApiWorld, graph_sim: Any) -> None:
    admin = api.admin
    client, name, tenant = add_entra(api, graph_sim)
    secret = tenant.default_app.client_secret

    shown = admin.get(f"{V1}/directories/{name.upper()}").json()
    assert (shown["kind"], shown["bind_kind"], shown["ca"]) == ("entra", "secret", "configured")
    assert shown["tenant_id"] == tenant.id
    assert shown["client"] == client
    assert shown["options"]["push_cap"] == 500
    listed = admin.get(f"{V1}/directories", params={"client": client}).json()
    assert [d["name"] for d in listed] == [name]
    assert name in [d["name"] for d in admin.get(f"{V1}/directories").json()]

    tested = admin.post(f"{V1}/directories/{name}/test")
    assert tested.status_code == 200, tested.text
    result = tested.json()
    assert result["ok"] is True
    steps = {s["step"]: s for s in result["steps"]}
    assert steps["token"]["outcome"] == "ok"
    assert "User-PasswordProfile.ReadWrite.All" in steps["permissions"]["detail"]
    assert secret not in tested.text

    changed = admin.patch(
        f"{V1}/directories/{name}",
        json={"options": {"never_expires": 1}, "version": shown["version"]},
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["options"]["never_expires"] == 1
    assert changed.json()["version"] == shown["version"] + 1

    user = tenant.create_user(password="First-Passw0rd-1!")
    cred = add_cred(admin, client, "First-Passw0rd-1!", username=user.upn)
    planned = admin.post(f"{V1}/directories/{name}/plan", json={"full": True})
    assert planned.status_code == 200, planned.text
    plan = planned.json()
    assert (plan["dry_run"], plan["state"], plan["side"]) == (True, "done", "Entra ID")
    assert [(i["credential_id"], i["action"]) for i in plan["items"]] == [(cred["id"], "confirm")]

    started = admin.post(f"{V1}/directories/{name}/runs")
    assert started.status_code == 202, started.text
    run_id = started.json()["id"]
    assert started.headers["Location"] == f"{V1}/runs/{run_id}"
    assert started.json()["trigger"] == "api"
    background_runs.join(run_id, timeout=30)
    report = admin.get(f"{V1}/runs/{run_id[:8]}").json()
    assert (report["state"], report["dry_run"], report["item_count"]) == ("done", False, 1)
    assert [(i["status"], i["action"]) for i in report["items"]] == [("in_sync", "confirm")]
    assert report["summary"]["statuses"] == {"in_sync": 1}

    runs = admin.get(f"{V1}/runs", params={"client": client}).json()
    assert [r["id"] for r in runs["items"]] == [run_id, plan["id"]]
    assert runs["next_cursor"] is None
    assert "items" not in runs["items"][0] or runs["items"][0]["items"] is None
    by_directory = admin.get(f"{V1}/runs", params={"directory": name, "limit": 1}).json()
    assert [r["id"] for r in by_directory["items"]] == [run_id]
    after = admin.get(
        f"{V1}/runs", params={"directory": name, "limit": 1, "cursor": by_directory["next_cursor"]}
    ).json()
    assert [r["id"] for r in after["items"]] == [plan["id"]]
    assert after["next_cursor"] is None
    done = admin.get(f"{V1}/runs", params={"client": client, "state": "done"}).json()
    assert [r["id"] for r in done["items"]] == [run_id, plan["id"]]
    assert admin.get(f"{V1}/runs", params={"state": "failed"}).json()["items"] == []
    bad = admin.get(f"{V1}/runs", params={"state": "sideways"})
    assert bad.status_code == 422
    assert "state" in bad.text

    removed = admin.delete(f"{V1}/directories/{name}")
    assert removed.status_code == 200, removed.text
    assert_error(admin.get(f"{V1}/directories/{name}"), 404, "not_found")
    assert_error(admin.get(f"{V1}/runs/{run_id}"), 404, "not_found")


def test_an_incremental_run_says_what_it_did_not_check_again(api: ApiWorld, graph_sim: Any) -> None:
    admin = api.admin
    client, name, tenant = add_entra(api, graph_sim)
    users = [tenant.create_user(password=f"Api-Passw0rd-{n}!") for n in range(3)]
    creds = [
        add_cred(admin, client, f"Api-Passw0rd-{n}!", username=u.upn) for n, u in enumerate(users)
    ]
    assert run(admin, name)["kind"] == "full"
    changed = admin.put(
        f"{V1}/credentials/{creds[0]['id']}/password", json={"password": "Api-New-Passw0rd-9!"}
    )
    assert changed.status_code == 200, changed.text
    report = run(admin, name)
    assert report["kind"] == "incremental"
    assert [(i["credential_id"], i["status"]) for i in report["items"]] == [
        (creds[0]["id"], "mismatch")
    ]
    assert report["summary"]["unchanged"] == 2
    assert report["summary"]["unchanged_since"]
    shown = admin.get(f"{V1}/runs/{report['id']}").json()
    assert (shown["item_count"], shown["summary"]["unchanged"]) == (1, 2)


def test_a_run_is_visible_while_under_way(api: ApiWorld, graph_sim: Any) -> None:
    admin = api.admin
    client, name, tenant = add_entra(api, graph_sim)
    users = [tenant.create_user(password=f"Passw0rd-{n}-Long!") for n in range(3)]
    for n, user in enumerate(users):
        add_cred(admin, client, f"Passw0rd-{n}-Long!", username=user.upn)
    # The tenant holds its lock: the run's reads wait, so it is caught under way.
    with tenant.store.lock:
        started = admin.post(f"{V1}/directories/{name}/runs", json={"full": True})
        assert started.status_code == 202, started.text
        run_id = started.json()["id"]
        assert started.json()["state"] == "running"
        polled = admin.get(f"{V1}/runs/{run_id}").json()
        assert (polled["state"], polled["finished_at"], polled["item_count"]) == (
            "running",
            None,
            0,
        )
        again = admin.post(f"{V1}/directories/{name}/runs")
        assert run_id in assert_error(again, 409, "run_in_progress")["message"]
    background_runs.join(run_id, timeout=30)
    done = admin.get(f"{V1}/runs/{run_id}", params={"items_limit": 2}).json()
    assert (done["state"], done["item_count"]) == ("done", 3)
    assert len(done["items"]) == 2
    rest = admin.get(
        f"{V1}/runs/{run_id}/items", params={"cursor": done["next_items_cursor"]}
    ).json()
    assert len(rest["items"]) == 1
    assert rest["next_cursor"] is None
    bare = admin.get(f"{V1}/runs/{run_id}", params={"items_limit": 0}).json()
    assert (bare["items"], bare["item_count"]) == (None, 3)
    # Another run may start now that this one is over.
    assert run(admin, name)["state"] == "done"


def test_a_run_the_directory_refuses_ends_failed(api: ApiWorld, graph_sim: Any) -> None:
    admin = api.admin
    _, name, _ = add_entra(api, graph_sim)
    bind_id = admin.get(f"{V1}/directories/{name}").json()["bind_credential_id"]
    wrong = admin.put(f"{V1}/credentials/{bind_id}/password", json={"password": "Not-It-123!"})
    assert wrong.status_code == 200, wrong.text
    report = run(admin, name)
    assert report["state"] == "failed"
    assert "AADSTS7000215" in report["message"]
    tested = admin.post(f"{V1}/directories/{name}/test").json()
    assert tested["ok"] is False
    assert {s["step"]: s["outcome"] for s in tested["steps"]}["token"] == "failed"
    assert "Not-It-123!" not in str(tested) + str(report)


def test_bad_directory_input_in_the_error_shape(api: ApiWorld, graph_sim: Any) -> None:
    admin = api.admin
    client, name, tenant = add_entra(api, graph_sim)
    cred_id = admin.get(f"{V1}/directories/{name}").json()["bind_credential_id"]
    body = entra_body(graph_sim, tenant, client, cred_id)

    extra = admin.post(f"{V1}/directories", json={**body, "password": "Hunter2-Secret!"})
    error = assert_error(extra, 422, "invalid_request")
    assert error["details"][0]["field"] == "body.password"
    assert "Hunter2-Secret!" not in extra.text
    assert_error(
        admin.post(f"{V1}/directories", json={**body, "kind": "novell"}), 422, "invalid_request"
    )
    assert_error(
        admin.post(f"{V1}/directories", json={**body, "name": "x" * 101}), 422, "invalid_request"
    )
    none = {k: v for k, v in body.items() if k != "secret_credential"}
    assert (
        "give the credential"
        in assert_error(admin.post(f"{V1}/directories", json=none), 400, "invalid_input")["message"]
    )
    both = {**body, "certificate_credential": cred_id}
    assert (
        "give one of"
        in assert_error(admin.post(f"{V1}/directories", json=both), 400, "invalid_input")["message"]
    )
    assert_error(
        admin.post(f"{V1}/directories", json={**body, "tenant_id": "not a tenant"}),
        400,
        "invalid_input",
    )
    assert_error(
        admin.post(f"{V1}/directories", json={**body, "options": {"push_cap": 0}}),
        400,
        "invalid_input",
    )
    assert_error(
        admin.post(f"{V1}/directories", json={**body, "ca_pem": "not a certificate"}),
        400,
        "invalid_input",
    )
    ad = {
        "client": client,
        "name": "ad-1",
        "kind": "active_directory",
        "url": "https://dc.example.com",
        "base_dn": "DC=example,DC=com",
        "bind_credential": cred_id,
    }
    assert (
        "ldaps://"
        in assert_error(admin.post(f"{V1}/directories", json=ad), 400, "invalid_input")["message"]
    )
    assert_error(
        admin.post(f"{V1}/directories", json={**body, "name": name}), 409, "already_exists"
    )
    assert_error(
        admin.post(f"{V1}/directories", json={**body, "client": "Nobody Inc"}), 404, "not_found"
    )
    plain = add_cred(admin, client, "Plain-Passw0rd-1!")
    assert (
        "directory_admin"
        in assert_error(
            admin.post(
                f"{V1}/directories", json={**body, "name": "y", "secret_credential": plain["id"]}
            ),
            400,
            "invalid_input",
        )["message"]
    )

    assert_error(admin.patch(f"{V1}/directories/{name}", json={}), 400, "invalid_input")
    assert_error(
        admin.patch(f"{V1}/directories/{name}", json={"url": "https://x.test", "version": 99}),
        409,
        "conflict",
    )
    assert_error(
        admin.patch(f"{V1}/directories/{name}", json={"kind": "entra"}), 422, "invalid_request"
    )
    for method, path in (
        ("get", "/directories/nope"),
        ("post", "/directories/nope/test"),
        ("post", "/directories/nope/plan"),
        ("post", "/directories/nope/runs"),
        ("delete", "/directories/nope"),
        ("get", "/runs/00000000-0000-0000-0000-000000000000"),
    ):
        assert_error(getattr(admin, method)(V1 + path), 404, "not_found")
    assert_error(admin.get(f"{V1}/runs/abc"), 400, "invalid_input")
    assert_error(admin.get(f"{V1}/runs", params={"cursor": "nope"}), 400, "invalid_input")
    assert_error(admin.get(f"{V1}/runs", params={"limit": 0}), 422, "invalid_request")
    assert_error(
        admin.post(f"{V1}/directories/{name}/runs", json={"full": True, "dry_run": True}),
        422,
        "invalid_request",
    )
    assert tenant.default_app.client_secret not in str(admin.get(f"{V1}/directories").text)


def test_roles_without_the_permission_are_refused(api: ApiWorld, graph_sim: Any) -> None:
    client, name, tenant = add_entra(api, graph_sim)
    body = entra_body(graph_sim, tenant, client, "0" * 8)
    viewer, technician = api.as_role("viewer"), api.as_role("technician")
    manager = api.as_role("directory_manager")

    assert viewer.get(f"{V1}/directories").status_code == 200
    assert viewer.get(f"{V1}/directories/{name}").status_code == 200
    assert viewer.get(f"{V1}/runs").status_code == 200
    for http in (viewer, technician):
        assert_error(http.post(f"{V1}/directories", json=body), 403, "forbidden")
        assert_error(http.patch(f"{V1}/directories/{name}", json={"options": {}}), 403, "forbidden")
        assert_error(http.delete(f"{V1}/directories/{name}"), 403, "forbidden")
        assert_error(http.post(f"{V1}/directories/{name}/test"), 403, "forbidden")
        assert_error(http.post(f"{V1}/directories/{name}/plan"), 403, "forbidden")
        assert_error(http.post(f"{V1}/directories/{name}/runs"), 403, "forbidden")
    no_token = api.http.get(f"{V1}/runs")
    assert_error(no_token, 401, "unauthenticated")
    # The directory manager may do all of it.
    tenant.create_user()
    assert manager.post(f"{V1}/directories/{name}/plan").json()["state"] == "done"
    assert run(manager, name)["actor"] == "op-directory_manager"
    assert manager.post(f"{V1}/directories/{name}/test").json()["ok"] is True


@pytest.mark.samba
def test_an_active_directory_directory_is_tested_step_by_step(api: ApiWorld, ad_ou: Any) -> None:
    admin = api.admin
    facts = ad_ou.facts
    client = add_client(admin)
    bind = add_cred(
        admin,
        client,
        facts.admin_password,
        username=facts.admin_netbios,
        type="directory_admin",
        sync_mode="off",
    )
    added = admin.post(
        f"{V1}/directories",
        json={
            "client": client,
            "name": f"ad-{uuid.uuid4().hex[:6]}",
            "kind": "active_directory",
            "url": "ldaps://127.0.0.1",
            "tls_server_name": facts.tls_server_name,
            "base_dn": ad_ou.dn,
            "bind_credential": bind["id"][:8],
            "ca_pem": facts.ca_file.read_text(),
        },
    )
    assert added.status_code == 201, added.text
    directory = added.json()
    assert (directory["url"], directory["base_dn"]) == ("ldaps://127.0.0.1:636", ad_ou.dn)
    assert directory["tenant_id"] is None
    tested = admin.post(f"{V1}/directories/{directory['name']}/test")
    assert tested.status_code == 200, tested.text
    result = tested.json()
    assert result["ok"] is True, result
    assert [s["step"] for s in result["steps"]][:3] == ["tcp", "tls", "bind"]
    assert facts.admin_password not in tested.text
