"""Two-way mode through the API: ``two_way`` in JSON, a switch to it answered 409
``confirm_enforce`` with what it would overwrite (``enforce.mode`` says two_way) until
confirmed, and 403 to an operator without directory.setup."""

from __future__ import annotations

from .conftest import ApiWorld, assert_error

V1 = "/api/v1"


def test_two_way_is_confirmed_like_enforce_and_needs_directory_setup(api: ApiWorld) -> None:
    http = api.admin
    assert http.post(f"{V1}/clients", json={"name": "Contoso"}).status_code == 201
    body = {"title": "Synced", "username": "sync-me", "password": "Pa55-word-1!"}
    cred = http.post(f"{V1}/clients/Contoso/credentials", json=body).json()
    where = f"{V1}/credentials/{cred['id']}/sync-mode"

    refused = http.put(where, json={"sync_mode": "two_way"})
    error = assert_error(refused, 409, "confirm_enforce")
    assert "In two-way mode the vault's changes are pushed for 'Synced'" in error["message"]
    assert error["enforce"]["mode"] == "two_way"
    assert http.get(f"{V1}/credentials/{cred['id']}").json()["sync_mode"] is None

    technician = api.as_role("technician")
    for attempt in ({"sync_mode": "two_way"}, {"sync_mode": "two_way", "confirm": True}):
        assert_error(technician.put(where, json=attempt), 403, "forbidden")
    assert_error(
        technician.patch(f"{V1}/clients/Contoso", json={"default_sync_mode": "two_way"}),
        403,
        "forbidden",
    )
    # The CLI's spelling is not the JSON's.
    assert http.put(where, json={"sync_mode": "two-way", "confirm": True}).status_code == 422

    done = http.put(where, json={"sync_mode": "two_way", "confirm": True}).json()
    assert (done["sync_mode"], done["effective_sync_mode"]) == ("two_way", "two_way")

    asked = http.patch(f"{V1}/clients/Contoso", json={"default_sync_mode": "two_way"})
    assert assert_error(asked, 409, "confirm_enforce")["enforce"]["mode"] == "two_way"
    client = http.patch(
        f"{V1}/clients/Contoso", params={"confirm": True}, json={"default_sync_mode": "two_way"}
    ).json()
    assert client["default_sync_mode"] == "two_way"
    added = http.post(
        f"{V1}/clients/Contoso/credentials",
        json={**body, "title": "Added", "username": "added", "sync_mode": "two_way"},
    ).json()
    assert added["sync_mode"] == "two_way"
