"""Deleted items and restore, subscribed SKUs and assignLicense, domains and federation."""

from __future__ import annotations

import ssl

import httpx

from credsync.testing.graphsim import GraphSimulator

from .conftest import Graph, client_for, error_of

E3 = "6fd2c87f-b296-42f0-b197-1e91e994b900"


def test_deleted_items_and_restore(graph: Graph, tenant, sim) -> None:
    user = tenant.create_user()
    assert graph.delete(f"/users/{user.id}").status_code == 204
    assert graph.get("/directory/deletedItems").status_code == 400  # the cast is required
    listed = graph.get(
        "/directory/deletedItems/microsoft.graph.user",
        params={"$select": "id,userPrincipalName,deletedDateTime"},
    ).json()
    assert [u["id"] for u in listed["value"]] == [user.id]
    assert listed["value"][0]["deletedDateTime"].endswith("Z")
    one = graph.get(f"/directory/deletedItems/{user.id}").json()
    assert one["@odata.type"] == "#microsoft.graph.user"
    restored = graph.post(f"/directory/deletedItems/{user.id}/restore")
    assert restored.status_code == 200
    assert restored.json()["id"] == user.id
    assert graph.get(f"/users/{user.id}").status_code == 200
    assert tenant.check_password(user.id, user.password)
    assert graph.get(f"/directory/deletedItems/{user.id}").status_code == 404


def test_restore_refused_on_upn_collision(graph: Graph, tenant) -> None:
    user = tenant.create_user()
    tenant.soft_delete(user.id)
    tenant.create_user(upn=user.upn)
    answer = graph.post(f"/directory/deletedItems/{user.id}/restore")
    assert answer.status_code == 400
    assert "userPrincipalName" in error_of(answer)["message"]


def test_purge_and_retention(graph: Graph, tenant) -> None:
    user = tenant.create_user()
    tenant.soft_delete(user.id)
    assert graph.delete(f"/directory/deletedItems/{user.id}").status_code == 204
    assert graph.post(f"/directory/deletedItems/{user.id}/restore").status_code == 404
    assert graph.get("/directory/deletedItems/microsoft.graph.user").json()["value"] == []


def test_deleted_items_last_thirty_days(http) -> None:
    with GraphSimulator(seed=5) as own:  # a private clock to move
        tenant = own.add_tenant(users=2, groups=0)
        first, second = tenant.user_ids()
        with httpx.Client(verify=ssl.create_default_context(cafile=str(own.ca_file))) as c:
            g = Graph(c, own, tenant, tenant.default_app)
            link = g.get("/users/delta", params={"$deltatoken": "latest"}).json()[
                "@odata.deltaLink"
            ]
            tenant.soft_delete(first)
            own.advance_clock(29 * 86400)
            tenant.soft_delete(second)
            own.advance_clock(2 * 86400)
            g = Graph(c, own, tenant, tenant.default_app)  # a fresh token on the moved clock
            listed = g.get("/directory/deletedItems/microsoft.graph.user").json()["value"]
            assert [u["id"] for u in listed] == [second]
            assert g.post(f"/directory/deletedItems/{first}/restore").status_code == 404
            removed = {u["id"]: u["@removed"]["reason"] for u in g.get(link).json()["value"]}
            assert removed == {first: "deleted", second: "changed"}


def test_deleted_items_need_user_permissions(http, sim, tenant) -> None:
    user = tenant.create_user()
    tenant.soft_delete(user.id)
    groups_only = client_for(http, sim, tenant, tenant.add_app(permissions=("Group.Read.All",)))
    assert groups_only.get(f"/directory/deletedItems/{user.id}").status_code == 403
    restorer = client_for(
        http, sim, tenant, tenant.add_app(permissions=("User.DeleteRestore.All",))
    )
    assert restorer.post(f"/directory/deletedItems/{user.id}/restore").status_code == 200


def test_subscribed_skus_and_assign_license(graph: Graph, tenant) -> None:
    skus = {s["skuPartNumber"]: s for s in graph.get("/subscribedSkus").json()["value"]}
    assert set(skus) == {"ENTERPRISEPACK", "SPE_E5", "EXCHANGESTANDARD"}
    e3 = skus["ENTERPRISEPACK"]
    assert e3["skuId"] == E3
    assert e3["prepaidUnits"]["enabled"] >= e3["consumedUnits"]
    user = tenant.create_user()
    body = {"addLicenses": [{"skuId": E3, "disabledPlans": []}], "removeLicenses": []}
    nowhere = graph.post(f"/users/{user.id}/assignLicense", body)
    assert nowhere.status_code == 400
    assert error_of(nowhere)["message"] == (
        "License assignment cannot be done for user with invalid usage location."
    )
    assert graph.patch(f"/users/{user.id}", {"usageLocation": "GB"}).status_code == 204
    assigned = graph.post(f"/users/{user.id}/assignLicense", body)
    assert assigned.status_code == 200, assigned.text
    assert assigned.json()["id"] == user.id
    assert tenant.get_user(user.id)["assignedLicenses"] == [{"disabledPlans": [], "skuId": E3}]
    after = {s["skuId"]: s for s in graph.get("/subscribedSkus").json()["value"]}
    assert after[E3]["consumedUnits"] == e3["consumedUnits"] + 1
    unknown = {
        "addLicenses": [{"skuId": "00000000-0000-4000-8000-000000000000"}],
        "removeLicenses": [],
    }
    assert graph.post(f"/users/{user.id}/assignLicense", unknown).status_code == 400
    removed = graph.post(
        f"/users/{user.id}/assignLicense", {"addLicenses": [], "removeLicenses": [E3]}
    )
    assert removed.status_code == 200
    assert tenant.get_user(user.id)["assignedLicenses"] == []


def test_no_units_left(graph: Graph, tenant) -> None:
    exchange = "4b9405b0-7788-4568-add1-99614e613b69"  # 10 seats
    body = {"addLicenses": [{"skuId": exchange, "disabledPlans": []}], "removeLicenses": []}
    answers = []
    for _ in range(11):
        user = tenant.create_user(usage_location="US")
        answers.append(graph.post(f"/users/{user.id}/assignLicense", body).status_code)
    assert answers == [200] * 10 + [400]


def test_domains(graph: Graph, sim) -> None:
    tenant = sim.add_tenant(
        users=1, groups=0, domain="fabrikam.test", federated_domain="fed.fabrikam.test"
    )
    g = Graph(graph.http, sim, tenant, tenant.default_app)
    domains = {d["id"]: d for d in g.get("/domains").json()["value"]}
    assert domains[tenant.domain]["isDefault"] is True
    assert domains[tenant.initial_domain]["isInitial"] is True
    assert tenant.initial_domain.endswith(".onmicrosoft.test")
    federated = [d for d in domains.values() if d["authenticationType"] == "Federated"]
    assert len(federated) == 1
    assert g.get(f"/domains/{tenant.domain}").json()["isVerified"] is True
    assert g.get("/domains/nope.test").status_code == 404
    fed = federated[0]["id"]
    assert g.get(f"/domains/{fed}/federationConfiguration").status_code == 403  # needs its own
    app = tenant.add_app(permissions=("Domain-InternalFederation.Read.All", "Domain.Read.All"))
    reader = Graph(graph.http, sim, tenant, app)
    configs = reader.get(f"/domains/{fed}/federationConfiguration").json()["value"]
    assert configs[0]["preferredAuthenticationProtocol"] == "wsFed"
    one = reader.get(f"/domains/{fed}/federationConfiguration/{configs[0]['id']}").json()
    assert one["issuerUri"] == configs[0]["issuerUri"]
    user = tenant.create_user(upn=f"fed.user@{fed}")
    refused = g.patch(f"/users/{user.id}", {"passwordProfile": {"password": "Fed3rated!pw"}})
    assert refused.status_code == 400
