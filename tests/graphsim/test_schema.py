"""Every property the simulator returns or accepts exists on Graph's v1.0 type (the CSDL), with
a compatible type: real responses of every route are walked, nested complex values included."""

from __future__ import annotations

import re
from typing import Any

import pytest

from credsync.testing.graphsim._model import (
    GROUP_PROPERTIES,
    GROUP_READ_ONLY,
    USER_PROPERTIES,
    USER_READ_ONLY,
)
from credsync.testing.graphsim._users import PROFILE_KEYS

from .conftest import Graph
from .reference import Schema, schema

GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
STAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")
_OURS = {
    "Edm.String": "Edm.String",
    "Edm.Boolean": "Edm.Boolean",
    "Edm.DateTimeOffset": "Edm.DateTimeOffset",
    "strings": "Collection(Edm.String)",
    "passwordProfile": "microsoft.graph.passwordProfile",
    "Collection(microsoft.graph.assignedLicense)": "Collection(microsoft.graph.assignedLicense)",
}


def check(s: Schema, value: Any, type_name: str, where: str) -> int:
    """Assert ``value`` fits ``type_name``; the number of properties checked."""
    if value is None:
        return 0
    found = re.fullmatch(r"Collection\((.+)\)", type_name)
    if found:
        assert isinstance(value, list), f"{where}: a collection, got {value!r}"
        return sum(check(s, item, found.group(1), f"{where}[{i}]") for i, item in enumerate(value))
    if type_name == "Edm.String":
        assert isinstance(value, str), f"{where}: a string, got {value!r}"
    elif type_name == "Edm.Boolean":
        assert isinstance(value, bool), f"{where}: a boolean, got {value!r}"
    elif type_name == "Edm.Int32":
        assert isinstance(value, int), f"{where}: {value!r}"
        assert not isinstance(value, bool), f"{where}: {value!r}"
        assert -(2**31) <= value < 2**31
    elif type_name == "Edm.DateTimeOffset":
        assert isinstance(value, str), f"{where}: {value!r}"
        assert STAMP.fullmatch(value), f"{where}: {value!r}"
    elif type_name == "Edm.Guid":
        assert isinstance(value, str), f"{where}: {value!r}"
        assert GUID.fullmatch(value), f"{where}: {value!r}"
    elif type_name.startswith("Edm."):
        pytest.fail(f"{where}: no check for {type_name}")
    elif s.kinds[s.name(type_name)] == "EnumType":
        assert value in s.enum_members(type_name), f"{where}: {value!r} not in {type_name}"
    else:
        assert isinstance(value, dict), f"{where}: an object of {type_name}, got {value!r}"
        if "@odata.type" in value:
            type_name = s.name(value["@odata.type"].lstrip("#"))
        props = s.properties(type_name)
        count = 0
        for key, item in value.items():
            if key.startswith("@"):
                continue
            name = key.split("@")[0]  # members@delta -> the navigation property members
            assert name in props, f"{where}: {type_name} has no property {name!r}"
            if "@" in key:
                assert props[name].startswith("nav:"), f"{where}.{key}"
                count += check(s, item, props[name][4:], f"{where}.{key}")
            else:
                assert not props[name].startswith("nav:"), f"{where}.{name} is a navigation"
                count += 1 + check(s, item, props[name], f"{where}.{name}")
        return count
    return 0


def _entities(s: Schema, body: dict[str, Any], type_name: str, where: str) -> int:
    items = body.get("value", [body])
    assert items, f"{where}: nothing to check"
    return sum(check(s, item, type_name, f"{where}[{i}]") for i, item in enumerate(items))


def test_kept_properties_have_graphs_types() -> None:
    s = schema()
    for type_name, table in (
        ("microsoft.graph.user", USER_PROPERTIES),
        ("microsoft.graph.group", GROUP_PROPERTIES),
    ):
        props = s.properties(type_name)
        for name, kind in table.items():
            assert props.get(name) == _OURS[kind], f"{type_name}.{name}: {props.get(name)}"


def test_accepted_bodies_are_graphs() -> None:
    s = schema()
    user = s.properties("microsoft.graph.user")
    assert set(USER_PROPERTIES) - USER_READ_ONLY <= set(user)
    assert set(s.properties("microsoft.graph.passwordProfile")) >= PROFILE_KEYS
    group = s.properties("microsoft.graph.group")
    assert set(GROUP_PROPERTIES) - GROUP_READ_ONLY <= set(group)
    assert group["members"].startswith("nav:")  # members@odata.bind, members@delta
    action = s.actions["assignLicense"]
    params = {p.get("Name"): s.type_of(p.get("Type", "")) for p in action.iter() if p.get("Name")}
    assert params["addLicenses"] == "Collection(microsoft.graph.assignedLicense)"
    assert params["removeLicenses"] == "Collection(Edm.Guid)"
    assert {"skuId", "disabledPlans"} <= set(s.properties("microsoft.graph.assignedLicense"))


def test_every_route_answers_with_graphs_properties(graph: Graph, sim) -> None:
    s = schema()
    tenant = sim.add_tenant(
        users=40, groups=4, domain="schema.test", federated_domain="fed.schema.test", seed=4
    )
    g = Graph(
        graph.http,
        sim,
        tenant,
        tenant.add_app(
            permissions=(
                "User.ReadWrite.All",
                "User-PasswordProfile.ReadWrite.All",
                "Group.ReadWrite.All",
                "Directory.Read.All",
                "Domain-InternalFederation.Read.All",
                "LicenseAssignment.Read.All",
                "User.DeleteRestore.All",
            ),
            directory_role="Global Administrator",
        ),
    )
    every_user = ",".join(USER_PROPERTIES)
    every_group = ",".join(GROUP_PROPERTIES)
    checked = 0
    synced = tenant.create_user(on_premises_sync=True, admin_role="User Administrator").id
    licensed = next(i for i in tenant.user_ids() if tenant.get_user(i)["assignedLicenses"])

    def walk(path: str, type_name: str, **kwargs: Any) -> dict[str, Any]:
        nonlocal checked
        answer = g.get(path, **kwargs)
        assert answer.status_code == 200, f"{path}: {answer.text}"
        checked += _entities(s, answer.json(), type_name, path)
        return dict(answer.json())

    walk("/users", "microsoft.graph.user")
    walk(f"/users?$select={every_user}&$top=999", "microsoft.graph.user")
    walk(f"/users/{synced}?$select={every_user}", "microsoft.graph.user")
    walk(f"/users/{licensed}?$select={every_user}", "microsoft.graph.user")
    walk(f"/users/delta?$select={every_user}", "microsoft.graph.user")
    walk("/users/delta", "microsoft.graph.user")
    walk("/groups", "microsoft.graph.group")
    walk(f"/groups?$select={every_group}", "microsoft.graph.group")
    group = tenant.group_ids()[0]
    walk(f"/groups/{group}", "microsoft.graph.group")
    walk(f"/groups/{group}/members?$select={every_user}", "microsoft.graph.directoryObject")
    first = walk("/groups/delta", "microsoft.graph.group")
    walk(f"/groups/delta?$select={every_group},members", "microsoft.graph.group")
    walk(f"/directoryObjects/{licensed}", "microsoft.graph.directoryObject")
    walk("/subscribedSkus", "microsoft.graph.subscribedSku")
    walk("/domains", "microsoft.graph.domain")
    walk(f"/domains/{tenant.domain}", "microsoft.graph.domain")
    config = walk(
        "/domains/fed.schema.test/federationConfiguration",
        "microsoft.graph.internalDomainFederation",
    )
    walk(
        f"/domains/fed.schema.test/federationConfiguration/{config['value'][0]['id']}",
        "microsoft.graph.internalDomainFederation",
    )

    created = g.post(
        "/users",
        {
            "accountEnabled": True,
            "displayName": "Schema Person",
            "mailNickname": "schema.person",
            "usageLocation": "US",
            "userPrincipalName": "schema.person@schema.test",
            "passwordPolicies": "DisablePasswordExpiration",
            "passwordProfile": {
                "password": "Sch3ma!Check",
                "forceChangePasswordNextSignIn": True,
                "forceChangePasswordNextSignInWithMfa": False,
            },
        },
    )
    assert created.status_code == 201
    checked += _entities(s, created.json(), "microsoft.graph.user", "POST /users")
    user = created.json()["id"]
    licence = g.post(
        f"/users/{user}/assignLicense",
        {
            "addLicenses": [
                {
                    "skuId": "6fd2c87f-b296-42f0-b197-1e91e994b900",
                    "disabledPlans": ["efb87545-963c-4e0d-99df-69c6916d9eb0"],
                }
            ],
            "removeLicenses": [],
        },
    )
    assert licence.status_code == 200
    checked += _entities(s, licence.json(), "microsoft.graph.user", "assignLicense")
    walk(f"/users/{user}?$select={every_user}", "microsoft.graph.user")
    made = g.post(
        "/groups",
        {
            "displayName": "Schema",
            "mailEnabled": True,
            "mailNickname": "sch",
            "securityEnabled": False,
            "groupTypes": ["Unified"],
            "description": "d",
            "visibility": "Private",
            "members@odata.bind": [f"https://graph.microsoft.com/v1.0/directoryObjects/{user}"],
        },
    )
    assert made.status_code == 201
    checked += _entities(s, made.json(), "microsoft.graph.group", "POST /groups")
    delta = walk(first["@odata.deltaLink"], "microsoft.graph.group")
    assert any("members@delta" in item for item in delta["value"])
    assert g.delete(f"/groups/{made.json()['id']}").status_code == 204
    assert g.delete(f"/users/{user}").status_code == 204
    walk(
        f"/directory/deletedItems/microsoft.graph.user?$select={every_user}", "microsoft.graph.user"
    )
    walk("/directory/deletedItems/microsoft.graph.group", "microsoft.graph.group")
    walk(f"/directory/deletedItems/{user}", "microsoft.graph.directoryObject")
    restored = g.post(f"/directory/deletedItems/{user}/restore")
    checked += _entities(s, restored.json(), "microsoft.graph.directoryObject", "restore")
    batch = g.post(
        "/$batch",
        {"requests": [{"id": "1", "method": "GET", "url": f"/users/{user}?$select={every_user}"}]},
    )
    checked += _entities(s, batch.json()["responses"][0]["body"], "microsoft.graph.user", "batch")
    assert checked > 2000
