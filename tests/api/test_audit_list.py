"""The audit list's filters over the API, each the same as `credsync audit`'s."""

from __future__ import annotations

from .conftest import ApiWorld, assert_error

V1 = "/api/v1"


def test_the_audit_log_filters_by_client(api: ApiWorld) -> None:
    http = api.admin
    ids = {}
    for name in ("Contoso", "Fabrikam"):
        ids[name] = http.post(f"{V1}/clients", json={"name": name}).json()["id"]
        body = {"title": "Domain admin", "username": "admin", "password": "Pa55-word-1!"}
        created = http.post(f"{V1}/clients/{name}/credentials", json=body)
        assert created.status_code == 201, created.text
    by_name = http.get(f"{V1}/audit", params={"client": "contoso"}).json()["items"]
    assert by_name, "the client's entries"
    assert {e["client_id"] for e in by_name} == {ids["Contoso"]}
    by_id = http.get(f"{V1}/audit", params={"client": ids["Contoso"]}).json()["items"]
    assert by_id == by_name
    local = api.world.vault.audit.list(api.world.admin, client_id=ids["Contoso"])
    assert [e["seq"] for e in by_name] == [e.seq for e in local]
    creds = http.get(
        f"{V1}/audit", params={"client": "Fabrikam", "action": "credential.*", "limit": 1}
    ).json()
    assert [e["action"] for e in creds["items"]] == ["credential.add"]
    assert creds["items"][0]["client_id"] == ids["Fabrikam"]
    assert_error(http.get(f"{V1}/audit", params={"client": "Nope"}), 404, "not_found")
    auditor = api.as_role("auditor")
    assert auditor.get(f"{V1}/audit", params={"client": "Contoso"}).json()["items"] == by_name


def test_a_cursor_that_is_not_a_number_is_refused_not_a_crash(api: ApiWorld) -> None:
    # Unicode digits pass str.isdigit() but not int(): "²" (found by the schemathesis run).
    for cursor in ("²", "٣", "12a", "9" * 40):
        answer = api.admin.get("/api/v1/audit", params={"cursor": cursor})
        assert answer.status_code == 400, (cursor, answer.text)
        assert answer.json()["error"]["code"] == "invalid_input"
        assert answer.json()["error"]["details"][0]["field"] == "cursor"


def test_the_audit_log_names_targets_and_filters_by_a_window(api: ApiWorld) -> None:
    http = api.admin
    http.post(f"{V1}/clients", json={"name": "Café Ltd"})
    body = {"title": "Wi-Fi ü", "username": "admin", "password": "Pa55-word-1!"}
    cred = http.post(f"{V1}/clients/Café Ltd/credentials", json=body).json()
    [added] = http.get(f"{V1}/audit", params={"target": cred["id"]}).json()["items"]
    assert (added["target_name"], added["client_name"]) == ("Wi-Fi ü", "Café Ltd")
    day = added["at"][:10]
    window = {"target": cred["id"], "since": day, "until": day}
    assert http.get(f"{V1}/audit", params=window).json()["items"] == [added]
    before = {"target": cred["id"], "until": added["at"]}
    assert http.get(f"{V1}/audit", params=before).json()["items"] == []
    answer = http.get(f"{V1}/audit", params={"since": "last week"})
    assert_error(answer, 400, "invalid_input")
    assert answer.json()["error"]["details"][0]["field"] == "since"
    reversed_window = {"since": "2026-03-02", "until": "2026-03-01"}
    assert_error(http.get(f"{V1}/audit", params=reversed_window), 400, "invalid_input")
