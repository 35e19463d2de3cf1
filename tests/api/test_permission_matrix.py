"""Every route of the API for every built-in role: a role that lacks the route's permissions
gets 403 in the error shape, a role that has them never does (nor a 401 or a 5xx). Then every
route for every role limited to some clients (per-client access), in scope and out of it: out
of scope, a route under the client, its credential, folder, directory, run or flag answers 404
(a role that lacks the permission still gets 403 first, which reveals nothing), and no answer
shows any of them; in scope, the answer is the normal one.

The table below names each route's permissions (the import of people reads the matrix's
Entra directory on the Graph simulator, so it is here too); a route of the OpenAPI document
missing from it fails the test, so a new route can't go unchecked. Destructive routes come
last, and each route is tried by the roles that lack its permissions before those that have them."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from credsync.types import Secret
from credsync.vault.auth import BUILTIN_ROLES, Permission
from credsync.vault.generator import PasswordPolicy
from credsync.vault.remote_agents import RemoteAgents

from .conftest import ROLES, ApiWorld

R, W, REVEAL, SETUP, DADMIN, AUDIT, ADMIN = (
    Permission.VAULT_READ,
    Permission.VAULT_WRITE,
    Permission.SECRET_REVEAL,
    Permission.DIRECTORY_SETUP,
    Permission.DIRECTORY_ADMIN_USE,
    Permission.AUDIT_READ,
    Permission.ADMIN,
)
EXPORT = Permission.VAULT_EXPORT
ANYONE: tuple[Permission, ...] = ()  # signed in is enough


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # with {client}, {cred}, {directory}, {run}, {flag}, {operator}, {role}, {token},
    # {policy}, {folder}, {forwarder}, {relay}
    needs: tuple[Permission, ...]
    body: Any = None
    params: Any = None
    content: str | None = None  # a CSV body (text/csv) instead of JSON


ROUTES = [
    Route("GET", "/auth/whoami", ANYONE),
    Route("GET", "/clients", (R,)),
    Route("POST", "/clients", (W,), {"name": "New client {n}"}),
    Route("GET", "/clients/{client}", (R,)),
    Route("PATCH", "/clients/{client}", (W,), {"archived": False}),
    # The default sync mode needs directory.setup: two-way (confirmed), then back to report.
    Route(
        "PATCH",
        "/clients/{client}",
        (W, SETUP),
        {"default_sync_mode": "two_way"},
        params={"confirm": True},
    ),
    Route("PATCH", "/clients/{client}", (W, SETUP), {"default_sync_mode": "report"}),
    Route("GET", "/clients/{client}/credentials", (R,)),
    Route(
        "POST",
        "/clients/{client}/credentials",
        (W,),
        {"title": "New {n}", "username": "u{n}", "password": "Pa55-word-{n}!"},
    ),
    Route("GET", "/clients/{client}/folders", (R,)),
    Route("POST", "/clients/{client}/folders", (W,), {"path": "Folder {n}"}),
    Route(
        "POST",
        "/clients/{client}/import",
        (W,),
        content="title,username,password\r\nImported {n},u{n},Pa55-word-{n}!\r\n",
    ),
    Route("POST", "/clients/{client}/export", (R, REVEAL, EXPORT)),
    Route("GET", "/credentials", (R,), params={"q": "domain"}),
    Route("GET", "/credentials/{cred}", (R,)),
    Route("PATCH", "/credentials/{cred}", (W,), {"url": "https://dc{n}.contoso.test"}),
    Route("POST", "/credentials/{cred}/reveal", (R, REVEAL)),
    Route("PUT", "/credentials/{cred}/password", (W,), {"generate": True}),
    Route("GET", "/credentials/{cred}/history", (R,)),
    Route("POST", "/credentials/{cred}/history/reveal", (R, REVEAL)),
    Route("PUT", "/credentials/{cred}/sync-mode", (W,), {"sync_mode": "report"}),
    # A mode that pushes (enforce, two-way) needs directory.setup too; then back to report.
    Route(
        "PUT",
        "/credentials/{cred}/sync-mode",
        (W, SETUP),
        {"sync_mode": "two_way", "confirm": True},
    ),
    Route("PUT", "/credentials/{cred}/sync-mode", (W,), {"sync_mode": "report"}),
    Route("POST", "/credentials/{cred}/restore", (W,)),
    Route("GET", "/audit", (AUDIT,)),
    Route("GET", "/audit/verify", (AUDIT,)),
    Route("GET", "/directories", (R,)),
    Route(
        "POST",
        "/directories",
        (SETUP, DADMIN),
        {
            "client": "Contoso",
            "name": "dc-{n}",
            "kind": "active_directory",
            "url": "ldaps://127.0.0.1:1",
            "base_dn": "DC=contoso,DC=test",
            "bind_credential": "{bind}",
        },
    ),
    Route("GET", "/directories/{directory}", (R,)),
    Route("PATCH", "/directories/{directory}", (SETUP, DADMIN), {"options": {"interval": 90}}),
    Route("POST", "/directories/{directory}/test", (DADMIN,)),
    Route("GET", "/directories/{directory}/auto-create", (R,)),
    Route("PATCH", "/directories/{directory}/auto-create", (R, SETUP), {"max_per_run": 10}),
    Route("POST", "/directories/{directory}/auto-create/dry-run", (R, SETUP, DADMIN)),
    Route("GET", "/directories/{directory}/provisioning", (R,)),
    Route("PATCH", "/directories/{directory}/provisioning", (R, SETUP), {"usage_location": "SE"}),
    Route("GET", "/relays", (R,)),
    Route(
        "POST",
        "/relays",
        (R, SETUP),
        {"client": "Contoso", "name": "relay-{n}", "source": "contoso-ad", "target": "contoso-365"},
    ),
    Route("GET", "/relays/{relay}", (R,)),
    Route("PATCH", "/relays/{relay}", (R, SETUP), {"never_expires": True}),
    Route("POST", "/directories/{directory}/plan", (R, DADMIN)),
    Route("POST", "/directories/{directory}/runs", (R, W, DADMIN), params={"wait": True}),
    Route("GET", "/runs", (R,)),
    Route("GET", "/runs/{run}", (R,)),
    Route("GET", "/runs/{run}/items", (R,)),
    Route("GET", "/flags", (R,)),
    Route("GET", "/flags/{flag}", (R,)),
    Route("POST", "/flags/{flag}/resolve", (R, W, DADMIN), {"action": "push"}),
    Route("POST", "/flags/resolve", (R, W, DADMIN), {"action": "push", "flags": ["00000000"]}),
    Route("POST", "/flags/confirm", (R, W, SETUP), {"client": "Contoso"}),
    Route("POST", "/flags/accept", (R, W), {"flags": ["00000000"]}),
    Route("GET", "/directories/{directory}/capture/key", (SETUP,)),
    Route("POST", "/directories/{directory}/capture/forwarders", (SETUP,), {"name": "dc-{n}"}),
    Route("GET", "/directories/{directory}/capture/forwarders", (SETUP,)),
    Route("GET", "/capture/forwarders", (SETUP,)),
    Route(
        "POST",
        "/remote-agents",
        (SETUP, DADMIN),
        {"name": "site-{n}", "directories": ["contoso-365"]},
    ),
    Route("GET", "/remote-agents", (SETUP,)),
    Route("POST", "/remote-agents/{remote_agent}/rotate", (SETUP, DADMIN)),
    Route("GET", "/operators", (ADMIN,)),
    Route(
        "POST",
        "/operators",
        (ADMIN,),
        {"name": "new-op-{n}", "role": "viewer", "password": "new-op-password-{n}"},
    ),
    Route("GET", "/operators/{operator}", (ADMIN,)),
    Route("PATCH", "/operators/{operator}", (ADMIN,), {"role": "viewer"}),
    Route("PUT", "/operators/{operator}/password", (ADMIN,), {"password": "target-pass-{n}-x"}),
    Route("PUT", "/operators/{operator}/clients", (ADMIN,), {"all_clients": True}),
    Route("GET", "/roles", (R,)),
    Route("POST", "/roles", (ADMIN,), {"name": "role-{n}", "permissions": ["vault.read"]}),
    Route("PATCH", "/roles/{role}", (ADMIN,), {"permissions": ["vault.read", "audit.read"]}),
    Route("GET", "/tokens", ANYONE),
    Route("POST", "/tokens", ANYONE, {"name": "mine-{n}"}),
    Route("GET", "/account/mfa", ANYONE),
    Route("POST", "/account/mfa/disable", ANYONE, {"password": "x", "code": "1"}),  # 409: none
    Route("POST", "/account/mfa/enroll", ANYONE),
    Route("POST", "/account/mfa/confirm", ANYONE, {"code": "abcdef"}),  # 400: not its code
    Route("GET", "/operators/{operator}/mfa", (ADMIN,)),
    Route("GET", "/mail", (ADMIN,)),  # 404 before it is set up
    Route(
        "PUT",
        "/mail",
        (ADMIN,),
        {
            "host": "127.0.0.1",
            "port": 1,
            "security": "none",
            "from_address": "vault@msp.test",
            "public_url": "https://vault.msp.test",
        },
    ),
    Route("POST", "/mail/test", (ADMIN,), {"address": "not an address"}),  # 400
    Route("POST", "/people/{person}/invite", (W,)),  # 400: not awaiting onboarding
    Route("PUT", "/clients/{client}/people-policy", (W,), {"policy": "custom-policy"}),
    Route("GET", "/sign-in/microsoft", (ADMIN,)),
    Route(
        "PUT",
        "/sign-in/microsoft",
        (ADMIN,),
        {
            "tenant_id": "11111111-2222-3333-4444-555555555555",
            "client_id": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
            "client_secret": "matrix-secret-{n}",
            "redirect_uri": "https://vault.example.test/sign-in/microsoft/callback",
        },
    ),
    Route("GET", "/sign-in/microsoft/links", (ADMIN,)),
    Route("GET", "/sign-in/microsoft/groups", (ADMIN,)),
    Route(
        "PUT",
        "/operators/{operator}/microsoft",
        (ADMIN,),
        {"object_id": "99999999-8888-7777-6666-555555555555"},
    ),
    Route("POST", "/operators/{operator}/mfa/reset", (ADMIN,)),
    Route("GET", "/mfa/requirement", (R,)),
    Route("PUT", "/mfa/requirement", (ADMIN,), {"required": False, "role": "viewer"}),
    Route("GET", "/policies", (R,)),
    Route("POST", "/policies", (ADMIN,), {"name": "policy-{n}", "length": 24}),
    Route("POST", "/policies/{policy}/generate", (R,), {"count": 2}),
    Route("GET", "/clients/{client}/people", (R,)),
    Route("POST", "/clients/{client}/people", (W,), {"username": "person-{n}"}),
    Route("GET", "/people", (R,), params={"q": "matrix"}),
    Route("GET", "/people/{person}", (R,)),
    Route("PATCH", "/people/{person}", (W,), {"department": "Dept {n}"}),
    Route("POST", "/people/{person}/restore", (W,)),  # 400: not in the trash
    Route("GET", "/people/{person}/mfa", (R,)),
    Route("POST", "/people/{person}/mfa/reset", (R, W)),
    Route("GET", "/clients/{client}/groups", (R,)),
    Route("POST", "/clients/{client}/groups", (W,), {"name": "Group {n}"}),
    Route("GET", "/groups", (R,), params={"q": "matrix"}),
    Route("GET", "/groups/{group}", (R,)),
    Route("PATCH", "/groups/{group}", (W,), {"description": "About {n}"}),
    Route("POST", "/groups/{group}/restore", (W,)),  # 400: not in the trash
    Route("GET", "/groups/{group}/members", (R,)),
    Route("POST", "/groups/{group}/members", (W,), {"type": "person", "member": "matrix.person"}),
    Route("DELETE", "/groups/{group}/members/{kind}/{person}", (W,)),  # then 404: not one
    # The import reads the Entra directory (the simulator's tenant): its user becomes a person
    Route(
        "POST",
        "/people/import/search",
        (R, W, SETUP),
        {"client": "Contoso", "directory": "contoso-365", "query": "", "groups": True},
    ),
    Route(
        "POST",
        "/people/import/sync",
        (R, W, SETUP),
        {"client": "Contoso", "directory": "contoso-365", "query": "", "dry_run": True},
    ),
    Route(
        "POST",
        "/people/import/sync",
        (R, W, SETUP),
        {"client": "Contoso", "directory": "contoso-365", "ids": ["{user}"]},
    ),
    # The check of deleted objects reads the same directory (its user is live: skipped)
    Route(
        "POST",
        "/people/deleted/check",
        (R, SETUP),
        {"client": "Contoso", "directory": "contoso-365"},
    ),
    Route(
        "POST",
        "/people/deleted/apply",
        (R, W, SETUP),
        {
            "client": "Contoso",
            "directory": "contoso-365",
            "choices": [{"object_id": "{user}", "action": "keep"}],
        },
    ),
    # Quarantine: the matrix's held link (a disabled user on the simulator), restored in a
    # dry run, then accepted by the first role that may
    Route("GET", "/quarantine", (R,)),
    Route("GET", "/quarantine/defaults", (R,)),
    Route("PUT", "/quarantine/defaults", (ADMIN,), {"inbound_cap": 100}),
    # The retention's prune (nothing is old enough in this world: it deletes nothing).
    Route("POST", "/runs/prune", (ADMIN,)),
    Route("POST", "/runs/prune", (ADMIN,), params={"dry_run": True}),
    Route("GET", "/quarantine/{quarantine}", (R,)),
    Route("POST", "/quarantine/approve", (R, W, DADMIN), {"directory": "{directory}"}),
    Route("POST", "/quarantine/discard", (R, W, DADMIN), {"directory": "{directory}"}),
    Route(
        "POST",
        "/quarantine/restore",
        (R, W, DADMIN, SETUP),
        {"directory": "{directory}", "dry_run": True},
    ),
    Route("POST", "/quarantine/accept", (R, W, DADMIN), {"ids": ["{quarantine}"]}),
    # Saved import selections (the one saved first, then run, then removed last)
    Route(
        "POST",
        "/clients/{client}/people/import/selections",
        (R, W, SETUP),
        {"directory": "contoso-365", "name": "matrix-selection", "query": "", "interval": 3600},
    ),
    Route("GET", "/clients/{client}/people/import/selections", (R, W, SETUP)),
    Route("GET", "/clients/{client}/people/import/selections/{selection}", (R, W, SETUP)),
    Route("GET", "/clients/{client}/people/import/selections/{selection}/runs", (R, W, SETUP)),
    Route("POST", "/clients/{client}/people/import/selections/{selection}/run", (R, W, SETUP)),
    Route(
        "POST",
        "/people/import/sync",
        (R, W, SETUP),
        {
            "client": "Contoso",
            "directory": "contoso-365",
            "ids": ["{user}"],
            "provisioning": {"into_group": "Matrix staff", "invite": True},
        },
    ),
    Route(
        "GET",
        "/groups/export/settings",
        (R, SETUP),
        params={"client": "Contoso", "directory": "contoso-365"},
    ),
    Route(
        "PATCH",
        "/groups/export/settings",
        (R, W, SETUP),
        {"client": "Contoso", "directory": "contoso-365", "matching": "name"},
    ),
    Route(
        "POST", "/groups/export/plan", (R, SETUP), {"client": "Contoso", "directory": "contoso-365"}
    ),
    Route(
        "POST",
        "/groups/export/apply",
        (R, W, SETUP),
        {"client": "Contoso", "directory": "contoso-365", "groups": ["{group}"]},
    ),
    # Provisioning people to the Entra directory: a plan and an apply (400 there: no
    # principal name suffix is set; the roles that lack a permission get 403 first)
    Route(
        "POST",
        "/people/provision/plan",
        (R, SETUP),
        {"client": "Contoso", "directory": "contoso-365"},
    ),
    Route(
        "POST",
        "/people/provision/apply",
        (R, W, SETUP),
        {"client": "Contoso", "directory": "contoso-365"},
    ),
    # A domain's federation to the vault (the matrix's app may not federate: enable is
    # refused with 400 after the permission check; no domain is federated: disable is 404)
    Route("GET", "/federation", (R,), params={"client": "Contoso"}),
    Route(
        "POST",
        "/federation/enable",
        (R, W, SETUP),
        {"client": "Contoso", "domain": "fed.matrix.test", "url": "https://vault.example"},
    ),
    Route("POST", "/federation/rotate", (R, W, SETUP), {"client": "Contoso", "step": "begin"}),
    Route("POST", "/federation/disable", (R, W, SETUP), {"client": "Contoso", "domain": "x.test"}),
    # Destructive, last.
    Route("DELETE", "/clients/{client}/people/import/selections/{selection}", (R, W, SETUP)),
    Route("DELETE", "/people/{person}", (W,)),
    Route("POST", "/people/{person}/purge", (ADMIN,)),  # in the trash now
    Route("DELETE", "/groups/{group}", (W,)),
    Route("POST", "/groups/{group}/purge", (ADMIN,)),  # in the trash now
    Route("DELETE", "/credentials/{cred}", (W,)),
    Route("POST", "/credentials/{cred}/purge", (ADMIN,)),  # in the trash now
    Route("DELETE", "/clients/{client}/folders/{folder}", (W,)),
    Route("DELETE", "/tokens/{token}", (ADMIN,)),  # another operator's token
    Route("POST", "/tokens/revoke-all", (ADMIN,), {"operator": "target-op"}),  # another's
    Route("DELETE", "/operators/{operator}/microsoft", (ADMIN,)),
    Route("DELETE", "/sign-in/microsoft/groups/{group_id}", (ADMIN,)),
    Route("DELETE", "/roles/{role}", (ADMIN,)),
    Route("DELETE", "/policies/{policy}", (ADMIN,)),
    Route("POST", "/capture/forwarders/{forwarder}/revoke", (SETUP,)),
    Route("POST", "/remote-agents/{remote_agent}/revoke", (SETUP,)),
    Route("DELETE", "/relays/{relay}", (R, SETUP)),
    Route("DELETE", "/directories/{directory}", (SETUP,)),
]
NOT_IN_MATRIX = {
    ("POST", "/auth/login"),  # test_auth.py
    ("POST", "/auth/logout"),
    ("GET", "/auth/microsoft"),  # open to anyone: tests/api/test_sign_in_microsoft.py
    ("POST", "/auth/microsoft/token"),  # an id token's: tests/cli/test_login_microsoft.py
    # The import of operators reads the MSP's tenant, which this world has not connected
    # (tests/api/test_sign_in_microsoft.py: who may, on the Graph simulator)
    ("POST", "/sign-in/microsoft/import/search"),
    ("POST", "/sign-in/microsoft/import"),
    ("PUT", "/sign-in/microsoft/groups/{group_id}"),
    # A forwarder's own routes: its signature is their authentication, no operator's token
    # (tests/intake/test_intake_security.py)
    ("GET", "/agents/{forwarder_id}/capture-key"),
    ("POST", "/agents/{forwarder_id}/captures"),
    # A remote agent's own routes: its enrolment token or its signature is their
    # authentication, no operator's token (tests/api/test_remote_agents_api.py)
    ("POST", "/remote-agents/register"),
    ("POST", "/remote-agents/{agent_id}/poll"),
    ("POST", "/remote-agents/{agent_id}/results"),
    # A remote agent's capture routes: its signature, for its own directories
    # (tests/intake/test_agent_capture.py)
    ("GET", "/remote-agents/{agent_id}/directories/{directory}/capture-key"),
    ("POST", "/remote-agents/{agent_id}/directories/{directory}/captures"),
    # A relay's plan and runs read its Active Directory, which this world has not
    # (tests/relay/test_relay_access.py: who may plan, run and apply, on the real DC)
    ("POST", "/relays/{ref}/plan"),
    ("POST", "/relays/{ref}/runs"),
}


def allowed(role: str, needs: tuple[Permission, ...]) -> bool:
    granted = set(BUILTIN_ROLES[role][1])
    return Permission.ADMIN in granted or set(needs) <= granted


@pytest.fixture
def matrix(api: ApiWorld, graph_sim: Any) -> tuple[ApiWorld, dict[str, str]]:
    """The objects the routes act on: a client with a credential, an Entra directory on the
    simulator with a run and an open flag, another operator with a token, a custom role."""
    from sync.entra import add_entra_directory
    from sync.helpers import add_directory

    world = api.world
    vault, admin, keys = world.vault, world.admin, world.keys
    vault.clients.add(admin, keys, "Contoso", directory_sync=True)
    tenant = graph_sim.add_tenant(users=0, groups=0)
    user = tenant.create_user(password="Cloud-Pa55-1!")
    directory, bind = add_entra_directory(world, "Contoso", graph_sim, tenant, name="contoso-365")
    http = api.admin
    cred = http.post(
        "/api/v1/clients/Contoso/credentials",
        json={"title": "Domain admin", "username": user.upn, "password": "Cloud-Pa55-1!"},
    ).json()
    run = http.post(f"/api/v1/directories/{directory}/runs", params={"wait": True}).json()
    graph_sim.advance_clock(120)
    tenant.set_password(user.upn, "Portal-Pa55-2!")
    http.post(f"/api/v1/directories/{directory}/runs", params={"wait": True})
    flags = http.get("/api/v1/flags").json()
    flag = flags["items"][0] if isinstance(flags, dict) else flags[0]
    target = world.operator("target-op", "viewer")
    token, _ = vault.access.create_token(target, "target-token")
    vault.operators.add_role(admin, "custom-role", [Permission.VAULT_READ.value], "for the test")
    vault.policies.add(admin, "custom-policy", PasswordPolicy(length=24))
    # An AD directory (never reached here) for a relay to the Entra one.
    add_directory(vault, admin, "Contoso", "contoso-ad", kind="active-directory",
                  url="ldaps://127.0.0.1:1", base_dn="DC=matrix,DC=test",
                  bind_credential=bind)  # fmt: skip
    relay = vault.relays.add(
        admin, "Contoso", "contoso-relay", source="contoso-ad", target=directory
    )
    ids = {
        "group_id": "11111111-2222-3333-4444-555555555555",  # mapped by no one: 404 for admins
        "client": "Contoso",
        "folder": vault.clients.add_folder(admin, "Contoso", "Servers/DCs").path,
        "cred": cred["id"],
        "directory": directory,
        "run": run["id"],
        "flag": flag["id"],
        "operator": "target-op",
        "role": "custom-role",
        "policy": "custom-policy",
        "token": token.id,
        "bind": bind,
        "forwarder": vault.capture.enroll(admin, directory, "matrix").forwarder_id,
        "remote_agent": RemoteAgents(vault).enroll(admin, "matrix-agent", [directory]).agent.id,
        "relay": relay.id,
        "person": vault.people.add(admin, "Contoso", {"username": "matrix.person"}).id,
        "group": vault.groups.add(admin, "Contoso", {"name": "Matrix group"}).id,
        "kind": "person",
        "user": user.id,
        "user_upn": user.upn,
        "selection": "matrix-selection",
    }
    ids["quarantine"] = _held(world, directory, user.id, user.upn)
    return api, ids


def _held(world: Any, directory: str, account_id: str, name: str) -> str:
    """A link held in quarantine, as a run that found a mass disable leaves it."""
    import datetime as dt
    import uuid

    from credsync.storage import quarantine as held_rows

    found = world.vault.directories.get(world.admin, directory)
    row = held_rows.QuarantineRow(
        str(uuid.uuid4()), found.client_id, found.id, str(uuid.uuid4()), "inbound", None,
        account_id, name, "disabled", "disabled", "quarantined by the inbound threshold",
        held_rows.HELD, dt.datetime.now(dt.UTC),
    )  # fmt: skip
    with world.vault.db.write() as conn:
        held_rows.insert(conn, [row])
    return row.id


@pytest.fixture
def graph_sim() -> Iterator[Any]:
    from credsync.testing.graphsim import GraphSimulator

    with GraphSimulator(port=0, seed=3) as sim:
        yield sim


def test_the_table_covers_every_route(api: ApiWorld) -> None:
    documented = {
        (method.upper(), path.removeprefix("/api/v1"))
        for path, operations in api.http.app.openapi()["paths"].items()  # type: ignore[attr-defined]
        for method in operations
    }
    table = {(r.method, r.path) for r in ROUTES}
    routes = {(m, _template(p)) for m, p in documented - NOT_IN_MATRIX}
    covered = {(m, _template(p)) for m, p in table}
    assert routes - covered == set(), "routes missing from the table"
    assert covered - routes == set(), "table rows for routes that don't exist"


def _template(path: str) -> str:
    """Path parameters named alike, so that the table's names need not be the code's."""
    import re

    return re.sub(r"\{[^}]+\}", "{}", path)


def test_every_route_for_every_role(
    matrix: tuple[ApiWorld, dict[str, str]], tmp_path: Path, kept_clients: _MakeClients
) -> None:
    api, ids = matrix
    problems: list[str] = []
    n = 0
    outcomes = {"denied": 0, "succeeded": 0}
    clients = kept_clients(lambda role: api.tokens[role], api.http.app)
    for route in ROUTES:
        # Roles without the permission first: a destructive route is still there for them.
        for role in sorted(ROLES, key=lambda r: allowed(r, route.needs)):
            n += 1
            path = "/api/v1" + route.path.format(**ids)
            body = _fill(route.body, n, ids)
            content = _fill(route.content, n, ids)
            headers = {"Content-Type": "text/csv"} if content is not None else None
            response = clients.get(role).request(
                route.method, path, json=body, params=route.params, content=content, headers=headers
            )
            status = response.status_code
            expect_denied = not allowed(role, route.needs)
            where = f"{route.method} {route.path} as {role}: {status} {response.text[:200]}"
            kind = "denied" if status == 403 else "succeeded" if status < 300 else "other"
            outcomes[kind] = outcomes.get(kind, 0) + 1
            if expect_denied:
                if status != 403 or response.json()["error"]["code"] != "forbidden":
                    problems.append(f"expected 403: {where}")
            elif status in (401, 403) or status >= 500:
                problems.append(f"expected to be allowed: {where}")
    assert not problems, "\n".join(problems)
    # The matrix was really exercised: refusals and successes both, in numbers.
    assert n == len(ROUTES) * len(ROLES)
    assert outcomes["denied"] > 60, outcomes
    assert outcomes["succeeded"] > 100, outcomes
    # the import's sync really imported the tenant's user (its 200 alone would not say so)
    world = api.world
    assert world.vault.people.get(world.admin, ids["user_upn"], client_ref="Contoso")


class _Clients:
    """One in-process client per caller, made on first use and kept for the test: a client's
    event loop and thread stay up between its requests rather than one of each per request.
    Its cookies are cleared before each use, so every request stands alone as before."""

    def __init__(self, token_of: Callable[[Any], str], app: Any) -> None:
        self._token_of = token_of
        self._app = app
        self._made: dict[Any, TestClient] = {}

    def get(self, key: Any) -> TestClient:
        client = self._made.get(key)
        if client is None:
            client = TestClient(self._app, raise_server_exceptions=False)
            client.headers["Authorization"] = f"Bearer {self._token_of(key)}"
            client.__enter__()
            self._made[key] = client
        client.cookies.clear()
        return client

    def close(self) -> None:
        for client in self._made.values():
            client.__exit__(None, None, None)


_MakeClients = Callable[[Callable[[Any], str], Any], _Clients]


@pytest.fixture
def kept_clients() -> Iterator[_MakeClients]:
    """Makes :class:`_Clients` (token of a key, app), closed when the test ends."""
    made: list[_Clients] = []

    def make(token_of: Callable[[Any], str], app: Any) -> _Clients:
        made.append(_Clients(token_of, app))
        return made[-1]

    yield make
    for clients in made:
        clients.close()


def _fill(body: Any, n: int, ids: dict[str, str]) -> Any:
    if isinstance(body, dict):
        return {k: _fill(v, n, ids) for k, v in body.items()}
    if isinstance(body, list):
        return [_fill(v, n, ids) for v in body]
    if isinstance(body, str):
        return (
            body.replace("{n}", str(n))
            .replace("{bind}", ids["bind"])
            .replace("{user}", ids["user"])
            .replace("{directory}", ids["directory"])
            .replace("{quarantine}", ids["quarantine"])
        )
    return body


# -- per-client access -------------------------------------------------------------------------
SCOPED_ROLES = tuple(r for r in ROLES if r != "admin")  # an admin reaches every client
UNDER_A_CLIENT = (
    "{client}",
    "{cred}",
    "{folder}",
    "{directory}",
    "{run}",
    "{flag}",
    "{forwarder}",
    "{relay}",
    "{person}",
    "{group}",
    "{quarantine}",
)
# One limited to some can't add a client, nor prune every client's runs.
ALL_CLIENTS_ONLY = {("POST", "/clients"), ("POST", "/runs/prune")}


def under_the_client(route: Route) -> bool:
    """Whether the route acts on the matrix's client or something of it."""
    return any(p in route.path for p in UNDER_A_CLIENT) or (
        isinstance(route.body, dict)
        and (
            route.body.get("client") == "Contoso"
            or "{directory}" in route.body.values()
            or ["{quarantine}"] in route.body.values()
        )
    )


def test_every_route_for_every_role_in_and_out_of_client_scope(
    matrix: tuple[ApiWorld, dict[str, str]], kept_clients: _MakeClients
) -> None:
    api, ids = matrix
    world = api.world
    vault, admin = world.vault, world.admin
    vault.clients.add(admin, world.keys, "Fabrikam")
    tokens: dict[tuple[str, bool], str] = {}
    for role in SCOPED_ROLES:
        for inside, client in ((True, "Contoso"), (False, "Fabrikam")):
            name = f"{'in' if inside else 'out'}-{role}"
            password = Secret(f"{name}-password-1234")
            vault.operators.add(admin, name, password, role, [client])
            actor = vault.access.login_password(name, password)
            tokens[role, inside] = vault.access.create_token(actor, "scoped")[1].reveal()
    hidden = [
        ids["cred"],
        ids["run"],
        ids["flag"],
        ids["directory"],
        ids["forwarder"],
        ids["relay"],
        ids["person"],
        ids["group"],
        ids["quarantine"],
    ]

    clients = kept_clients(lambda key: tokens[key], api.http.app)
    problems: list[str] = []
    n = 0
    for route in ROUTES:
        # out of scope first: nothing may change then; roles without the permission first
        for inside in (False, True):
            for role in sorted(SCOPED_ROLES, key=lambda r: allowed(r, route.needs)):
                n += 1
                path = "/api/v1" + route.path.format(**ids)
                content = _fill(route.content, n, ids)
                response = clients.get((role, inside)).request(
                    route.method,
                    path,
                    json=_fill(route.body, n, ids),
                    params=route.params,
                    content=content,
                    headers={"Content-Type": "text/csv"} if content is not None else None,
                )
                status = response.status_code
                scope = "in scope" if inside else "out of scope"
                where = (
                    f"{route.method} {route.path} as {role} {scope}: {status} {response.text[:200]}"
                )
                hides = not inside and under_the_client(route)
                if not allowed(role, route.needs) or (route.method, route.path) in ALL_CLIENTS_ONLY:
                    # refused for the role whatever the client: 403; or 404 as for no client
                    if status != 403 and not (hides and status == 404):
                        problems.append(f"expected 403: {where}")
                elif hides:
                    if status != 404 or response.json()["error"]["code"] != "not_found":
                        problems.append(f"expected 404: {where}")
                elif status in (401, 403) or status >= 500:
                    problems.append(f"expected the normal answer: {where}")
                # an answer (not an error repeating what was asked) never shows another
                # client's records
                shown = response.text if status < 400 else ""
                if route.path == "/audit" and status == 200:
                    # less the reader's own entries of no client (their refusals repeat
                    # what they asked for), which name nothing
                    name = f"{'in' if inside else 'out'}-{role}"
                    items = response.json()["items"]
                    own = [i for i in items if i["actor"] == name and i["client_id"] is None]
                    if any(i["target_name"] for i in own if i["target_type"] != "operator"):
                        problems.append(f"names another client's record: {where}")
                    shown = json.dumps([i for i in items if i not in own])
                if not inside and any(h in shown for h in hidden):
                    problems.append(f"shows something of another client: {where}")
                if not inside and "Contoso" in shown:
                    problems.append(f"names another client: {where}")
    assert not problems, "\n".join(problems)
    assert n == len(ROUTES) * len(SCOPED_ROLES) * 2
