"""The Graph properties the simulator keeps, with their Edm types (each exists on the entity type
in Graph's v1.0 schema: a test checks), which are writable, which Graph returns without
``$select``, and how a stored object becomes its JSON."""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = [
    "GROUP_DEFAULT",
    "GROUP_PROPERTIES",
    "GROUP_READ_ONLY",
    "USER_DEFAULT",
    "USER_FILTERABLE",
    "USER_PROPERTIES",
    "USER_READ_ONLY",
    "full_copy",
    "project",
]

STRING, BOOL, DATETIME, STRINGS = "Edm.String", "Edm.Boolean", "Edm.DateTimeOffset", "strings"
LICENSES, PASSWORD_PROFILE = "Collection(microsoft.graph.assignedLicense)", "passwordProfile"

USER_PROPERTIES: dict[str, str] = {
    "id": STRING,
    "userPrincipalName": STRING,
    "displayName": STRING,
    "givenName": STRING,
    "surname": STRING,
    "mail": STRING,
    "mailNickname": STRING,
    "accountEnabled": BOOL,
    "usageLocation": STRING,
    "passwordPolicies": STRING,
    "passwordProfile": PASSWORD_PROFILE,
    "lastPasswordChangeDateTime": DATETIME,
    "createdDateTime": DATETIME,
    "deletedDateTime": DATETIME,
    "onPremisesSyncEnabled": BOOL,
    "onPremisesSamAccountName": STRING,
    "onPremisesDomainName": STRING,
    "onPremisesImmutableId": STRING,
    "onPremisesUserPrincipalName": STRING,
    "onPremisesLastSyncDateTime": DATETIME,
    "userType": STRING,
    "jobTitle": STRING,
    "department": STRING,
    "companyName": STRING,
    "employeeId": STRING,
    "officeLocation": STRING,
    "city": STRING,
    "country": STRING,
    "state": STRING,
    "streetAddress": STRING,
    "postalCode": STRING,
    "mobilePhone": STRING,
    "preferredLanguage": STRING,
    "businessPhones": STRINGS,
    "otherMails": STRINGS,
    "proxyAddresses": STRINGS,
    "assignedLicenses": LICENSES,
}
USER_READ_ONLY = frozenset(
    {
        "id",
        "lastPasswordChangeDateTime",
        "createdDateTime",
        "deletedDateTime",
        "onPremisesSyncEnabled",
        "onPremisesSamAccountName",
        "onPremisesDomainName",
        "onPremisesUserPrincipalName",
        "onPremisesLastSyncDateTime",
        "proxyAddresses",
        "assignedLicenses",
    }
)
# What GET /users returns without $select (as Graph v1.0).
USER_DEFAULT = (
    "businessPhones",
    "displayName",
    "givenName",
    "jobTitle",
    "mail",
    "mobilePhone",
    "officeLocation",
    "preferredLanguage",
    "surname",
    "userPrincipalName",
    "id",
)
# https://learn.microsoft.com/en-us/graph/api/resources/user: onPremisesImmutableId "Supports
# $filter (eq, ne, not, ge, le, in)", onPremisesSyncEnabled "(eq, ne, not, in, and eq on null
# values)"; both are "returned only on $select" (not in USER_DEFAULT).
USER_FILTERABLE: dict[str, str] = {
    name: USER_PROPERTIES[name]
    for name in (
        "id",
        "userPrincipalName",
        "displayName",
        "givenName",
        "surname",
        "mail",
        "mailNickname",
        "accountEnabled",
        "onPremisesSyncEnabled",
        "onPremisesImmutableId",
        "userType",
        "usageLocation",
        "jobTitle",
        "department",
        "employeeId",
        "createdDateTime",
        "onPremisesSamAccountName",
    )
}

GROUP_PROPERTIES: dict[str, str] = {
    "id": STRING,
    "displayName": STRING,
    "description": STRING,
    "mail": STRING,
    "mailEnabled": BOOL,
    "mailNickname": STRING,
    "securityEnabled": BOOL,
    "groupTypes": STRINGS,
    "visibility": STRING,
    "classification": STRING,
    "membershipRule": STRING,
    "isAssignableToRole": BOOL,
    "createdDateTime": DATETIME,
    "renewedDateTime": DATETIME,
    "deletedDateTime": DATETIME,
    "onPremisesSyncEnabled": BOOL,
    "onPremisesSamAccountName": STRING,
    "onPremisesDomainName": STRING,
    "onPremisesSecurityIdentifier": STRING,
    "onPremisesLastSyncDateTime": DATETIME,
    "proxyAddresses": STRINGS,
    "securityIdentifier": STRING,
}
GROUP_READ_ONLY = frozenset(
    {
        "id",
        "createdDateTime",
        "renewedDateTime",
        "deletedDateTime",
        "onPremisesSyncEnabled",
        "onPremisesSamAccountName",
        "onPremisesDomainName",
        "onPremisesSecurityIdentifier",
        "onPremisesLastSyncDateTime",
        "proxyAddresses",
        "securityIdentifier",
        "mail",
    }
)
GROUP_DEFAULT = tuple(GROUP_PROPERTIES)

_EMPTY_LIST: list[Any] = []
_COLLECTIONS = frozenset({STRINGS, LICENSES})


def _default(kind: str) -> Any:
    return _EMPTY_LIST if kind in _COLLECTIONS else None


USER_DEFAULTS = {name: _default(kind) for name, kind in USER_PROPERTIES.items()}
USER_DEFAULTS["passwordProfile"] = None
GROUP_DEFAULTS = {name: _default(kind) for name, kind in GROUP_PROPERTIES.items()}


def _password_profile(stored: Mapping[str, Any]) -> dict[str, Any]:
    force = stored.get("passwordProfile") or {}
    return {
        "password": None,
        "forceChangePasswordNextSignIn": bool(force.get("forceChangePasswordNextSignIn")),
        "forceChangePasswordNextSignInWithMfa": bool(
            force.get("forceChangePasswordNextSignInWithMfa")
        ),
    }


def project(
    stored: Mapping[str, Any], names: Sequence[str], defaults: Mapping[str, Any]
) -> dict[str, Any]:
    """The JSON object of ``stored`` with ``names`` (shared values: serialise, don't mutate)."""
    out = {name: stored.get(name, defaults[name]) for name in names}
    if "passwordProfile" in out:
        out["passwordProfile"] = _password_profile(stored)
    return out


def full_copy(stored: Mapping[str, Any], defaults: Mapping[str, Any]) -> dict[str, Any]:
    """Every kept property, deep-copied (the portal's view of an object)."""
    return copy.deepcopy(project(stored, list(defaults), defaults))
