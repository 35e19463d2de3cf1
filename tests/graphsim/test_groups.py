"""/groups and their members: create (what Graph allows), list, members/$ref, bind, delete."""

from __future__ import annotations

from .conftest import Graph, error_of


def _ref(graph: Graph, object_id: str) -> dict:
    return {"@odata.id": f"https://graph.microsoft.com/v1.0/directoryObjects/{object_id}"}


def _security(name: str = "Ops", nickname: str = "ops") -> dict:
    return {
        "displayName": name,
        "mailEnabled": False,
        "mailNickname": nickname,
        "securityEnabled": True,
    }


def test_create_security_and_microsoft_365_groups(graph: Graph, tenant) -> None:
    security = graph.post("/groups", _security())
    assert security.status_code == 201, security.text
    assert security.json()["groupTypes"] == []
    assert security.json()["securityEnabled"] is True
    unified = graph.post(
        "/groups",
        {
            "displayName": "Team",
            "mailEnabled": True,
            "mailNickname": "team",
            "securityEnabled": False,
            "groupTypes": ["Unified"],
        },
    )
    assert unified.status_code == 201, unified.text
    assert unified.json()["mail"] == f"team@{tenant.domain}"
    same_name = graph.post("/groups", _security("Ops", "ops2"))
    assert same_name.status_code == 201  # names are not unique
    mail_security = graph.post("/groups", {**_security("M", "m"), "mailEnabled": True})
    assert mail_security.status_code == 400
    assert "mail-enabled" in error_of(mail_security)["message"]
    distribution = graph.post(
        "/groups", {**_security("D", "d"), "mailEnabled": True, "securityEnabled": False}
    )
    assert distribution.status_code == 400
    missing = _security("X", "x")
    del missing["mailNickname"]
    assert graph.post("/groups", missing).status_code == 400


def test_list_select_and_filter(graph: Graph, tenant) -> None:
    items, _page = graph.all("/groups?$select=id,displayName&$top=2")
    assert [g["id"] for g in items] == tenant.group_ids()
    assert all(set(g) == {"id", "displayName"} for g in items)
    name = tenant.get_group(tenant.group_ids()[0])["displayName"]
    found = graph.get("/groups", params={"$filter": f"displayName eq '{name}'"}).json()["value"]
    assert [g["id"] for g in found] == [tenant.group_ids()[0]]


def test_members_ref_add_list_remove(graph: Graph, tenant) -> None:
    group = graph.post("/groups", _security()).json()["id"]
    alice, bob = tenant.create_user(), tenant.create_user()
    assert graph.post(f"/groups/{group}/members/$ref", _ref(graph, alice.id)).status_code == 204
    again = graph.post(f"/groups/{group}/members/$ref", _ref(graph, alice.id))
    assert again.status_code == 400
    assert error_of(again)["message"].startswith("One or more added object references already")
    ghost = graph.post(
        f"/groups/{group}/members/$ref", _ref(graph, "00000000-0000-4000-8000-000000000000")
    )
    assert ghost.status_code == 404
    bound = graph.patch(
        f"/groups/{group}",
        {"members@odata.bind": [f"https://graph.microsoft.com/v1.0/directoryObjects/{bob.id}"]},
    )
    assert bound.status_code == 204
    members = graph.get(f"/groups/{group}/members", params={"$select": "id,userPrincipalName"})
    assert members.headers["x-ms-resource-unit"] == "2"  # members cost 3, $select one off
    assert [(m["@odata.type"], m["id"]) for m in members.json()["value"]] == [
        ("#microsoft.graph.user", alice.id),
        ("#microsoft.graph.user", bob.id),
    ]
    assert graph.delete(f"/groups/{group}/members/{alice.id}/$ref").status_code == 204
    assert graph.delete(f"/groups/{group}/members/{alice.id}/$ref").status_code == 404
    assert tenant.group_members(group) == [bob.id]


def test_bind_is_limited_to_twenty(graph: Graph, tenant) -> None:
    group = graph.post("/groups", _security()).json()["id"]
    users = [tenant.create_user() for _ in range(21)]
    refs = [f"https://graph.microsoft.com/v1.0/directoryObjects/{u.id}" for u in users]
    assert graph.patch(f"/groups/{group}", {"members@odata.bind": refs}).status_code == 400
    assert graph.patch(f"/groups/{group}", {"members@odata.bind": refs[:20]}).status_code == 204
    assert len(tenant.group_members(group)) == 20


def test_member_paging(graph: Graph, tenant) -> None:
    group = tenant.create_group("Big", members=[tenant.create_user().id for _ in range(5)])
    items, _ = graph.all(f"/groups/{group}/members?$top=2&$select=id")
    assert [m["id"] for m in items] == tenant.group_members(group)


def test_synced_groups_refuse_member_edits(graph: Graph, tenant) -> None:
    group = tenant.create_group("From AD", on_premises_sync=True)
    user = tenant.create_user()
    answer = graph.post(f"/groups/{group}/members/$ref", _ref(graph, user.id))
    assert answer.status_code == 400
    assert "on-premises mastered" in error_of(answer)["message"]


def test_delete_groups(graph: Graph, tenant) -> None:
    security = graph.post("/groups", _security()).json()["id"]
    unified = tenant.create_group("Team", unified=True)
    assert graph.delete(f"/groups/{security}").status_code == 204
    assert graph.delete(f"/groups/{unified}").status_code == 204
    assert graph.get(f"/groups/{security}").status_code == 404
    deleted = graph.get("/directory/deletedItems/microsoft.graph.group").json()["value"]
    assert [g["id"] for g in deleted] == [unified]  # security groups are gone for good


def test_directory_object(graph: Graph, tenant) -> None:
    user = tenant.create_user()
    answer = graph.get(f"/directoryObjects/{user.id}").json()
    assert answer["@odata.type"] == "#microsoft.graph.user"
    assert answer["id"] == user.id
