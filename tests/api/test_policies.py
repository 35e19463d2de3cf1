"""Password policies and generated passwords over the API: the same fields as
``credsync policy list --json``, the vault's own checks and messages, who may do what, and
generated passwords that are neither stored nor cached."""

from __future__ import annotations

from vault.helpers import audit_head, audit_of

from .conftest import ApiWorld, assert_error

V1 = "/api/v1"
DEFAULT = {
    "name": "default",
    "length": 20,
    "lower": 1,
    "upper": 1,
    "digits": 1,
    "symbols": 1,
    "symbol_set": "@#$%^&*-_!+=[]{}|:,.?/~();<>",
    "exclude": "",
    "exclude_ambiguous": False,
}


def _shape(passwords: list[str]) -> list[tuple[int, str]]:
    """Each password's length and character classes (digits, lower, symbols, upper): what an
    assertion shows instead of a generated password."""
    kinds = (
        ("d", str.isdigit),
        ("l", str.islower),
        ("s", lambda c: not c.isalnum()),
        ("u", str.isupper),
    )
    return [(len(p), "".join(k for k, test in kinds if any(map(test, p)))) for p in passwords]


def test_policies_are_listed_added_and_deleted(api: ApiWorld) -> None:
    admin, viewer = api.admin, api.as_role("viewer")
    assert viewer.get(f"{V1}/policies").json() == [DEFAULT]

    added = admin.post(f"{V1}/policies", json={"name": " Long ", "length": 32, "exclude": "`"})
    assert added.status_code == 201, added.text
    long = {**DEFAULT, "name": "long", "length": 32, "exclude": "`"}
    assert added.json() == long
    listed = viewer.get(f"{V1}/policies").json()
    assert listed == [DEFAULT, long]
    local = [{"name": n, **p.to_json()} for n, p in api.world.vault.policies.list(api.world.admin)]
    assert listed == local  # what `credsync policy list --json` prints
    assert audit_of(api.world, "policy.add", "long")[0].details["length"] == 32

    taken = admin.post(f"{V1}/policies", json={"name": "LONG"})
    assert "already exists" in assert_error(taken, 409, "already_exists")["message"]
    builtin = admin.post(f"{V1}/policies", json={"name": "default"})
    assert "built-in" in assert_error(builtin, 400, "invalid_input")["message"]
    too_long = admin.post(f"{V1}/policies", json={"name": "x", "length": 300})
    error = assert_error(too_long, 400, "invalid_input")
    assert error["message"] == "password length must be 4..256, not 300"
    unknown = admin.post(f"{V1}/policies", json={"name": "x", "colour": "red"})
    assert assert_error(unknown, 422, "invalid_request")["details"][0]["field"] == "body.colour"
    assert_error(viewer.post(f"{V1}/policies", json={"name": "mine"}), 403, "forbidden")
    assert [p["name"] for p in viewer.get(f"{V1}/policies").json()] == ["default", "long"]

    assert_error(viewer.delete(f"{V1}/policies/long"), 403, "forbidden")
    assert admin.delete(f"{V1}/policies/Long").status_code == 204
    assert audit_of(api.world, "policy.delete", "long")
    assert_error(admin.delete(f"{V1}/policies/long"), 404, "not_found")
    assert_error(admin.delete(f"{V1}/policies/default"), 404, "not_found")
    assert viewer.get(f"{V1}/policies").json() == [DEFAULT]


def test_passwords_are_generated_and_never_stored(api: ApiWorld) -> None:
    viewer = api.as_role("viewer")  # vault.read is enough, as for `credsync generate`
    head = audit_head(api.world)
    one = viewer.post(f"{V1}/policies/default/generate", json={})
    assert one.status_code == 200, one.status_code
    assert one.headers["cache-control"] == "no-store"
    shape = _shape(one.json()["passwords"])
    assert shape == [(20, "dlsu")]

    body = {"count": 5, "length": 32, "symbols": -1, "exclude_ambiguous": True}
    five = viewer.post(f"{V1}/policies/default/generate", json=body).json()["passwords"]
    shape, distinct = _shape(five), len(set(five))
    ambiguous = set("".join(five)) & set("Il1O0o")
    assert shape == [(32, "dlu")] * 5
    assert distinct == 5
    assert not ambiguous

    api.admin.post(f"{V1}/policies", json={"name": "pin", "length": 6, "lower": -1,
                                           "upper": -1, "symbols": -1})  # fmt: skip
    pins = viewer.post(f"{V1}/policies/PIN/generate", json={"count": 3}).json()["passwords"]
    shape = _shape(pins)
    assert shape == [(6, "d")] * 3
    longer = viewer.post(f"{V1}/policies/pin/generate", json={"length": 8}).json()["passwords"]
    shape = _shape(longer)
    assert shape == [(8, "d")]
    # Nothing was recorded but the policy added: a generated password is the caller's alone.
    [newest] = api.world.vault.audit.list(api.world.admin, limit=1)
    assert (newest.action, newest.seq) == ("policy.add", head + 1)

    missing = viewer.post(f"{V1}/policies/nope/generate", json={})
    assert "no password policy named 'nope'" in assert_error(missing, 404, "not_found")["message"]
    impossible = viewer.post(f"{V1}/policies/default/generate", json={"length": 4, "digits": 5})
    assert_error(impossible, 400, "invalid_input")
    assert_error(viewer.post(f"{V1}/policies/default/generate", json={"count": 0}), 422,
                 "invalid_request")  # fmt: skip
    assert_error(api.http.post(f"{V1}/policies/default/generate", json={}), 401,
                 "unauthenticated")  # fmt: skip
