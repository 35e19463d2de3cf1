"""Clients, credentials and the audit log through the API: the flows the CLI offers, each
error in the one shape, and what each role may do."""

from __future__ import annotations

from urllib.parse import quote

from vault.helpers import audit_of

from .conftest import ApiWorld, assert_error

V1 = "/api/v1"


def _client(api: ApiWorld, name: str = "Contoso", **extra: object) -> dict:
    response = api.admin.post(f"{V1}/clients", json={"name": name, **extra})
    assert response.status_code == 201, response.text
    return response.json()


def _cred(api: ApiWorld, client: str = "Contoso", **fields: object) -> dict:
    body = {"title": "Domain admin", "username": "CONTOSO\\admin", "password": "Pa55-word-1!"}
    body.update(fields)
    response = api.admin.post(f"{V1}/clients/{client}/credentials", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def test_a_credentials_life_through_the_api(api_both: ApiWorld) -> None:
    api = api_both
    client = _client(api)
    assert client["open_flags"] == 0
    cred = _cred(api, tags=["dc"], url="https://dc1.contoso.test", notes="rack 4")
    assert "password" not in cred
    assert cred["client"] == "Contoso"
    assert cred["tags"] == ["dc"]
    http = api.admin
    shown = http.get(f"{V1}/credentials/{cred['id'][:8]}").json()
    assert shown["id"] == cred["id"]
    assert "password" not in shown
    revealed = http.post(f"{V1}/credentials/{cred['id']}/reveal").json()
    assert revealed["password"] == "Pa55-word-1!"
    assert revealed["notes"] == "rack 4"
    assert audit_of(api.world, "credential.reveal", cred["id"])
    changed = http.put(
        f"{V1}/credentials/{cred['id']}/password", json={"generate": True, "reason": "rotation"}
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["secret_version"] == 2
    history = http.get(f"{V1}/credentials/{cred['id']}/history").json()
    assert [h["version"] for h in history] == [2, 1]
    assert all("password" not in h for h in history)
    assert history[0]["reason"] == "rotation"
    values = http.post(f"{V1}/credentials/{cred['id']}/history/reveal").json()
    assert values[1]["password"] == "Pa55-word-1!"
    assert len(values[0]["password"]) >= 16
    one = http.post(f"{V1}/credentials/{cred['id']}/history/reveal", params={"version": 1})
    assert [(h["version"], h["password"]) for h in one.json()] == [(1, "Pa55-word-1!")]
    assert audit_of(api.world, "credential.history_reveal", cred["id"])[0].details == {
        "versions": [1]
    }
    listed = http.get(f"{V1}/credentials/{cred['id']}/history", params={"version": 2}).json()
    assert [h["version"] for h in listed] == [2]
    missing = http.post(f"{V1}/credentials/{cred['id']}/history/reveal", params={"version": 7})
    assert_error(missing, 404, "not_found")
    edited = http.patch(
        f"{V1}/credentials/{cred['id']}",
        json={"title": "DC admin", "version": changed.json()["version"]},
    )
    assert edited.json()["title"] == "DC admin"
    stale = http.patch(f"{V1}/credentials/{cred['id']}", json={"title": "x", "version": 1})
    assert_error(stale, 409, "stale_version")
    trashed = http.delete(f"{V1}/credentials/{cred['id']}")
    assert trashed.json()["deleted"] is True
    listed = http.get(f"{V1}/clients/Contoso/credentials").json()
    assert listed["items"] == []
    in_trash = http.get(f"{V1}/clients/Contoso/credentials", params={"trash": True}).json()
    assert [c["id"] for c in in_trash["items"]] == [cred["id"]]
    assert http.post(f"{V1}/credentials/{cred['id']}/restore").json()["deleted"] is False


def test_pages_and_search(api: ApiWorld) -> None:
    _client(api)
    for n in range(7):
        _cred(api, title=f"Server {n:02d}", username=f"svc{n}", password=f"Pa55-word-{n}!")
    http = api.admin
    first = http.get(f"{V1}/clients/Contoso/credentials", params={"limit": 3}).json()
    assert [c["title"] for c in first["items"]] == ["Server 00", "Server 01", "Server 02"]
    seen = [c["title"] for c in first["items"]]
    cursor = first["next_cursor"]
    while cursor:
        page = http.get(
            f"{V1}/clients/Contoso/credentials", params={"limit": 3, "cursor": cursor}
        ).json()
        seen += [c["title"] for c in page["items"]]
        cursor = page["next_cursor"]
    assert seen == [f"Server {n:02d}" for n in range(7)]
    found = http.get(f"{V1}/credentials", params={"q": "serv svc3"}).json()
    assert [c["username"] for c in found["items"]] == ["svc3"]
    bad = http.get(f"{V1}/clients/Contoso/credentials", params={"limit": 0})
    assert bad.json()["error"]["details"][0]["field"] == "query.limit"
    assert_error(bad, 422, "invalid_request")
    garbled = http.get(f"{V1}/clients/Contoso/credentials", params={"cursor": "%%%"})
    assert_error(garbled, 400, "invalid_input")


def test_clients_change_and_enforce_is_confirmed(api: ApiWorld) -> None:
    _client(api, directory_sync=True)
    http = api.admin
    renamed = http.patch(f"{V1}/clients/Contoso", json={"name": "Contoso Ltd", "version": 1})
    assert renamed.json()["name"] == "Contoso Ltd"
    assert_error(http.post(f"{V1}/clients", json={"name": "contoso ltd"}), 409, "already_exists")
    refused = http.patch(f"{V1}/clients/Contoso Ltd", json={"default_sync_mode": "enforce"})
    error = assert_error(refused, 409, "confirm_enforce")
    assert "enforce" in error["message"]
    assert http.get(f"{V1}/clients/Contoso Ltd").json()["default_sync_mode"] == "report"
    done = http.patch(
        f"{V1}/clients/Contoso Ltd", params={"confirm": True}, json={"default_sync_mode": "enforce"}
    )
    assert done.json()["default_sync_mode"] == "enforce"
    cred = _cred(api, "Contoso Ltd", sync_mode="report")
    switch = http.put(f"{V1}/credentials/{cred['id']}/sync-mode", json={"sync_mode": "enforce"})
    assert_error(switch, 409, "confirm_enforce")
    ok = http.put(
        f"{V1}/credentials/{cred['id']}/sync-mode", json={"sync_mode": "enforce", "confirm": True}
    )
    assert ok.json()["sync_mode"] == "enforce"
    # Inheriting a default of enforce makes a report credential enforced: confirmed too.
    other = _cred(api, "Contoso Ltd", sync_mode="report", title="Backup", username="bk")
    where = f"{V1}/credentials/{other['id']}/sync-mode"
    assert_error(http.put(where, json={"sync_mode": "inherit"}), 409, "confirm_enforce")
    inherited = http.put(where, json={"sync_mode": "inherit", "confirm": True}).json()
    assert (inherited["sync_mode"], inherited["effective_sync_mode"]) == (None, "enforce")
    assert http.put(where, json={"sync_mode": "enforce"}).status_code == 200  # no change
    # Undoing an exemption from a default of enforce needs directory.setup, as enforce does.
    exempt = _cred(api, "Contoso Ltd", sync_mode="off", title="Exempt", username="ex")
    path = f"{V1}/credentials/{exempt['id']}/sync-mode"
    technician = api.as_role("technician")
    for body in ({"sync_mode": "inherit"}, {"sync_mode": "inherit", "confirm": True}):
        assert_error(technician.put(path, json=body), 403, "forbidden")
    assert http.get(f"{V1}/credentials/{exempt['id']}").json()["effective_sync_mode"] == "off"
    assert technician.put(path, json={"sync_mode": "report"}).status_code == 200
    archived = http.patch(f"{V1}/clients/Contoso Ltd", json={"archived": True})
    assert archived.json()["archived"] is True
    assert http.get(f"{V1}/clients").json() == []
    assert len(http.get(f"{V1}/clients", params={"archived": True}).json()) == 1


def test_bad_input_is_one_clear_error_and_writes_nothing(api: ApiWorld) -> None:
    _client(api)
    http = api.admin
    assert_error(http.get(f"{V1}/clients/nope"), 404, "not_found")
    assert_error(http.get(f"{V1}/credentials/0123abcd"), 404, "not_found")
    both = http.post(
        f"{V1}/clients/Contoso/credentials",
        json={"title": "x", "password": "Pa55-word-1!", "generate": True},
    )
    either = assert_error(both, 400, "invalid_input")
    assert "either" in either["message"]
    assert "details" not in either  # about no one field
    nul = http.post(
        f"{V1}/clients/Contoso/credentials", json={"title": "bad\u0000title", "password": "x1!Aa"}
    )
    refused = assert_error(nul, 400, "invalid_input")
    # The field the refusal concerns, as request validation says it (never the value sent).
    assert refused["details"] == [{"field": "title", "problem": refused["message"]}]
    assert "bad" not in refused["message"]
    tag = http.post(
        f"{V1}/clients/Contoso/credentials",
        json={"title": "T", "password": "x1!Aa", "tags": ["ok", "not ok!"]},
    )
    assert [d["field"] for d in assert_error(tag, 400, "invalid_input")["details"]] == ["tags"]
    # A route whose input is named otherwise answers with its own name: a folder's is "path".
    folder = http.post(f"{V1}/clients/Contoso/folders", json={"path": "a/../b"})
    assert assert_error(folder, 400, "invalid_input")["details"] == [
        {"field": "path", "problem": "folder path must not contain '.' or '..'"}
    ]
    bad_folder = http.post(
        f"{V1}/clients/Contoso/credentials", json={"title": "T", "password": "x1!", "folder": ".."}
    )
    assert [d["field"] for d in assert_error(bad_folder, 400, "invalid_input")["details"]] == [
        "folder"
    ]
    unknown = http.post(f"{V1}/clients", json={"name": "X", "colour": "red"})
    assert_error(unknown, 422, "invalid_request")
    not_json = http.post(
        f"{V1}/clients", content=b"\xff\xfe", headers={"Content-Type": "application/json"}
    )
    assert_error(not_json, 422, "invalid_request")
    assert_error(http.get(f"{V1}/no/such/route"), 404, "not_found")
    assert_error(http.delete(f"{V1}/clients"), 405, "method_not_allowed")
    assert http.get(f"{V1}/clients/Contoso/credentials").json()["items"] == []


def test_roles_see_and_do_what_their_permissions_allow(api: ApiWorld) -> None:
    _client(api)
    cred = _cred(api)
    viewer, technician, auditor = (api.as_role(r) for r in ("viewer", "technician", "auditor"))
    assert viewer.get(f"{V1}/credentials/{cred['id']}").status_code == 200
    assert_error(viewer.post(f"{V1}/credentials/{cred['id']}/reveal"), 403, "forbidden")
    assert_error(viewer.post(f"{V1}/clients", json={"name": "X"}), 403, "forbidden")
    assert_error(viewer.get(f"{V1}/audit"), 403, "forbidden")
    assert technician.post(f"{V1}/credentials/{cred['id']}/reveal").status_code == 200
    refused = technician.patch(f"{V1}/clients/Contoso", json={"directory_sync": True})
    assert "directory.setup" in assert_error(refused, 403, "forbidden")["message"]
    assert api.admin.get(f"{V1}/clients/Contoso").json()["directory_sync"] is False
    entries = auditor.get(f"{V1}/audit", params={"action": "credential.reveal"}).json()
    assert [e["target_id"] for e in entries["items"]] == [cred["id"]]
    assert auditor.get(f"{V1}/audit/verify").json()["ok"] is True


def test_the_audit_log_pages_newest_first(api: ApiWorld) -> None:
    for n in range(5):
        _client(api, f"Client {n}")
    http = api.admin
    first = http.get(f"{V1}/audit", params={"action": "client.add", "limit": 2}).json()
    second = http.get(
        f"{V1}/audit",
        params={"action": "client.add", "limit": 2, "cursor": first["next_cursor"]},
    ).json()
    seqs = [e["seq"] for e in first["items"] + second["items"]]
    assert seqs == sorted(seqs, reverse=True)
    assert len(set(seqs)) == 4
    assert_error(http.get(f"{V1}/audit", params={"cursor": "x"}), 400, "invalid_input")


def test_names_with_slashes_and_dots_reach_their_routes(api: ApiWorld) -> None:
    """A name holding "/" is sent escaped (%2F) and reaches the route whole, as do "." and
    ".." escaped; an unescaped slash is still two path segments."""
    admin = api.admin
    for name in ("A/B Corp", "..", "50% / 50%"):
        made = admin.post("/api/v1/clients", json={"name": name})
        assert made.status_code == 201, made.text
        ref = quote(name, safe="").replace(".", "%2E")
        got = admin.get(f"/api/v1/clients/{ref}")
        assert got.status_code == 200, (name, got.text)
        assert got.json()["id"] == made.json()["id"]
        added = admin.post(
            f"/api/v1/clients/{ref}/credentials",
            json={"title": "Admin", "username": "admin", "password": "Pa55-word-slash!"},
        )
        assert added.status_code == 201, added.text
        listed = admin.get(f"/api/v1/clients/{ref}/credentials").json()["items"]
        assert [c["id"] for c in listed] == [added.json()["id"]]
        folder = admin.post(f"/api/v1/clients/{ref}/folders", json={"path": "Servers/DCs"})
        assert folder.status_code == 201, folder.text
        gone = admin.delete(f"/api/v1/clients/{ref}/folders/Servers%2FDCs")
        assert gone.status_code == 200, gone.text
    role = admin.post("/api/v1/roles", json={"name": "ops/desk", "permissions": ["vault.read"]})
    assert role.status_code == 201, role.text
    assert admin.delete("/api/v1/roles/ops%2Fdesk").status_code == 204
    assert_error(admin.get("/api/v1/clients/A/B%20Corp"), 404, "not_found")


def test_a_duplicate_credential_is_a_409_unless_allowed(api: ApiWorld) -> None:
    _client(api)
    first = _cred(api, folder="Servers")
    http = api.admin
    body = {"title": "DOMAIN ADMIN", "username": "contoso\\ADMIN", "folder": "servers"}
    refused = http.post(f"{V1}/clients/Contoso/credentials", json={**body, "generate": True})
    assert_error(refused, 409, "duplicate_credential")
    assert first["id"] in refused.json()["error"]["message"]
    allowed = {**body, "generate": True, "allow_duplicate": True}
    twin = http.post(f"{V1}/clients/Contoso/credentials", json=allowed)
    assert twin.status_code == 201, twin.text
    other = _cred(api, title="Other")
    moved = http.patch(f"{V1}/credentials/{other['id']}", json={"title": "Domain admin"})
    assert moved.status_code == 200  # not in the folder: no duplicate
    into = http.patch(f"{V1}/credentials/{other['id']}", json={"folder": "Servers"})
    assert_error(into, 409, "duplicate_credential")
    forced = {"folder": "Servers", "allow_duplicate": True}
    assert http.patch(f"{V1}/credentials/{other['id']}", json=forced).status_code == 200
