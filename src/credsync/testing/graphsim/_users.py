"""Graph's /users: list, $count, get by id or UPN, create, PATCH (passwordProfile with Entra's
complexity rule and the reset rules of directory roles, passwordPolicies, accountEnabled,
usageLocation...), DELETE (soft) and assignLicense.

Users synced from on-premises AD (onPremisesSyncEnabled) accept only usageLocation; anything
else, passwords included, is refused as Graph refuses it. A user of a federated domain takes no
password (its identity provider checks it) and is created only with an onPremisesImmutableId,
which is unique in the tenant.
"""

from __future__ import annotations

import re
from typing import Any

from . import _audits, _ops
from ._errors import GraphError, bad_request, not_found
from ._graph import Ctx, Reply, Router, denied
from ._listing import Listing, check_body, check_types, count_only, list_page, single
from ._model import (
    USER_DEFAULT,
    USER_DEFAULTS,
    USER_FILTERABLE,
    USER_PROPERTIES,
    USER_READ_ONLY,
    project,
)
from ._passwords import complies
from ._permissions import may_reset, may_write_property
from ._seed import guid

__all__ = ["FEDERATED", "ON_PREMISES", "PROFILE_KEYS", "USERS", "register"]

USERS = Listing(
    name="users",
    type_name="microsoft.graph.user",
    resource="User",
    properties=USER_PROPERTIES,
    defaults=USER_DEFAULTS,
    default_select=USER_DEFAULT,
    filterable=USER_FILTERABLE,
    searchable=("displayName", "givenName", "surname", "mail", "userPrincipalName", "mailNickname"),
    sortable=("displayName", "userPrincipalName"),
    # what a sync client matches one user by (the relay: anchor, name, mail)
    indexed=frozenset({"onPremisesImmutableId", "userPrincipalName", "mail"}),
)
POLICIES = frozenset({"DisablePasswordExpiration", "DisableStrongPassword", "None"})
PROFILE_KEYS = frozenset(
    {"password", "forceChangePasswordNextSignIn", "forceChangePasswordNextSignInWithMfa"}
)
ON_PREMISES = (
    "Unable to update the specified properties for on-premises mastered Directory Sync objects "
    "or objects currently undergoing migration."
)
FEDERATED = (
    "Password of a user in a federated domain cannot be set: it belongs to the domain's "
    "identity provider."
)
_CLOUD_ONLY_WRITABLE = frozenset({"usageLocation"})
_REQUIRED = (
    "accountEnabled",
    "displayName",
    "mailNickname",
    "userPrincipalName",
    "passwordProfile",
)


def _invalid(name: str) -> GraphError:
    return bad_request(f"Invalid value specified for property '{name}' of resource 'User'.")


def _user(ctx: Ctx) -> dict[str, Any]:
    key = ctx.params["id"]
    record = ctx.tenant.store.user(key)
    if record is None:
        raise not_found(key)
    return record


def list_users(ctx: Ctx) -> Reply:
    return list_page(ctx, USERS, ctx.tenant.store.users, path="/users", fragment="users")


def count_users(ctx: Ctx) -> Reply:
    return count_only(ctx, USERS, ctx.tenant.store.users)


def get_user(ctx: Ctx) -> Reply:
    return single(ctx, USERS, _user(ctx), "users")


def _check_values(body: dict[str, Any]) -> None:
    check_types(body, USERS)
    if "passwordPolicies" in body:
        value = body["passwordPolicies"]
        parts = [p.strip() for p in value.split(",")] if isinstance(value, str) else []
        if value is not None and (not parts or not set(parts) <= POLICIES):
            raise _invalid("passwordPolicies")
    if "usageLocation" in body:
        value = body["usageLocation"]
        if value is not None and not re.fullmatch(r"[A-Za-z]{2}", value):
            raise _invalid("usageLocation")
    if "displayName" in body and not body["displayName"]:
        raise _invalid("displayName")
    if "mailNickname" in body and (
        not body["mailNickname"] or re.search(r"[\s@()<>\[\]\\,;:\"]", body["mailNickname"])
    ):
        raise _invalid("mailNickname")
    if "passwordProfile" in body:
        profile = body["passwordProfile"]
        if not isinstance(profile, dict) or not set(profile) <= PROFILE_KEYS:
            raise _invalid("passwordProfile")
        for flag in ("forceChangePasswordNextSignIn", "forceChangePasswordNextSignInWithMfa"):
            if flag in profile and not isinstance(profile[flag], bool):
                raise _invalid("passwordProfile")


def _strong(policies: Any) -> bool:
    return "DisableStrongPassword" not in (policies or "")


def create_user(ctx: Ctx) -> Reply:
    body = ctx.json()
    check_body(body, USERS, USER_READ_ONLY)
    for name in _REQUIRED:
        if body.get(name) is None:
            raise _invalid(name)
    _check_values(body)
    profile = body["passwordProfile"]
    password = profile.get("password")
    if not isinstance(password, str):
        raise _invalid("passwordProfile")
    tenant = ctx.tenant
    upn = _ops.check_upn(tenant, body["userPrincipalName"])
    # https://learn.microsoft.com/en-us/graph/api/user-post-users: onPremisesImmutableId "must
    # be specified ... if you're using a federated domain for the user's userPrincipalName";
    # without it Graph answers "One or more properties contains invalid values." (observed:
    # microsoftgraph/dotnetcore-console-sample#46).
    if tenant.federated(upn) and not body.get("onPremisesImmutableId"):
        raise bad_request("One or more properties contains invalid values.")
    _ops.check_immutable_id(tenant, body.get("onPremisesImmutableId"))
    if not complies(password, strong=_strong(body.get("passwordPolicies"))):
        raise bad_request(_ops.COMPLEXITY)
    record = {k: v for k, v in body.items() if not k.startswith("@odata.")}
    record.update(
        id=guid(tenant.rng),
        userPrincipalName=upn,
        userType=body.get("userType") or "Member",
        passwordProfile={
            "forceChangePasswordNextSignIn": bool(profile.get("forceChangePasswordNextSignIn")),
            "forceChangePasswordNextSignInWithMfa": bool(
                profile.get("forceChangePasswordNextSignInWithMfa")
            ),
        },
    )
    if record.get("usageLocation"):
        record["usageLocation"] = record["usageLocation"].upper()
    _ops.add_user(tenant, record, password, None)
    out: dict[str, Any] = {"@odata.context": ctx.context_url("users/$entity")}
    out.update(project(record, USER_DEFAULT, USER_DEFAULTS))
    return Reply(201, out, {"Location": f"{ctx.base}/v1.0/users/{record['id']}"})


def patch_user(ctx: Ctx) -> Reply:
    record = _user(ctx)
    body = {k: v for k, v in ctx.json().items() if not k.startswith("@odata.")}
    check_body(body, USERS, USER_READ_ONLY)
    tenant, app = ctx.tenant, ctx.app
    for name in body:
        if not may_write_property(name, ctx.roles):
            raise denied()
    profile = body.get("passwordProfile")
    if profile is not None:
        target_role = tenant.store.admin_role.get(record["id"])
        if not may_reset(app.directory_role, target_role):
            raise denied()
    if record.get("onPremisesSyncEnabled") and set(body) - _CLOUD_ONLY_WRITABLE:
        raise bad_request(ON_PREMISES)
    _check_values(body)
    password = None
    if isinstance(profile, dict):
        password = profile.get("password")
        if password is not None:
            # https://learn.microsoft.com/en-us/graph/api/user-update: passwordProfile "cannot
            # be used for federated users". Graph's exact words are not documented; the code is
            # its usual Request_BadRequest (see FEDERATED).
            if tenant.federated(record["userPrincipalName"]):
                raise bad_request(FEDERATED)
            policies = body.get("passwordPolicies", record.get("passwordPolicies"))
            if not isinstance(password, str) or not complies(password, strong=_strong(policies)):
                _audits.record_app_reset(tenant, app, record, failure=_ops.COMPLEXITY)
                raise bad_request(_ops.COMPLEXITY)
    changes = {k: v for k, v in body.items() if k != "passwordProfile"}
    if changes.get("usageLocation"):
        changes["usageLocation"] = changes["usageLocation"].upper()
    if "userPrincipalName" in changes:
        _ops.check_upn(tenant, changes["userPrincipalName"], exclude=record["id"])
    if "onPremisesImmutableId" in changes:
        _ops.check_immutable_id(tenant, changes["onPremisesImmutableId"], exclude=record["id"])
    if isinstance(profile, dict):
        force = profile.get(
            "forceChangePasswordNextSignIn",
            bool((record.get("passwordProfile") or {}).get("forceChangePasswordNextSignIn")),
        )
        mfa = bool(profile.get("forceChangePasswordNextSignInWithMfa", False))
        record["passwordPolicies"] = changes.pop("passwordPolicies", record.get("passwordPolicies"))
        if password is not None:
            _ops.set_password(tenant, record, password, force=bool(force), mfa=mfa)
            tenant.stats_add("password_writes")
            tenant.password_log.record(record["id"], password)
            _audits.record_app_reset(tenant, app, record)
        else:
            record["passwordProfile"] = {
                "forceChangePasswordNextSignIn": bool(force),
                "forceChangePasswordNextSignInWithMfa": mfa,
            }
    _ops.update_user(tenant, record, changes)
    return Reply(204)


def delete_user(ctx: Ctx) -> Reply:
    record = _user(ctx)
    _ops.soft_delete(ctx.tenant, "user", record["id"])
    return Reply(204)


def _guid(value: Any, name: str) -> str:
    if not isinstance(value, str) or not re.fullmatch(
        r"[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}", value
    ):
        raise _invalid(name)
    return value.lower()


def assign_license(ctx: Ctx) -> Reply:
    record = _user(ctx)
    body = ctx.json()
    add, remove = body.get("addLicenses"), body.get("removeLicenses")
    if not isinstance(add, list):
        raise _invalid("addLicenses")
    if not isinstance(remove, list):
        raise _invalid("removeLicenses")
    licences = []
    for item in add:
        if not isinstance(item, dict) or not set(item) <= {"skuId", "disabledPlans"}:
            raise _invalid("addLicenses")
        plans = item.get("disabledPlans") or []
        if not isinstance(plans, list):
            raise _invalid("disabledPlans")
        licences.append(
            {
                "disabledPlans": [_guid(p, "disabledPlans") for p in plans],
                "skuId": _guid(item.get("skuId"), "skuId"),
            }
        )
    _ops.assign_licences(ctx.tenant, record, licences, [_guid(r, "removeLicenses") for r in remove])
    out: dict[str, Any] = {"@odata.context": ctx.context_url("users/$entity")}
    out.update(project(record, USER_DEFAULT, USER_DEFAULTS))
    return Reply(200, out)


def register(router: Router) -> None:
    router.add("GET", "/users", list_users)
    router.add("GET", "/users/$count", count_users)
    router.add("POST", "/users", create_user)
    router.add("GET", "/users/{id}", get_user)
    router.add("PATCH", "/users/{id}", patch_user)
    router.add("DELETE", "/users/{id}", delete_user)
    router.add("POST", "/users/{id}/assignLicense", assign_license)
