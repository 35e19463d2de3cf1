"""/users: paging, $select, $filter, $count, get by id or UPN, create, PATCH and its password
rules, DELETE."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import pytest

from .conftest import Graph, error_of

EVENTUAL = {"ConsistencyLevel": "eventual"}


def test_paging_top_and_select(graph: Graph, tenant) -> None:
    first = graph.get("/users", params={"$top": 7, "$select": "id,accountEnabled"})
    assert first.status_code == 200
    page = first.json()
    assert page["@odata.context"].endswith("/v1.0/$metadata#users(id,accountEnabled)")
    assert len(page["value"]) == 7
    assert all(set(u) == {"id", "accountEnabled"} for u in page["value"])
    link = page["@odata.nextLink"]
    assert link.startswith(graph.sim.url + "/v1.0/users?")
    query = parse_qs(urlsplit(link).query)
    assert query["$top"] == ["7"]
    assert "$skiptoken" in query
    users, last = graph.all("/users?$top=7&$select=id")
    assert [u["id"] for u in users] == tenant.user_ids()
    assert "@odata.nextLink" not in last


def test_default_properties_and_page_size(graph: Graph, sim) -> None:
    big = sim.add_tenant(users=150, groups=0)
    g = Graph(graph.http, sim, big, big.default_app)
    page = g.get("/users").json()
    assert len(page["value"]) == 100
    assert list(page["value"][0]) == [
        "businessPhones",
        "displayName",
        "givenName",
        "jobTitle",
        "mail",
        "mobilePhone",
        "officeLocation",
        "preferredLanguage",
        "surname",
        "userPrincipalName",
        "id",
    ]


@pytest.mark.parametrize("top", ["0", "1000", "x"])
def test_top_out_of_range(graph: Graph, top: str) -> None:
    answer = graph.get("/users", params={"$top": top})
    assert answer.status_code == 400


def test_unknown_select_and_skip(graph: Graph) -> None:
    answer = graph.get("/users", params={"$select": "id,shoeSize"})
    assert answer.status_code == 400
    assert error_of(answer)["message"] == (
        "Could not find a property named 'shoeSize' on type 'microsoft.graph.user'."
    )
    assert graph.get("/users", params={"$skip": "5"}).status_code == 400


def test_garbled_skiptoken(graph: Graph) -> None:
    answer = graph.get("/users", params={"$skiptoken": "bm9wZQ.abc"})
    assert answer.status_code == 400
    assert error_of(answer)["code"] == "Directory_ExpiredPageToken"


def test_filters(graph: Graph, tenant) -> None:
    alice = tenant.create_user(upn=f"alice.filter@{tenant.domain}", display_name="Alice Filter")
    tenant.create_user(upn=f"bob.filter@{tenant.domain}", display_name="Bob Filter", enabled=False)

    def ids(expr: str, **headers: str) -> set[str]:
        answer = graph.get("/users", params={"$filter": expr, "$select": "id"}, headers=headers)
        assert answer.status_code == 200, answer.text
        return {u["id"] for u in answer.json()["value"]}

    assert ids(f"userPrincipalName eq '{alice.upn.upper()}'") == {alice.id}
    assert ids("startswith(userPrincipalName,'alice.filter')") == {alice.id}
    assert ids("startswith(displayName,'Alice F') or startswith(displayName, 'Bob F')") == {
        alice.id,
        tenant.get_user(f"bob.filter@{tenant.domain}")["id"],
    }
    assert ids(f"id in ('{alice.id}', 'nope')") == {alice.id}
    assert ids("startswith(displayName,'Bob F') and accountEnabled eq false") == {
        tenant.get_user(f"bob.filter@{tenant.domain}")["id"]
    }
    assert ids("userType eq 'Member' and startswith(mail,'alice.filter')") == {alice.id}
    synced = ids("onPremisesSyncEnabled eq true")
    assert all(tenant.get_user(i)["onPremisesSyncEnabled"] for i in synced)
    refused = graph.get("/users", params={"$filter": "endswith(mail,'filter@contoso.test')"})
    assert refused.status_code == 400
    assert error_of(refused)["code"] == "Request_UnsupportedQuery"
    assert ids(f"endswith(userPrincipalName,'filter@{tenant.domain}')", **EVENTUAL) >= {alice.id}
    odd = graph.get("/users", params={"$filter": "shoeSize eq 42"})
    assert error_of(odd)["code"] == "Request_UnsupportedQuery"
    broken = graph.get("/users", params={"$filter": "startswith(displayName"})
    assert broken.status_code == 400


def test_a_date_time_filter_reads_its_literal_as_a_time(graph: Graph, tenant) -> None:
    """A date alone, fractions and offsets compare as times, not as text."""
    made = tenant.create_user()
    created = tenant.get_user(made.id)["createdDateTime"]  # e.g. 2026-12-06T11:49:59Z
    day = created[:10]

    def ids(expr: str) -> set[str]:
        answer = graph.get("/users", params={"$filter": expr, "$select": "id"}, headers=EVENTUAL)
        assert answer.status_code == 200, answer.text
        return {u["id"] for u in answer.json()["value"]}

    assert made.id in ids(f"createdDateTime ge {day}")
    assert made.id in ids(f"createdDateTime ge {created[:-1]}.0+00:00")
    assert made.id not in ids(f"createdDateTime gt {created[:-1]}.5Z")
    bad = graph.get("/users", params={"$filter": "createdDateTime ge 'soon'"})
    assert bad.status_code == 400


def test_count_needs_consistency_level(graph: Graph, tenant) -> None:
    assert graph.get("/users", params={"$count": "true"}).status_code == 400
    page = graph.get("/users", params={"$count": "true", "$top": 5}, headers=EVENTUAL).json()
    assert page["@odata.count"] == tenant.users_count()
    assert len(page["value"]) == 5
    assert graph.get("/users/$count").status_code == 400
    answer = graph.get("/users/$count", headers=EVENTUAL)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    assert int(answer.text) == tenant.users_count()
    filtered = graph.get(
        "/users/$count", params={"$filter": "accountEnabled eq false"}, headers=EVENTUAL
    )
    disabled = sum(1 for i in tenant.user_ids() if not tenant.get_user(i)["accountEnabled"])
    assert int(filtered.text) == disabled


def test_search_needs_consistency_level(graph: Graph, tenant) -> None:
    tenant.create_user(upn=f"zebulon@{tenant.domain}", display_name="Zebulon Quux")
    assert graph.get("/users", params={"$search": '"displayName:zebu"'}).status_code == 400
    found = graph.get("/users", params={"$search": '"displayName:zebu"'}, headers=EVENTUAL)
    assert [u["displayName"] for u in found.json()["value"]] == ["Zebulon Quux"]


def test_get_by_id_and_upn(graph: Graph, tenant) -> None:
    user = tenant.create_user()
    by_id = graph.get(f"/users/{user.id}", params={"$select": "id,userPrincipalName"}).json()
    assert by_id == {
        "@odata.context": f"{graph.sim.url}/v1.0/$metadata#users(id,userPrincipalName)/$entity",
        "id": user.id,
        "userPrincipalName": user.upn,
    }
    assert graph.get(f"/users/{user.upn.upper()}").json()["id"] == user.id
    missing = graph.get("/users/00000000-0000-4000-8000-000000000000")
    assert missing.status_code == 404
    assert error_of(missing)["message"] == (
        "Resource '00000000-0000-4000-8000-000000000000' does not exist or one of its queried "
        "reference-property objects are not present."
    )


def _new_user(tenant, **extra):
    body = {
        "accountEnabled": True,
        "displayName": "New Person",
        "mailNickname": "new.person",
        "userPrincipalName": f"new.person@{tenant.domain}",
        "passwordProfile": {"password": "Welc0me!2026", "forceChangePasswordNextSignIn": True},
    }
    body.update(extra)
    return body


def test_create_user(graph: Graph, tenant) -> None:
    answer = graph.post("/users", _new_user(tenant))
    assert answer.status_code == 201, answer.text
    created = answer.json()
    assert created["userPrincipalName"] == f"new.person@{tenant.domain}"
    assert tenant.check_password(created["id"], "Welc0me!2026")
    stored = tenant.get_user(created["id"])
    assert stored["passwordProfile"] == {
        "password": None,
        "forceChangePasswordNextSignIn": True,
        "forceChangePasswordNextSignInWithMfa": False,
    }
    again = graph.post("/users", _new_user(tenant))
    assert again.status_code == 400
    assert error_of(again)["message"] == (
        "Another object with the same value for property userPrincipalName already exists."
    )
    foreign = graph.post("/users", _new_user(tenant, userPrincipalName="x@elsewhere.test"))
    assert foreign.status_code == 400
    missing = _new_user(tenant, userPrincipalName=f"other@{tenant.domain}")
    del missing["mailNickname"]
    assert graph.post("/users", missing).status_code == 400
    weak = _new_user(
        tenant, userPrincipalName=f"weak@{tenant.domain}", passwordProfile={"password": "password"}
    )
    assert "complexity" in error_of(graph.post("/users", weak))["message"]


def test_patch_password_sets_timestamp_and_hash(graph: Graph, tenant, sim) -> None:
    user = tenant.create_user()
    before = tenant.get_user(user.id)["lastPasswordChangeDateTime"]
    sim.advance_clock(5)
    answer = graph.patch(
        f"/users/{user.id}",
        {
            "passwordProfile": {
                "password": "N3w-Secret!pass",
                "forceChangePasswordNextSignIn": False,
            }
        },
    )
    assert answer.status_code == 204, answer.text
    assert answer.content == b""
    stored = tenant.get_user(user.id)
    stamp = stored["lastPasswordChangeDateTime"]
    assert stamp > before
    assert len(stamp) == 20
    assert stamp.endswith("Z")
    moment = datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert abs((moment - sim.now()).total_seconds()) < 3
    assert tenant.check_password(user.id, "N3w-Secret!pass")
    assert not tenant.check_password(user.id, user.password)
    assert "N3w-Secret!pass" not in repr(stored)
    assert tenant.stats["password_writes"] >= 1


@pytest.mark.parametrize(
    "password", ["short1A!", "alllowercase", "ALLUPPER123", "Ünïcode-Passw0rd", "x" * 257]
)
def test_complexity(graph: Graph, tenant, password: str) -> None:
    user = tenant.create_user()
    answer = graph.patch(f"/users/{user.id}", {"passwordProfile": {"password": password}})
    if password == "short1A!":
        assert answer.status_code == 204  # 8 characters, 4 classes
        return
    assert answer.status_code == 400
    assert error_of(answer)["message"] == (
        "The specified password does not comply with password complexity requirements. Please "
        "provide a different password."
    )
    assert tenant.check_password(user.id, user.password)


def test_disable_strong_password(graph: Graph, tenant) -> None:
    user = tenant.create_user()
    answer = graph.patch(
        f"/users/{user.id}",
        {
            "passwordPolicies": "DisablePasswordExpiration, DisableStrongPassword",
            "passwordProfile": {"password": "alllowercase"},
        },
    )
    assert answer.status_code == 204, answer.text
    assert tenant.check_password(user.id, "alllowercase")
    bad = graph.patch(f"/users/{user.id}", {"passwordPolicies": "NeverExpire"})
    assert bad.status_code == 400


def test_on_premises_synced_user_refuses_writes(graph: Graph, tenant) -> None:
    user = tenant.create_user(on_premises_sync=True)
    answer = graph.patch(f"/users/{user.id}", {"passwordProfile": {"password": "N3w-Secret!pass"}})
    assert answer.status_code == 400
    assert error_of(answer)["message"] == (
        "Unable to update the specified properties for on-premises mastered Directory Sync "
        "objects or objects currently undergoing migration."
    )
    assert graph.patch(f"/users/{user.id}", {"displayName": "X"}).status_code == 400
    assert graph.patch(f"/users/{user.id}", {"usageLocation": "DE"}).status_code == 204


def test_patch_properties(graph: Graph, tenant) -> None:
    user = tenant.create_user()
    answer = graph.patch(
        f"/users/{user.id}",
        {
            "accountEnabled": False,
            "usageLocation": "nl",
            "displayName": "Renamed",
            "jobTitle": "Boss",
        },
    )
    assert answer.status_code == 204
    stored = tenant.get_user(user.id)
    assert (stored["accountEnabled"], stored["usageLocation"], stored["displayName"]) == (
        False,
        "NL",
        "Renamed",
    )
    for body in (
        {"shoeSize": 42},
        {"id": "x"},
        {"accountEnabled": "yes"},
        {"usageLocation": "Netherlands"},
        {"lastPasswordChangeDateTime": "x"},
    ):
        assert graph.patch(f"/users/{user.id}", body).status_code == 400, body
    assert (
        graph.patch(
            f"/users/{user.id}", content=b"{nope", headers={"Content-Type": "application/json"}
        ).status_code
        == 400
    )


def test_delete_is_soft(graph: Graph, tenant) -> None:
    user = tenant.create_user()
    assert graph.delete(f"/users/{user.id}").status_code == 204
    assert graph.get(f"/users/{user.id}").status_code == 404
    assert tenant.get_user(user.id)["deletedDateTime"]


def test_orderby(graph: Graph, tenant) -> None:
    names, _ = graph.all("/users?$orderby=displayName&$select=displayName&$top=7")
    expected = sorted((u["displayName"] for u in names), key=str.lower)
    assert [u["displayName"] for u in names] == expected
    assert len(names) == tenant.users_count()
    down = graph.get("/users", params={"$orderby": "userPrincipalName desc", "$top": 3}).json()
    upns = sorted(
        (tenant.get_user(i)["userPrincipalName"] for i in tenant.user_ids()),
        key=str.lower,
        reverse=True,
    )
    assert [u["userPrincipalName"] for u in down["value"]] == upns[:3]
    assert graph.get("/users", params={"$orderby": "jobTitle"}).status_code == 400
    filtered = {"$orderby": "displayName", "$filter": "accountEnabled eq true"}
    assert graph.get("/users", params=filtered).status_code == 400
    advanced = graph.get("/users", params={**filtered, "$count": "true"}, headers=EVENTUAL)
    assert advanced.status_code == 200
