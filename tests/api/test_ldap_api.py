"""Plain LDAP through the REST API, against the session's real slapd: a directory of kind
ldap added with its own fields, tested, run in report and enforce mode; its settings changed
and refused with the field named."""

from __future__ import annotations

import pytest

from .conftest import ApiWorld, assert_error
from .test_directories_sync import V1, add_client, add_cred, run

pytestmark = pytest.mark.slapd


def test_an_ldap_directory_from_add_to_enforce(api: ApiWorld, ldap_ou) -> None:
    admin, facts = api.admin, ldap_ou.facts
    client = add_client(admin)
    bind = add_cred(
        admin, client, facts.bind_password, username=facts.bind_dn, type="directory_admin",
        sync_mode="off",
    )  # fmt: skip
    body = {
        "client": client,
        "name": "contoso-ldap",
        "kind": "ldap",
        "url": facts.ldaps_url,
        "base_dn": ldap_ou.dn,
        "password_policy_dn": facts.policy_dn,
        "bind_credential": bind["id"],
        "ca_pem": facts.ca_file.read_text(),
    }
    added = admin.post(f"{V1}/directories", json=body)
    assert added.status_code == 201, added.text
    shown = added.json()
    assert (shown["kind"], shown["base_dn"], shown["naming_attribute"]) == (
        "ldap",
        ldap_ou.dn,
        "uid",
    )
    assert shown["tenant_id"] is None  # another kind's setting
    tested = admin.post(f"{V1}/directories/contoso-ldap/test").json()
    assert tested["ok"] is True, tested
    assert facts.bind_password not in str(tested)

    user = ldap_ou.create_user()
    cred = add_cred(admin, client, "Vault-Side-Passw0rd-1!", username=user.name)
    report = run(admin, "contoso-ldap")
    assert report["state"] == "done", report
    items = admin.get(f"{V1}/runs/{report['id']}/items").json()["items"]
    assert [(i["status"], i["action"]) for i in items] == [("mismatch", "verify")]

    switched = admin.put(
        f"{V1}/credentials/{cred['id']}/sync-mode", json={"sync_mode": "enforce", "confirm": True}
    )
    assert switched.status_code == 200, switched.text
    pushed = run(admin, "contoso-ldap")
    items = admin.get(f"{V1}/runs/{pushed['id']}/items").json()["items"]
    assert [(i["status"], i["action"]) for i in items] == [("in_sync", "push")]
    assert ldap_ou.admin.bind_answer(user.dn, "Vault-Side-Passw0rd-1!")[0] == 0


def test_ldap_settings_are_checked_by_their_kind(api: ApiWorld, ldap_ou) -> None:
    admin, facts = api.admin, ldap_ou.facts
    client = add_client(admin)
    bind = add_cred(admin, client, facts.bind_password, username=facts.bind_dn,
                    type="directory_admin", sync_mode="off")  # fmt: skip
    base = {"client": client, "name": "x-ldap", "kind": "ldap", "url": facts.ldaps_url,
            "base_dn": ldap_ou.dn, "bind_credential": bind["id"]}  # fmt: skip
    cases = [
        ({"user_filter": "uid=*"}, "user_filter", "LDAP filter in parentheses"),
        ({"naming_attribute": "not an attribute"}, "naming_attribute", "not an LDAP attribute"),
        ({"base_dn": None}, "base_dn", "needs its base DN"),
        ({"tenant_id": "contoso.example"}, "tenant_id", "not a setting of LDAP directories"),
        ({"certificate_credential": bind["id"]}, "certificate_credential", "not how LDAP"),
    ]
    for changes, field, words in cases:
        refused = admin.post(f"{V1}/directories", json={**base, **changes})
        error = assert_error(refused, 400, "invalid_input")
        assert words in error["message"], (changes, error)
        assert error["details"][0]["field"] == field, (changes, error)
    assert admin.get(f"{V1}/directories", params={"client": client}).json() == []
