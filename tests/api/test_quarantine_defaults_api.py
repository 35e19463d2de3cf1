"""The vault-wide quarantine thresholds over the API: GET shows each threshold's value and
where it comes from, PUT sets what it is given (null: back to the built-in, left out: kept),
a refused value is 400 naming its JSON field, and only an admin may set them (the permission
matrix covers every role)."""

from __future__ import annotations

from .conftest import ApiWorld, assert_error

V1 = "/api/v1"


def test_put_sets_what_it_is_given_and_get_shows_it(api: ApiWorld) -> None:
    http = api.admin
    shown = http.get(f"{V1}/quarantine/defaults").json()
    assert shown["push_cap"]["value"] == 500
    assert shown["push_cap"]["vault"] is None
    done = http.put(f"{V1}/quarantine/defaults", json={"push_cap": 120, "inbound_cap": 9})
    assert done.status_code == 200, done.text
    assert done.json()["push_cap"]["vault"] == 120
    cleared = http.put(f"{V1}/quarantine/defaults", json={"push_cap": None})
    assert cleared.json()["push_cap"] == {
        "value": 500, "vault": None, "built_in": 500, "updated_at": None, "updated_by": None,
    }  # fmt: skip
    assert cleared.json()["inbound_cap"]["value"] == 9  # left out: kept
    assert http.get(f"{V1}/quarantine/defaults").json()["inbound_cap"]["vault"] == 9


def test_a_refused_value_names_its_field(api: ApiWorld) -> None:
    http = api.admin
    for body, field in (({"push_cap_percent": 101}, "push_cap_percent"),
                        ({"push_cap": 0}, "push_cap"), ({}, "push_cap")):  # fmt: skip
        refused = http.put(f"{V1}/quarantine/defaults", json=body)
        assert assert_error(refused, 400, "invalid_input")["details"][0]["field"] == field
    unknown = http.put(f"{V1}/quarantine/defaults", json={"interval": 5})
    assert assert_error(unknown, 422, "invalid_request")["details"][0]["field"] == "body.interval"
    assert http.get(f"{V1}/quarantine/defaults").json()["push_cap"]["vault"] is None


def test_who_may_not_set_them_is_refused(api: ApiWorld) -> None:
    for role in ("technician", "directory_manager", "auditor", "viewer"):
        refused = api.as_role(role).put(f"{V1}/quarantine/defaults", json={"push_cap": 1})
        assert_error(refused, 403, "forbidden")
    assert api.admin.get(f"{V1}/quarantine/defaults").json()["push_cap"]["vault"] is None
