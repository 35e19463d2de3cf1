"""Issue 13, finding 1 through the API: a credential made by an operator without
directory.setup never leads to a push of a directory account it happens to match (the real
Samba AD DC), and only operators with directory.setup confirm the links waiting."""

from __future__ import annotations

from typing import Any

from sync.helpers import build_sync_world
from sync.test_enforce_mode import binds
from sync.test_link_confirmation import ATTACKER_PASSWORD, _assert_untouched, _enforce_client

from .conftest import ApiWorld, assert_error


def test_a_vault_writer_cannot_take_over_an_unlinked_account(api: ApiWorld, ad_ou: Any) -> None:
    sw = build_sync_world(api.world, ad_ou)
    victim = sw.ad.create_user()
    _enforce_client(sw)
    technician = api.as_role("technician")
    created = technician.post(
        f"/api/v1/clients/{sw.client}/credentials",
        json={"title": "Via API", "username": victim.name, "password": ATTACKER_PASSWORD},
    )
    assert created.status_code == 201, created.text
    cred_id = created.json()["id"]
    assert created.json()["effective_sync_mode"] == "enforce"
    run = sw.run()
    _assert_untouched(sw, victim)
    assert sw.items(run)[cred_id] == ("mismatch", "verify")
    assert sw.flags()[cred_id] == "awaiting_confirmation"


def test_only_directory_setup_confirms_a_link_and_is_shown_what_it_overwrites(
    api: ApiWorld, ad_ou: Any
) -> None:
    sw = build_sync_world(api.world, ad_ou)
    victim = sw.ad.create_user()
    _enforce_client(sw)
    created = api.as_role("technician").post(
        f"/api/v1/clients/{sw.client}/credentials",
        json={"title": "Via API", "username": victim.name, "password": ATTACKER_PASSWORD},
    )
    cred_id = created.json()["id"]
    sw.run()
    listed = api.admin.get("/api/v1/flags").json()["items"]
    [flag] = [f for f in listed if f["credential_id"] == cred_id]
    assert flag["status"] == "awaiting_confirmation"
    body = {"flags": [flag["id"]], "confirm": True}
    for role in ("technician", "viewer", "auditor"):
        refused = api.as_role(role).post("/api/v1/flags/confirm", json=body)
        assert_error(refused, 403, "forbidden")
    manager = api.as_role("directory_manager")
    asked = manager.post("/api/v1/flags/confirm", json={"flags": [flag["id"][:8]]})
    error = assert_error(asked, 409, "confirm_enforce")
    [impact] = error["enforce"]["impact"]
    assert (impact["credential_id"], impact["account"], impact["overwrite_now"]) == (
        cred_id,
        victim.name,
        True,
    )
    assert f"{sw.directory}:{victim.name}" in error["message"]
    _assert_untouched(sw, victim)
    done = manager.post("/api/v1/flags/confirm", json=body)
    assert done.status_code == 200, done.text
    assert [(f["id"], f["resolution"]) for f in done.json()] == [(flag["id"], "confirmed")]
    report = sw.run()
    assert sw.items(report)[cred_id] == ("in_sync", "push")
    assert binds(sw, victim.dn, ATTACKER_PASSWORD)
    # Bad requests say what was wrong.
    assert_error(manager.post("/api/v1/flags/confirm", json={}), 400, "invalid_input")
    again = manager.post("/api/v1/flags/confirm", json=body)
    assert (
        "not a link awaiting confirmation" in assert_error(again, 400, "invalid_input")["message"]
    )
