"""A soft-deleted user's user principal name and the body of restore (issue 16, "Check deleted
objects"), as Microsoft documents them:

- a deleted user's UPN is its object id without dashes prefixed to the old one
  (reference/capture-and-identity.md 4.2, msgraph-sdk-powershell#2256);
- ``POST /directory/deletedItems/{id}/restore`` takes ``newUserPrincipalName`` and
  ``autoReconcileProxyConflict`` (https://learn.microsoft.com/en-us/graph/api/
  directory-deleteditems-restore); a taken UPN fails the restore unless a new one is given
  (entra-powershell#1484), with the duplicate-value error create answers.
"""

from __future__ import annotations

from .conftest import Graph, error_of

DUPLICATE_UPN = "Another object with the same value for property userPrincipalName already exists."


def test_a_deleted_users_upn_is_prefixed_with_its_id(graph: Graph, tenant) -> None:
    user = tenant.create_user()
    assert graph.delete(f"/users/{user.id}").status_code == 204
    listed = graph.get(
        "/directory/deletedItems/microsoft.graph.user",
        params={"$select": "id,userPrincipalName"},
    ).json()["value"]
    assert listed == [{"id": user.id, "userPrincipalName": user.id.replace("-", "") + user.upn}]
    one = graph.get(f"/directory/deletedItems/{user.id}").json()
    assert one["userPrincipalName"] == user.id.replace("-", "") + user.upn
    # the old name is free: a new user may take it
    assert tenant.create_user(upn=user.upn).upn == user.upn


def test_restore_puts_the_old_upn_back(graph: Graph, tenant) -> None:
    user = tenant.create_user()
    tenant.soft_delete(user.id)
    restored = graph.post(f"/directory/deletedItems/{user.id}/restore")
    assert restored.status_code == 200
    assert restored.json()["userPrincipalName"] == user.upn
    assert graph.get(f"/users/{user.upn}").json()["id"] == user.id


def test_restore_with_a_taken_upn_fails_unless_a_new_one_is_given(graph: Graph, tenant) -> None:
    user = tenant.create_user()
    tenant.soft_delete(user.id)
    other = tenant.create_user(upn=user.upn)
    refused = graph.post(f"/directory/deletedItems/{user.id}/restore", json={})
    assert refused.status_code == 400
    assert error_of(refused)["code"] == "Request_BadRequest"
    assert error_of(refused)["message"] == DUPLICATE_UPN
    assert graph.get(f"/directory/deletedItems/{user.id}").status_code == 200  # still deleted
    new = "restored." + user.upn
    done = graph.post(
        f"/directory/deletedItems/{user.id}/restore", json={"newUserPrincipalName": new}
    )
    assert done.status_code == 200
    assert done.json()["userPrincipalName"] == new
    assert graph.get(f"/users/{new}").json()["id"] == user.id
    assert graph.get(f"/users/{user.upn}").json()["id"] == other.id


def test_a_new_upn_is_checked_as_on_create(graph: Graph, tenant) -> None:
    user = tenant.create_user()
    taken = tenant.create_user()
    tenant.soft_delete(user.id)
    for bad, words in (
        (taken.upn, DUPLICATE_UPN),
        ("anna@not-ours.example", "verified domain"),
        ("no-at-sign", "userPrincipalName"),
    ):
        answer = graph.post(
            f"/directory/deletedItems/{user.id}/restore", json={"newUserPrincipalName": bad}
        )
        assert answer.status_code == 400, bad
        assert words in error_of(answer)["message"]
    odd = graph.post(f"/directory/deletedItems/{user.id}/restore", json={"upn": "x"})
    assert odd.status_code == 400
    assert "upn" in error_of(odd)["message"]


def test_proxy_conflicts_fail_unless_reconciled(graph: Graph, tenant) -> None:
    user = tenant.create_user()
    address = "SMTP:" + user.upn
    tenant.update_user(user.id, proxyAddresses=[address, "smtp:keep." + user.upn])
    tenant.soft_delete(user.id)
    holder = tenant.create_user(upn="holder." + user.upn)
    tenant.update_user(holder.id, proxyAddresses=["smtp:" + user.upn.upper()])
    refused = graph.post(f"/directory/deletedItems/{user.id}/restore")
    assert refused.status_code == 400
    assert "proxyAddresses" in error_of(refused)["message"]
    done = graph.post(
        f"/directory/deletedItems/{user.id}/restore",
        json={"autoReconcileProxyConflict": True},
    )
    assert done.status_code == 200
    assert tenant.get_user(user.id)["proxyAddresses"] == ["smtp:keep." + user.upn]
    assert tenant.get_user(user.id)["userPrincipalName"] == user.upn
