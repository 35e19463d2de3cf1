"""/api/v1/people and /api/v1/groups (issue 16): the answers, their pages, and refusals in
the error shape naming the field (who may call each route: test_permission_matrix.py)."""

from __future__ import annotations

from .conftest import ApiWorld


def _client(api: ApiWorld) -> None:
    api.world.vault.clients.add(api.world.admin, api.world.keys, "Contoso")


def test_people_add_list_page_search_edit_and_trash(api: ApiWorld) -> None:
    _client(api)
    http = api.admin
    for n in range(3):
        answer = http.post(
            "/api/v1/clients/Contoso/people",
            json={"username": f"user{n}", "given_name": f"Anna{n}", "surname": "Berg"},
        )
        assert answer.status_code == 201, answer.text
    page = http.get("/api/v1/clients/Contoso/people", params={"limit": 2}).json()
    assert [p["username"] for p in page["items"]] == ["user0", "user1"]
    rest = http.get(
        "/api/v1/clients/Contoso/people", params={"limit": 2, "cursor": page["next_cursor"]}
    ).json()
    assert ([p["username"] for p in rest["items"]], rest["next_cursor"]) == (["user2"], None)
    found = http.get("/api/v1/people", params={"q": "anna1 berg"}).json()
    assert [p["username"] for p in found["items"]] == ["user1"]
    changed = http.patch("/api/v1/people/user1", json={"enabled": False, "version": 1}).json()
    assert (changed["enabled"], changed["version"]) == (False, 2)
    stale = http.patch("/api/v1/people/user1", json={"surname": "X", "version": 1})
    assert stale.status_code == 409
    assert http.delete("/api/v1/people/user1").json()["deleted_by"] == "alice"
    assert http.get("/api/v1/people", params={"q": "anna1"}).json()["items"] == []
    assert http.post("/api/v1/people/user1/restore").json()["deleted_at"] is None


def test_bad_person_fields_are_400s_naming_the_field(api: ApiWorld) -> None:
    _client(api)
    http = api.admin
    for body, field in (
        ({"username": "a", "email": "nope"}, "email"),
        ({"username": "b", "usage_location": "ZZ"}, "usage_location"),
        ({"username": "c d"}, "username"),
    ):
        answer = http.post("/api/v1/clients/Contoso/people", json=body)
        assert answer.status_code == 400, answer.text
        error = answer.json()["error"]
        assert error["code"] == "invalid_input"
        assert field in answer.text
    http.post("/api/v1/clients/Contoso/people", json={"username": "taken"})
    again = http.post("/api/v1/clients/Contoso/people", json={"username": "TAKEN"})
    assert again.status_code == 409


def test_groups_members_and_cycles(api: ApiWorld) -> None:
    _client(api)
    http = api.admin
    http.post("/api/v1/clients/Contoso/people", json={"username": "anna"})
    outer = http.post("/api/v1/clients/Contoso/groups", json={"name": "Outer"}).json()
    inner = http.post(
        "/api/v1/clients/Contoso/groups", json={"name": "Inner", "type": "microsoft365"}
    ).json()
    assert inner["type"] == "microsoft365"
    added = http.post(
        "/api/v1/groups/Outer/members", json={"type": "group", "member": "Inner"}
    ).json()
    assert added["members"] == 1
    http.post("/api/v1/groups/Inner/members", json={"member": "anna"})
    cycle = http.post("/api/v1/groups/Inner/members", json={"type": "group", "member": "Outer"})
    assert cycle.status_code == 400
    assert "cycle" in cycle.json()["error"]["message"]
    members = http.get(f"/api/v1/groups/{outer['id']}/members").json()
    assert [(m["type"], m["name"]) for m in members] == [("group", "Inner")]
    gone = http.delete("/api/v1/groups/Inner/members/person/anna")
    assert gone.json()["members"] == 0
    assert http.delete("/api/v1/groups/Inner/members/person/anna").status_code == 404
    bad = http.post("/api/v1/clients/Contoso/groups", json={"name": "X", "type": "distribution"})
    assert bad.status_code == 422  # the body's schema (an enum), in the error shape
    assert bad.json()["error"]["details"][0]["field"] == "body.type"
    assert [g["name"] for g in http.get("/api/v1/groups", params={"q": "inn"}).json()["items"]] == [
        "Inner"
    ]
