"""POST /api/v1/people/import/search and /sync (issue 16) on an Active Directory (this test's
own OU of the real Samba DC): an admin and a directory manager preview and sync a group with
its nested members, a second sync is all unchanged; a bad LDAP filter is a 400 naming
``query``; a viewer and a technician are refused 403, an operator without the client 404."""

from __future__ import annotations

from typing import Any

import pytest

from credsync.testing.samba import OuWorld
from credsync.types import Secret
from sync.helpers import SyncWorld, build_sync_world

from .conftest import ApiWorld, assert_error

pytestmark = pytest.mark.samba

SEARCH, SYNC = "/api/v1/people/import/search", "/api/v1/people/import/sync"


@pytest.fixture
def ad_import(api: ApiWorld, ad_ou: OuWorld) -> tuple[ApiWorld, SyncWorld, dict[str, str]]:
    """A client with an AD directory whose OU has Ada, Bob (in Inner) and Research (Ada and
    the nested group Inner); Fabrikam, a client of its own."""
    sw = build_sync_world(api.world, ad_ou)
    api.world.vault.clients.add(api.world.admin, api.world.keys, "Fabrikam")
    ada = ad_ou.create_user(display_name="Ada Lovelace")
    bob = ad_ou.create_user(display_name="Bob Baker")
    inner = ad_ou.admin.create_group(ad_ou.dn, "Inner")
    ad_ou.admin.add_member(inner, bob.dn)
    research = ad_ou.admin.create_group(ad_ou.dn, "Research")
    ad_ou.admin.add_member(research, ada.dn)
    ad_ou.admin.add_member(research, inner)
    ids = {
        "ada": ada.guid, "bob": bob.guid,
        "inner": ad_ou.admin.guid(inner), "research": ad_ou.admin.guid(research),
    }  # fmt: skip
    return api, sw, ids


def _body(sw: SyncWorld, **more: Any) -> dict[str, Any]:
    return {"client": sw.client, "directory": sw.directory, **more}


def _kept(api: ApiWorld, sw: SyncWorld) -> tuple[int, int]:
    world = api.world
    people, _ = world.vault.people.list(world.admin, sw.client)
    groups, _ = world.vault.groups.list(world.admin, sw.client)
    return len(people), len(groups)


@pytest.mark.parametrize("role", ["admin", "directory_manager"])
def test_preview_and_sync_with_nested_members_then_all_unchanged(ad_import: Any, role: str) -> None:
    api, sw, ids = ad_import
    http = api.as_role(role)
    preview = http.post(SEARCH, json=_body(sw, query="", groups=True))
    assert preview.status_code == 200, preview.text
    found = preview.json()
    assert {p["object_id"] for p in found["people"]} == {ids["ada"], ids["bob"]}
    assert {g["object_id"] for g in found["groups"]} == {ids["inner"], ids["research"]}
    words = http.post(SEARCH, json=_body(sw, query="lovelace")).json()
    assert [p["object_id"] for p in words["people"]] == [ids["ada"]]
    done = http.post(SYNC, json=_body(sw, ids=[ids["research"]], members=True))
    assert done.status_code == 200, done.text
    report = done.json()
    assert report["totals"]["created"] == 4, report
    assert report["members_added"] == 3
    audit = api.world.vault.audit.list(api.world.admin, limit=1)[0].seq
    again = http.post(SYNC, json=_body(sw, ids=[ids["research"]], members=True)).json()
    assert again["totals"]["unchanged"] == 4, again
    assert api.world.vault.audit.list(api.world.admin, limit=1)[0].seq == audit  # no write


def test_a_bad_filter_is_a_400_naming_query(ad_import: Any) -> None:
    api, sw, _ = ad_import
    for url, body in (
        (SEARCH, _body(sw, query="(cn=Ada")),
        (SYNC, _body(sw, query="(&(cn=Ada)")),
    ):
        error = assert_error(api.admin.post(url, json=body), 400, "invalid_input")
        assert [d["field"] for d in error["details"]] == ["query"], error


@pytest.mark.parametrize("role", ["viewer", "technician"])
def test_a_role_without_directory_setup_is_refused(ad_import: Any, role: str) -> None:
    api, sw, ids = ad_import
    http = api.as_role(role)
    assert_error(http.post(SEARCH, json=_body(sw, query="ada")), 403, "forbidden")
    assert_error(http.post(SYNC, json=_body(sw, ids=[ids["ada"]])), 403, "forbidden")
    assert _kept(api, sw) == (0, 0)


def test_an_operator_without_the_client_is_not_told_it_exists(ad_import: Any) -> None:
    api, sw, ids = ad_import
    world = api.world
    name, password = "scoped-dm", Secret("scoped-dm-password-1234")
    world.vault.operators.add(world.admin, name, password, "directory_manager", ["Fabrikam"])
    actor = world.vault.access.login_password(name, password)
    token = world.vault.access.create_token(actor, "scoped")[1].reveal()
    http = api.http.__class__(api.http.app, raise_server_exceptions=False)
    http.headers["Authorization"] = f"Bearer {token}"
    assert_error(http.post(SEARCH, json=_body(sw, query="ada")), 404, "not_found")
    assert_error(http.post(SYNC, json=_body(sw, ids=[ids["ada"]])), 404, "not_found")
    assert _kept(api, sw) == (0, 0)
