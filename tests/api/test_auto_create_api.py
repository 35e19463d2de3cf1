"""Auto-create over the API, against the real Samba DC: the settings read and changed, a
bad value answered 400 naming the field, the dry run listing what would be made, a kind that
can't select by scope refused, and the roles without directory.setup refused."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from .conftest import ApiWorld, assert_error
from .test_directories_sync import V1, add_client, add_cred


def add_ad(api: ApiWorld, ad_ou: Any) -> str:
    admin, facts = api.admin, ad_ou.facts
    client = add_client(admin)
    bind = add_cred(
        admin,
        client,
        facts.admin_password,
        username=facts.admin_netbios,
        type="directory_admin",
        sync_mode="off",
    )
    name = f"ad-{uuid.uuid4().hex[:6]}"
    added = admin.post(
        f"{V1}/directories",
        json={
            "client": client,
            "name": name,
            "kind": "active_directory",
            "url": "ldaps://127.0.0.1",
            "tls_server_name": facts.tls_server_name,
            "base_dn": ad_ou.dn,
            "bind_credential": bind["id"][:8],
            "ca_pem": facts.ca_file.read_text(),
        },
    )
    assert added.status_code == 201, added.text
    return name


@pytest.mark.samba
def test_auto_create_settings_and_dry_run(api: ApiWorld, ad_ou: Any) -> None:
    admin = api.admin
    name = add_ad(api, ad_ou)
    where = f"{V1}/directories/{name}/auto-create"
    fresh = admin.get(where).json()
    assert (fresh["enabled"], fresh["trigger"], fresh["version"]) == (False, "capture", 0)
    assert fresh["title"] == "{displayName} ({sAMAccountName})"

    group = ad_ou.admin.create_group(ad_ou.dn)
    nested = ad_ou.admin.create_group(ad_ou.dn)
    ad_ou.admin.add_member(group, nested)
    alice = ad_ou.create_user(display_name="Alice Example")
    ad_ou.create_user()  # in no group
    ad_ou.admin.add_member(nested, alice.dn)
    changed = admin.patch(
        where,
        json={
            "enabled": True,
            "groups": [group],
            "folder": "From AD",
            "trigger": "first_seen",
            "version": 0,
        },
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json()["groups"], changed.json()["version"]) == ([group], 1)
    stale = admin.patch(where, json={"max_per_run": 5, "version": 0})
    assert_error(stale, 409, "conflict")

    shown = admin.post(f"{where}/dry-run")
    assert shown.status_code == 200, shown.text
    preview = shown.json()
    assert (preview["count"], preview["over_limit"]) == (1, False)
    [row] = preview["would_create"]
    assert row == {
        "account_id": alice.guid,
        "account": alice.name,
        "upn": alice.upn,
        "enabled": True,
        "title": f"Alice Example ({alice.name})",
        "username": alice.name,
        "folder": "From AD",
    }
    assert ad_ou.facts.admin_password not in shown.text

    error = assert_error(admin.patch(where, json={"title": "{mail}"}), 400, "invalid_input")
    assert error["details"][0]["field"] == "title"
    assert "{mail}" in error["message"]
    error = assert_error(admin.patch(where, json={"max_per_run": 0}), 400, "invalid_input")
    assert error["details"][0]["field"] == "max_per_run"
    assert_error(admin.patch(where, json={"trigger": "often"}), 422, "invalid_request")

    viewer = api.as_role("viewer")
    assert viewer.get(where).status_code == 200
    assert_error(viewer.patch(where, json={"enabled": False}), 403, "forbidden")
    assert_error(viewer.post(f"{where}/dry-run"), 403, "forbidden")
    assert admin.get(where).json()["enabled"] is True
