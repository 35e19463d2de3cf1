"""A client's rotation interval and its overdue credentials through the API: the field on
create, patch and answers, its errors naming the field, who may set it, and
``?overdue=true`` on a client's credentials."""

from __future__ import annotations

from vault.helpers import age_password, audit_of

from .conftest import ApiWorld, assert_error

V1 = "/api/v1"


def _cred(api: ApiWorld, title: str, **extra: object) -> str:
    body = {"title": title, "password": "Pa55-word-1!", **extra}
    answer = api.admin.post(f"{V1}/clients/Contoso/credentials", json=body)
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


def test_the_interval_on_create_patch_and_answers(api_both: ApiWorld) -> None:
    api, http = api_both, api_both.admin
    added = http.post(f"{V1}/clients", json={"name": "Contoso", "rotate_every_days": 90})
    assert added.status_code == 201, added.text
    assert added.json()["rotate_every_days"] == 90
    assert added.json()["overdue_count"] == 0
    plain = http.post(f"{V1}/clients", json={"name": "Fabrikam"}).json()
    assert plain["rotate_every_days"] is None

    changed = http.patch(f"{V1}/clients/Fabrikam", json={"rotate_every_days": 30, "version": 1})
    assert changed.status_code == 200, changed.text
    assert changed.json()["rotate_every_days"] == 30
    untouched = http.patch(f"{V1}/clients/Fabrikam", json={"name": "Fabrikam Ltd"}).json()
    assert untouched["rotate_every_days"] == 30  # left out: unchanged
    cleared = http.patch(f"{V1}/clients/Fabrikam Ltd", json={"rotate_every_days": None}).json()
    assert cleared["rotate_every_days"] is None
    http.patch(f"{V1}/clients/Fabrikam Ltd", json={"rotate_every_days": 7})
    zero = http.patch(f"{V1}/clients/Fabrikam Ltd", json={"rotate_every_days": 0}).json()
    assert zero["rotate_every_days"] is None
    [listed] = [c for c in http.get(f"{V1}/clients").json() if c["name"] == "Contoso"]
    assert listed["rotate_every_days"] == 90
    assert [e.details["rotate_every_days"] for e in audit_of(api.world, "client.rotation")] == [
        None,
        7,
        None,
        30,
    ]
    stale = http.patch(f"{V1}/clients/Contoso", json={"rotate_every_days": 5, "version": 9})
    assert_error(stale, 409, "stale_version")


def test_a_bad_interval_is_refused_naming_the_field(api: ApiWorld) -> None:
    http = api.admin
    http.post(f"{V1}/clients", json={"name": "Contoso"})
    for bad in (-1, 3651, "ninety", 1.5):
        answer = http.patch(f"{V1}/clients/Contoso", json={"rotate_every_days": bad})
        error = assert_error(answer, 422, "invalid_request")  # the model's limits (0-3650)
        assert [d["field"] for d in error["details"]] == ["body.rotate_every_days"], error
        refused = http.post(f"{V1}/clients", json={"name": "New", "rotate_every_days": bad})
        assert_error(refused, 422, "invalid_request")
    assert http.get(f"{V1}/clients/Contoso").json()["rotate_every_days"] is None
    assert [c["name"] for c in http.get(f"{V1}/clients").json()] == ["Contoso"]


def test_only_writers_may_set_the_interval(api: ApiWorld) -> None:
    api.admin.post(f"{V1}/clients", json={"name": "Contoso"})
    for role in ("viewer", "auditor"):
        answer = api.as_role(role).patch(f"{V1}/clients/Contoso", json={"rotate_every_days": 9})
        assert_error(answer, 403, "forbidden")
        added = api.as_role(role).post(
            f"{V1}/clients", json={"name": f"By {role}", "rotate_every_days": 9}
        )
        assert_error(added, 403, "forbidden")
    assert api.admin.get(f"{V1}/clients/Contoso").json()["rotate_every_days"] is None
    assert audit_of(api.world, "client.rotation") == []
    done = api.as_role("technician").patch(f"{V1}/clients/Contoso", json={"rotate_every_days": 9})
    assert done.status_code == 200, done.text
    assert done.json()["rotate_every_days"] == 9


def test_the_overdue_filter_and_count(api: ApiWorld) -> None:
    http = api.admin
    http.post(f"{V1}/clients", json={"name": "Contoso", "rotate_every_days": 30})
    old = _cred(api, "old")
    fresh = _cred(api, "fresh")
    bind = _cred(api, "bind", type="directory_admin")
    age_password(api.world.db, old, 45)
    age_password(api.world.db, bind, 400)
    age_password(api.world.db, fresh, 10)

    page = http.get(f"{V1}/clients/Contoso/credentials", params={"overdue": True}).json()
    assert [c["title"] for c in page["items"]] == ["bind", "old"]
    assert page["next_cursor"] is None
    paged = http.get(f"{V1}/clients/Contoso/credentials", params={"overdue": True, "limit": 1})
    assert [c["title"] for c in paged.json()["items"]] == ["bind"]
    following = http.get(
        f"{V1}/clients/Contoso/credentials",
        params={"overdue": True, "limit": 1, "cursor": paged.json()["next_cursor"]},
    ).json()
    assert [c["title"] for c in following["items"]] == ["old"]
    assert http.get(f"{V1}/clients/Contoso").json()["overdue_count"] == 2

    # a reader without directory_admin.use neither lists nor counts the bind credential
    viewer = api.as_role("viewer")
    seen = viewer.get(f"{V1}/clients/Contoso/credentials", params={"overdue": "true"}).json()
    assert [c["title"] for c in seen["items"]] == ["old"]
    assert viewer.get(f"{V1}/clients/Contoso").json()["overdue_count"] == 1
    every = http.get(f"{V1}/clients/Contoso/credentials").json()
    assert len(every["items"]) == 3
