"""Flags over the API against the Graph simulator: a password changed in the tenant shows as
a flag with its side, and is resolved by push or by accepting the directory's password (or
its state); error shapes and permission refusals."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

import pytest
from fastapi.testclient import TestClient

from .conftest import ApiWorld, assert_error
from .test_directories_sync import V1, add_cred, add_entra, run


@pytest.fixture(scope="module")
def graph_sim() -> Iterator[Any]:
    from credsync.testing.graphsim import GraphSimulator

    with GraphSimulator(port=0, seed=12) as sim:
        yield sim


@dataclass
class Flagged:
    admin: TestClient
    client: str
    tenant: Any
    user: Any
    cred: dict[str, Any]
    flag: dict[str, Any]


def flagged(api: ApiWorld, sim: Any) -> Flagged:
    """A credential in step with its Entra user, whose password is then changed in the
    tenant (the portal) and found by a run."""
    admin = api.admin
    client, directory, tenant = add_entra(api, sim)
    user = tenant.create_user(password="First-Passw0rd-1!")
    cred = add_cred(admin, client, "First-Passw0rd-1!", username=user.upn)
    first = run(admin, directory)
    assert [(i["status"], i["action"]) for i in first["items"]] == [("in_sync", "confirm")]
    # A later second than the run's check (Graph's timestamps have whole seconds), and no
    # more: the module shares the simulator, whose clock only moves forward.
    sim.advance_clock(2)
    tenant.set_password(user.id, "Portal-Passw0rd-2!")
    second = run(admin, directory)
    assert [i["status"] for i in second["items"]] == ["changed_in_directory"]
    flags = admin.get(f"{V1}/flags", params={"client": client}).json()["items"]
    assert len(flags) == 1
    return Flagged(admin, client, tenant, user, cred, flags[0])


def test_a_flag_is_listed_with_its_side_and_resolved_by_push(api: ApiWorld, graph_sim: Any) -> None:
    found = flagged(api, graph_sim)
    admin, client, tenant, user, flag = (
        found.admin,
        found.client,
        found.tenant,
        found.user,
        found.flag,
    )
    assert (flag["credential_id"], flag["status"], flag["side"], flag["open"]) == (
        found.cred["id"],
        "changed_in_directory",
        "Entra ID",
        True,
    )
    assert flag["id"] in [f["id"] for f in admin.get(f"{V1}/flags").json()["items"]]
    assert admin.get(f"{V1}/flags/{flag['id'][:8]}").json() == flag
    viewer = api.as_role("viewer")
    assert viewer.get(f"{V1}/flags", params={"client": client}).json() == {
        "items": [flag],
        "next_cursor": None,
    }
    assert client in [c["name"] for c in admin.get(f"{V1}/clients").json() if c["open_flags"]]

    resolved = admin.post(f"{V1}/flags/{flag['id']}/resolve", json={"action": "push"})
    assert resolved.status_code == 200, resolved.text
    result = resolved.json()
    assert result["outcome"] == "pushed"
    assert (result["flag"]["open"], result["flag"]["resolution"]) == (False, "pushed")
    assert result["run"]["trigger"] == "resolve"
    assert [(i["status"], i["action"]) for i in result["run"]["items"]] == [("in_sync", "push")]
    assert tenant.check_password(user.id, "First-Passw0rd-1!")
    assert admin.get(f"{V1}/flags", params={"client": client}).json()["items"] == []
    closed = admin.get(f"{V1}/flags", params={"client": client, "include_resolved": True})
    closed = closed.json()["items"]
    assert [(f["id"], f["resolution"]) for f in closed] == [(flag["id"], "pushed")]
    again = admin.post(f"{V1}/flags/{flag['id']}/resolve", json={"action": "push"})
    assert "already resolved" in assert_error(again, 400, "invalid_input")["message"]
    assert "First-Passw0rd-1!" not in resolved.text


def test_accepting_the_directorys_password_stores_it(api: ApiWorld, graph_sim: Any) -> None:
    found = flagged(api, graph_sim)
    admin, tenant, user, cred, flag = found.admin, found.tenant, found.user, found.cred, found.flag
    accepted = admin.post(
        f"{V1}/flags/{flag['id']}/resolve",
        json={"action": "accept_directory", "password": "Portal-Passw0rd-2!"},
    )
    assert accepted.status_code == 200, accepted.text
    result = accepted.json()
    assert (result["outcome"], result["run"]) == ("accepted_password", None)
    assert "operator's word" in result["detail"]
    assert "Portal-Passw0rd-2!" not in accepted.text
    revealed = admin.post(f"{V1}/credentials/{cred['id']}/reveal").json()
    assert revealed["password"] == "Portal-Passw0rd-2!"
    assert tenant.check_password(user.id, "Portal-Passw0rd-2!")  # nothing was pushed


def test_accepting_the_directorys_state_needs_report_mode(api: ApiWorld, graph_sim: Any) -> None:
    found = flagged(api, graph_sim)
    admin, flag = found.admin, found.flag
    accepted = admin.post(f"{V1}/flags/{flag['id']}/resolve", json={"action": "accept_directory"})
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["outcome"] == "accepted"
    assert accepted.json()["flag"]["resolution"] == "accepted"

    confirm = {"sync_mode": "enforce", "confirm": True}
    other = flagged(api, graph_sim)
    switched = admin.put(f"{V1}/credentials/{other.cred['id']}/sync-mode", json=confirm)
    assert switched.status_code == 200, switched.text
    refused = admin.post(
        f"{V1}/flags/{other.flag['id']}/resolve", json={"action": "accept_directory"}
    )
    error = assert_error(refused, 400, "invalid_input")
    assert "enforce" in error["message"]
    assert error["details"] == [{"field": "password", "problem": error["message"]}]


def test_bad_resolve_requests_in_the_error_shape(api: ApiWorld, graph_sim: Any) -> None:
    found = flagged(api, graph_sim)
    admin, flag = found.admin, found.flag
    path = f"{V1}/flags/{flag['id']}/resolve"
    with_password = admin.post(path, json={"action": "push", "password": "Leak-Me-Passw0rd!"})
    assert "accept_directory" in assert_error(with_password, 400, "invalid_input")["message"]
    assert "Leak-Me-Passw0rd!" not in with_password.text
    unknown = admin.post(path, json={"action": "delete"})
    assert assert_error(unknown, 422, "invalid_request")["details"][0]["field"] == "body.action"
    extra = admin.post(path, json={"action": "push", "force": True})
    assert_error(extra, 422, "invalid_request")
    empty = admin.post(path, json={"action": "accept_directory", "password": ""})
    assert_error(empty, 422, "invalid_request")
    long = admin.post(path, json={"action": "accept_directory", "password": "x" * 16385})
    assert_error(long, 422, "invalid_request")
    assert_error(admin.post(path), 422, "invalid_request")
    assert_error(admin.get(f"{V1}/flags/abc"), 400, "invalid_input")
    missing = "00000000-0000-0000-0000-000000000000"
    assert_error(admin.get(f"{V1}/flags/{missing}"), 404, "not_found")
    assert_error(
        admin.post(f"{V1}/flags/{missing}/resolve", json={"action": "push"}), 404, "not_found"
    )
    assert_error(admin.get(f"{V1}/flags", params={"client": "Nobody"}), 404, "not_found")
    assert_error(admin.get(f"{V1}/flags", params={"limit": 0}), 422, "invalid_request")
    assert admin.get(f"{V1}/flags/{flag['id']}").json()["open"] is True  # untouched


def test_roles_without_the_permission_cannot_resolve(api: ApiWorld, graph_sim: Any) -> None:
    found = flagged(api, graph_sim)
    admin, tenant, user, flag = found.admin, found.tenant, found.user, found.flag
    path = f"{V1}/flags/{flag['id']}/resolve"
    for role in ("viewer", "auditor", "technician"):
        http = api.as_role(role)
        assert http.get(f"{V1}/flags/{flag['id']}").status_code == 200
        assert_error(http.post(path, json={"action": "push"}), 403, "forbidden")
        refused = http.post(path, json={"action": "accept_directory", "password": "Some-Passw0rd!"})
        assert_error(refused, 403, "forbidden")
    assert admin.get(f"{V1}/flags/{flag['id']}").json()["open"] is True
    assert tenant.check_password(user.id, "Portal-Passw0rd-2!")
    manager = api.as_role("directory_manager")
    assert manager.post(path, json={"action": "push"}).json()["outcome"] == "pushed"


def test_a_flag_of_a_credential_in_the_trash_is_not_resolved(api: ApiWorld, graph_sim: Any) -> None:
    """Neither pushed nor accepted: a credential in the trash is not synced or changed until
    it is restored."""
    found = flagged(api, graph_sim)
    admin, flag, cred = found.admin, found.flag, found.cred
    assert admin.delete(f"{V1}/credentials/{cred['id']}").status_code == 200
    for body in (
        {"action": "push"},
        {"action": "accept_directory", "password": "Portal-Passw0rd-2!"},
    ):
        refused = admin.post(f"{V1}/flags/{flag['id']}/resolve", json=body)
        assert "in the trash" in assert_error(refused, 404, "not_found")["message"]
    assert found.tenant.check_password(found.user.id, "Portal-Passw0rd-2!")  # not pushed
    assert admin.post(f"{V1}/credentials/{cred['id']}/restore").status_code == 200
    history = admin.get(f"{V1}/credentials/{cred['id']}/history").json()
    assert len(history) == 1  # nothing accepted while it was in the trash


def test_several_flags_are_pushed_or_accepted_at_once(api: ApiWorld, graph_sim: Any) -> None:
    """POST /flags/resolve: each flag resolved as alone (pushes one run per directory), with
    a result per flag; a flag that can't be resolved is refused and the others go on. An
    accepted directory state leaves the vault without its password: the credential says so
    (``password_unknown_in``, status password_unknown) until a password is set."""
    pushed_a, pushed_b, kept_c, kept_d = (flagged(api, graph_sim) for _ in range(4))
    admin = api.admin
    push = {"action": "push", "flags": [pushed_a.flag["id"], pushed_b.flag["id"][:8]]}
    done = admin.post(f"{V1}/flags/resolve", json=push)
    assert done.status_code == 200, done.text
    results = done.json()["results"]
    assert [(r["flag_id"], r["outcome"]) for r in results] == [
        (pushed_a.flag["id"], "pushed"),
        (pushed_b.flag["id"], "pushed"),
    ]
    assert results[0]["run_id"] != results[1]["run_id"]  # one run per directory
    assert results[0]["flag"]["resolution"] == "pushed"
    for found in (pushed_a, pushed_b):
        assert found.tenant.check_password(found.user.id, "First-Passw0rd-1!")

    enforced = flagged(api, graph_sim)
    switched = admin.put(
        f"{V1}/credentials/{enforced.cred['id']}/sync-mode",
        json={"sync_mode": "enforce", "confirm": True},
    )
    assert switched.status_code == 200, switched.text
    flags = [kept_c.flag["id"], pushed_a.flag["id"], enforced.flag["id"], kept_d.flag["id"]]
    done = admin.post(f"{V1}/flags/resolve", json={"action": "accept_directory", "flags": flags})
    assert done.status_code == 200, done.text
    outcomes = [(r["outcome"], r["detail"]) for r in done.json()["results"]]
    assert [o for o, _ in outcomes] == ["accepted", "refused", "refused", "accepted"]
    assert "already resolved" in outcomes[1][1]
    assert "enforce" in outcomes[2][1]
    assert admin.get(f"{V1}/flags/{enforced.flag['id']}").json()["open"] is True

    for kept in (kept_c, kept_d):
        cred = admin.get(f"{V1}/credentials/{kept.cred['id']}").json()
        directory = kept.flag["directory"]
        assert cred["password_unknown_in"] == [directory]
        listed = admin.get(
            f"{V1}/clients/{kept.client}/credentials", params={"password_unknown": True}
        ).json()
        assert [c["id"] for c in listed["items"]] == [kept.cred["id"]]
        assert admin.get(f"{V1}/flags", params={"client": kept.client}).json()["items"] == []
        again = run(admin, directory)
        assert [(i["status"], i["action"]) for i in again["items"]] == [
            ("password_unknown", "none")
        ]
    assert admin.get(f"{V1}/credentials/{pushed_a.cred['id']}").json()["password_unknown_in"] == []

    new = admin.put(
        f"{V1}/credentials/{kept_c.cred['id']}/password", json={"password": "Portal-Passw0rd-2!"}
    )
    assert new.status_code == 200, new.text
    assert new.json()["password_unknown_in"] == []
    listed = admin.get(
        f"{V1}/clients/{kept_c.client}/credentials", params={"password_unknown": True}
    ).json()
    assert listed["items"] == []


def test_a_flag_names_who_changed_it_when_the_app_may_read_the_audit_log(
    api: ApiWorld, graph_sim: Any
) -> None:
    """The Entra connector's attribution reaches the API's flag as it is (no work here);
    the CLI's ``flags --json`` prints the same record."""
    admin = api.admin
    client, directory, tenant = add_entra(api, graph_sim)
    app = tenant.default_app
    tenant.apps[app.client_id] = replace(app, permissions=(*app.permissions, "AuditLog.Read.All"))
    user = tenant.create_user(password="First-Passw0rd-1!")
    add_cred(admin, client, "First-Passw0rd-1!", username=user.upn)
    run(admin, directory)
    graph_sim.advance_clock(2)
    tenant.admin_reset(user.id, "Portal-Passw0rd-2!", by=f"helpdesk@{tenant.domain}")
    second = run(admin, directory)
    assert second["message"] == ""
    [flag] = admin.get(f"{V1}/flags", params={"client": client}).json()["items"]
    assert flag["status"] == "changed_in_directory"
    assert f"reset by helpdesk@{tenant.domain} in the portal" in flag["detail"]
