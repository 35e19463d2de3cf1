"""Directory operations shared by the portal (the Python API) and Graph's handlers: they change
a tenant's store, keep its indexes, timestamps and licence counts right, and log each change
for delta. Callers hold the tenant's lock and have already decided the caller may do it."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from ._errors import GraphError, bad_request, not_found
from ._passwords import complies, hash_password

if TYPE_CHECKING:
    from ._tenant import SimTenant

__all__ = [
    "add_user",
    "check_immutable_id",
    "check_upn",
    "expire_deleted",
    "hard_delete",
    "restore",
    "set_password",
    "soft_delete",
    "update_user",
]

Record = dict[str, Any]

RETENTION = timedelta(days=30)
COMPLEXITY = (
    "The specified password does not comply with password complexity requirements. "
    "Please provide a different password."
)
DUPLICATE_UPN = "Another object with the same value for property userPrincipalName already exists."
# The same message shape for proxy addresses (as the group create's); restore answers it when a
# deleted user's address is a live object's, unless autoReconcileProxyConflict drops them:
# https://learn.microsoft.com/en-us/graph/api/directory-deleteditems-restore (request body).
DUPLICATE_PROXY = "Another object with the same value for property proxyAddresses already exists."
# Graph's duplicate-value message, as for userPrincipalName (the anchor is unique per tenant:
# https://learn.microsoft.com/en-us/entra/identity/hybrid/connect/plan-connect-design-concepts).
DUPLICATE_IMMUTABLE_ID = (
    "Another object with the same value for property onPremisesImmutableId already exists."
)


def check_upn(t: SimTenant, upn: Any, *, exclude: str | None = None) -> str:
    """A user principal name that may be given to a new (or the ``exclude``) user."""
    if not isinstance(upn, str) or upn.count("@") != 1 or not upn.split("@")[0]:
        raise bad_request(
            "Invalid value specified for property 'userPrincipalName' of resource 'User'."
        )
    domain = upn.split("@")[1].lower()
    if domain not in t.domain_names():
        raise bad_request(
            "The domain portion of the userPrincipalName property is invalid. You must use one "
            "of the verified domain names in your organization."
        )
    holder = t.store.upn_index.get(upn.lower())
    if holder is not None and holder != exclude:
        raise bad_request(DUPLICATE_UPN)
    return upn


def check_immutable_id(t: SimTenant, value: Any, *, exclude: str | None = None) -> None:
    """An ``onPremisesImmutableId`` no other user of the tenant (live or soft-deleted) holds.
    Compared exactly: it is base64, where case matters."""
    if value is None:
        return
    if not isinstance(value, str) or not value.strip():
        raise bad_request(
            "Invalid value specified for property 'onPremisesImmutableId' of resource 'User'."
        )
    users = t.store.users
    for record in [*users.lookup("onPremisesImmutableId", [value]), *users.deleted.values()]:
        if record["id"] != exclude and record.get("onPremisesImmutableId") == value:
            raise bad_request(DUPLICATE_IMMUTABLE_ID)


def _strong_rule(record: Record) -> bool:
    return "DisableStrongPassword" not in (record.get("passwordPolicies") or "")


def add_user(t: SimTenant, record: Record, password: str | None, role: str | None) -> Record:
    store = t.store
    now = t.clock.iso_now()
    record.setdefault("createdDateTime", now)
    if password is not None:
        if not complies(password, strong=_strong_rule(record)):
            raise bad_request(COMPLEXITY)
        store.password_hash[record["id"]] = hash_password(password)
        record["lastPasswordChangeDateTime"] = now
    store.users.add(record)
    store.upn_index[record["userPrincipalName"].lower()] = record["id"]
    if role:
        store.admin_role[record["id"]] = role
    store.touch_user(record["id"])
    return record


def set_password(
    t: SimTenant, record: Record, password: str, *, force: bool = False, mfa: bool = False
) -> None:
    if not isinstance(password, str) or not complies(password, strong=_strong_rule(record)):
        raise bad_request(COMPLEXITY)
    t.store.password_hash[record["id"]] = hash_password(password)
    record["lastPasswordChangeDateTime"] = t.clock.iso_now()
    record["passwordProfile"] = {
        "forceChangePasswordNextSignIn": force,
        "forceChangePasswordNextSignInWithMfa": mfa,
    }


def update_user(t: SimTenant, record: Record, changes: Record) -> None:
    """Apply already-validated property changes (no password) and log them."""
    upn = changes.get("userPrincipalName")
    if upn is not None and upn.lower() != record["userPrincipalName"].lower():
        check_upn(t, upn, exclude=record["id"])
        t.store.upn_index.pop(record["userPrincipalName"].lower(), None)
        t.store.upn_index[upn.lower()] = record["id"]
    record.update(changes)
    t.store.touch_user(record["id"])


def soft_delete(t: SimTenant, kind: str, object_id: str) -> None:
    store = t.store
    collection = store.users if kind == "user" else store.groups
    if object_id not in collection.live:
        raise not_found(object_id)
    record = collection.soft_delete(object_id)
    record["deletedDateTime"] = t.clock.iso_now()
    if kind == "user":
        store.upn_index.pop(record["userPrincipalName"].lower(), None)
        # Entra frees the name: a deleted user's UPN is its object id without dashes prefixed
        # to the old one (reference/capture-and-identity.md 4.2; msgraph-sdk-powershell#2256),
        # e.g. 0a1b...9fanna@contoso.com; a restore puts the old one (or a new one) back.
        store.deleted_upn[object_id] = record["userPrincipalName"]
        record["userPrincipalName"] = object_id.replace("-", "") + record["userPrincipalName"]
        _release_licences(t, record)
        store.touch_user(object_id)
    else:
        store.touch_group(object_id)


def _addresses(record: Record) -> set[str]:
    return {
        a.split(":", 1)[-1].lower()
        for a in record.get("proxyAddresses") or ()
        if isinstance(a, str)
    }


def _proxy_conflicts(t: SimTenant, record: Record) -> set[str]:
    """The deleted user's proxy addresses a live user or group holds (lower case)."""
    mine = _addresses(record)
    if not mine:
        return set()
    held: set[str] = set()
    for source in (t.store.users, t.store.groups):
        for other in source.live.values():
            held |= _addresses(other)
    return mine & held


def restore(
    t: SimTenant,
    object_id: str,
    *,
    new_upn: str | None = None,
    reconcile_proxies: bool = False,
) -> tuple[str, Record]:
    """Bring a soft-deleted object back. A user gets its old user principal name back, or
    ``new_upn``; the old one held by a live user is Graph's duplicate-UPN 400 (restore fails
    "unless newUserPrincipalName is given": entra-powershell#1484). A proxy address a live
    object holds is the duplicate-proxyAddresses 400, unless ``reconcile_proxies``
    (``autoReconcileProxyConflict``) removes those addresses from the restored user."""
    store = t.store
    if object_id in store.users.deleted:
        record = store.users.deleted[object_id]
        upn: str = store.deleted_upn.get(object_id) or record["userPrincipalName"]
        if new_upn is not None:
            upn = check_upn(t, new_upn)
        elif store.upn_index.get(upn.lower()) is not None:
            raise GraphError(400, "Request_BadRequest", DUPLICATE_UPN)
        conflicts = _proxy_conflicts(t, record)
        if conflicts and not reconcile_proxies:
            raise GraphError(400, "Request_BadRequest", DUPLICATE_PROXY)
        if conflicts:
            record["proxyAddresses"] = [
                a
                for a in record.get("proxyAddresses") or ()
                if a.split(":", 1)[-1].lower() not in conflicts
            ]
        if not _licences_available(t, record.get("assignedLicenses") or []):
            record["assignedLicenses"] = []
        store.users.restore(object_id)
        store.deleted_upn.pop(object_id, None)
        record["userPrincipalName"] = upn
        store.upn_index[upn.lower()] = object_id
        _take_licences(t, record.get("assignedLicenses") or [])
        store.touch_user(object_id)
        return "user", record
    if object_id in store.groups.deleted:
        record = store.groups.restore(object_id)
        store.touch_group(object_id)
        return "group", record
    raise not_found(object_id)


def hard_delete(t: SimTenant, object_id: str) -> str:
    """Gone for good, from live or deleted items; the kind of object it was."""
    store = t.store
    for kind, collection in (("user", store.users), ("group", store.groups)):
        record = collection.live.get(object_id) or collection.deleted.get(object_id)
        if record is None:
            continue
        if kind == "user":
            if object_id in collection.live:
                store.upn_index.pop(record["userPrincipalName"].lower(), None)
                _release_licences(t, record)
            store.password_hash.pop(object_id, None)
            store.deleted_upn.pop(object_id, None)
            store.admin_role.pop(object_id, None)
            collection.purge(object_id)
            store.drop_from_groups(object_id)
            store.touch_user(object_id)
        else:
            collection.purge(object_id)
            store.members.pop(object_id, None)
            store.touch_group(object_id)
        return kind
    raise not_found(object_id)


def expire_deleted(t: SimTenant) -> None:
    """Soft-deleted objects older than 30 days (simulator clock) are gone for good."""
    store = t.store
    if not store.users.deleted and not store.groups.deleted:
        return
    cutoff = t.clock.now() - RETENTION
    for source in (store.users, store.groups):
        for object_id, record in list(source.deleted.items()):
            if datetime.fromisoformat(record["deletedDateTime"].replace("Z", "+00:00")) < cutoff:
                hard_delete(t, object_id)


def _sku_counts(t: SimTenant) -> dict[str, Record]:
    return {sku["skuId"]: sku for sku in t.skus}


def _licences_available(t: SimTenant, licences: list[Record]) -> bool:
    skus = _sku_counts(t)
    for licence in licences:
        sku = skus.get(licence["skuId"])
        if sku is None or sku["consumedUnits"] >= sku["prepaidUnits"]["enabled"]:
            return False
    return True


def _take_licences(t: SimTenant, licences: list[Record]) -> None:
    skus = _sku_counts(t)
    for licence in licences:
        skus[licence["skuId"]]["consumedUnits"] += 1


def _release_licences(t: SimTenant, record: Record) -> None:
    skus = _sku_counts(t)
    for licence in record.get("assignedLicenses") or []:
        sku = skus.get(licence["skuId"])
        if sku is not None:
            sku["consumedUnits"] = max(0, sku["consumedUnits"] - 1)


def assign_licences(t: SimTenant, record: Record, add: list[Record], remove: list[str]) -> None:
    """``add``: validated [{skuId, disabledPlans}], ``remove``: sku ids."""
    if add and not record.get("usageLocation"):
        raise bad_request("License assignment cannot be done for user with invalid usage location.")
    skus = _sku_counts(t)
    current = {lic["skuId"]: lic for lic in record.get("assignedLicenses") or []}
    for sku_id in remove:
        if sku_id not in skus:
            raise bad_request(f"License {sku_id} does not correspond to a valid company License.")
    for licence in add:
        sku = skus.get(licence["skuId"])
        if sku is None:
            raise bad_request(
                f"License {licence['skuId']} does not correspond to a valid company License."
            )
        if licence["skuId"] not in current and (
            sku["consumedUnits"] >= sku["prepaidUnits"]["enabled"]
        ):
            raise bad_request(
                f"Subscription {licence['skuId']} does not have any available licenses."
            )
    for sku_id in remove:
        if current.pop(sku_id, None) is not None:
            skus[sku_id]["consumedUnits"] = max(0, skus[sku_id]["consumedUnits"] - 1)
    for licence in add:
        if licence["skuId"] not in current:
            skus[licence["skuId"]]["consumedUnits"] += 1
        current[licence["skuId"]] = licence
    record["assignedLicenses"] = list(current.values())
    t.store.touch_user(record["id"])
