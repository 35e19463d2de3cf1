"""/users/delta and /groups/delta: rounds, tokens, @removed, $select carried, page size."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from .conftest import Graph, error_of


def _round(graph: Graph, url: str, **headers: str) -> tuple[list[dict], str, int]:
    """Every item of one delta round, its deltaLink and the number of pages."""
    items: list[dict] = []
    pages = 0
    while True:
        answer = graph.get(url, headers=headers)
        assert answer.status_code == 200, answer.text
        page = answer.json()
        pages += 1
        items += page["value"]
        if "@odata.deltaLink" in page:
            assert "@odata.nextLink" not in page
            return items, page["@odata.deltaLink"], pages
        url = page["@odata.nextLink"]


def test_first_round_then_changes(graph: Graph, tenant, sim) -> None:
    items, link, pages = _round(
        graph, "/users/delta?$select=id,lastPasswordChangeDateTime", Prefer="odata.maxpagesize=10"
    )
    assert pages == 3
    assert [u["id"] for u in items] == tenant.user_ids()
    assert all(set(u) == {"id", "lastPasswordChangeDateTime"} for u in items)
    assert "$deltatoken" in parse_qs(urlsplit(link).query)
    quiet, link, _ = _round(graph, link)
    assert quiet == []

    ids = tenant.user_ids()
    sim.advance_clock(61)
    tenant.set_password(ids[0], "Changed!Passw0rd")
    tenant.soft_delete(ids[1])
    tenant.hard_delete(ids[2])
    created = tenant.create_user()
    changed, link, _ = _round(graph, link)
    by_id = {item["id"]: item for item in changed}
    assert set(by_id) == {ids[0], ids[1], ids[2], created.id}
    assert (
        by_id[ids[0]]["lastPasswordChangeDateTime"]
        == tenant.get_user(ids[0])["lastPasswordChangeDateTime"]
    )
    assert set(by_id[ids[0]]) == {"id", "lastPasswordChangeDateTime"}  # $select carried
    assert by_id[ids[1]] == {"id": ids[1], "@removed": {"reason": "changed"}}
    assert by_id[ids[2]] == {"id": ids[2], "@removed": {"reason": "deleted"}}

    tenant.restore(ids[1])
    back, link, _ = _round(graph, link)
    assert back == [
        {
            "id": ids[1],
            "lastPasswordChangeDateTime": tenant.get_user(ids[1])["lastPasswordChangeDateTime"],
        }
    ]


def test_password_change_over_graph_shows_in_delta(graph: Graph, tenant) -> None:
    _items, link, _ = _round(graph, "/users/delta?$select=id,lastPasswordChangeDateTime")
    user = tenant.create_user()
    _created, link, _ = _round(graph, link)
    answer = graph.patch(f"/users/{user.id}", {"passwordProfile": {"password": "Pushed!Pass9"}})
    assert answer.status_code == 204
    changed, _link, _ = _round(graph, link)
    assert [c["id"] for c in changed] == [user.id]


def test_latest_and_bad_tokens(graph: Graph, tenant) -> None:
    answer = graph.get("/users/delta", params={"$deltatoken": "latest"}).json()
    assert answer["value"] == []
    link = answer["@odata.deltaLink"]
    user = tenant.create_user()
    changed, _link, _ = _round(graph, link)
    assert [c["id"] for c in changed] == [user.id]
    for bad in ({"$deltatoken": "abc.def"}, {"$skiptoken": "abc.def"}):
        refused = graph.get("/users/delta", params=bad)
        assert refused.status_code == 410
        assert error_of(refused)["code"] == "SyncStateNotFound"
    other = graph.sim.add_tenant(users=1, groups=0)
    foreign = Graph(graph.http, graph.sim, other, other.default_app)
    token = parse_qs(urlsplit(link).query)["$deltatoken"][0]
    assert foreign.get("/users/delta", params={"$deltatoken": token}).status_code == 410
    groups_token = graph.get("/groups/delta", params={"$deltatoken": "latest"}).json()
    gtoken = parse_qs(urlsplit(groups_token["@odata.deltaLink"]).query)["$deltatoken"][0]
    assert graph.get("/users/delta", params={"$deltatoken": gtoken}).status_code == 410


def test_top_is_refused_on_delta(graph: Graph) -> None:
    assert graph.get("/users/delta", params={"$top": "5"}).status_code == 400


def test_filter_by_id(graph: Graph, tenant) -> None:
    ids = tenant.user_ids()[:2]
    expr = f"id eq '{ids[0]}' or id eq '{ids[1]}'"
    items, _link, _ = _round(graph, f"/users/delta?$filter={expr}&$select=id")
    assert [i["id"] for i in items] == ids
    assert (
        graph.get("/users/delta", params={"$filter": "accountEnabled eq true"}).status_code == 400
    )


def test_groups_delta_members(graph: Graph, tenant) -> None:
    group_id = tenant.group_ids()[0]
    items, link, _ = _round(graph, "/groups/delta?$select=displayName,members")
    first = {g["id"]: g for g in items}
    assert {m["id"] for m in first[group_id]["members@delta"]} == set(
        tenant.group_members(group_id)
    )
    leaving = tenant.group_members(group_id)[0]
    joining = tenant.create_user()
    tenant.remove_member(group_id, leaving)
    tenant.add_member(group_id, joining.id)
    changed, _link, _ = _round(graph, link)
    assert [g["id"] for g in changed] == [group_id]
    deltas = {m["id"]: m for m in changed[0]["members@delta"]}
    assert deltas[joining.id] == {"@odata.type": "#microsoft.graph.user", "id": joining.id}
    assert deltas[leaving]["@removed"] == {"reason": "deleted"}
