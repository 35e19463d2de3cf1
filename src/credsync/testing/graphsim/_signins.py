"""The sign-in log: ``GET /auditLogs/signIns`` and ``/{id}``, fed by the federated sign-ins at
``login.srf`` (``_loginsrf``).

As https://learn.microsoft.com/en-us/graph/api/signin-list has it: application permission
AuditLog.Read.All (what Microsoft's permission map grants the route; see
``_permissions.ROUTES``); the tenant needs Entra ID P1/P2, 403
"Authentication_RequestFromNonPremiumTenantOrB2CTenant" otherwise
(https://learn.microsoft.com/en-us/graph/api/resources/azure-ad-auditlog-overview): the
simulator's ``tenant.premium``. Entries are newest first, ``$top`` (1-1000, default 1000),
``$filter`` on userPrincipalName, userId, appId, ipAddress, status/errorCode (eq) and
createdDateTime (ge, le...), joined by ``and``; retention 30 days (premium).

Each entry (https://learn.microsoft.com/en-us/graph/api/resources/signin): id, createdDateTime,
userDisplayName, userPrincipalName, userId, appId, appDisplayName, ipAddress, clientAppUsed
"Browser", correlationId, isInteractive true, resourceDisplayName, status {errorCode (0 on
success, else the AADSTS number), failureReason, additionalDetails}, and
authenticationRequirement / authenticationDetails naming the federated identity provider.
"""

from __future__ import annotations

import copy
import threading
import uuid
import weakref
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ._clock import iso
from ._errors import GraphError, bad_request, not_found
from ._graph import Ctx, Reply, Router, collection
from ._query import parse_filter, parse_top

if TYPE_CHECKING:
    from ._tenant import SimTenant

__all__ = ["PATH", "record_sign_in", "register", "sign_in_entries"]

PATH = "/auditLogs/signIns"
RETENTION_DAYS = 30
BROWSER_IP = "203.0.113.20"  # a documentation address: where the simulated user's browser sits
Entry = dict[str, Any]
_S = "Edm.String"
FILTERABLE = {
    "userPrincipalName": _S,
    "userId": _S,
    "appId": _S,
    "ipAddress": _S,
    "status/errorCode": "Edm.Int32",
    "createdDateTime": "Edm.DateTimeOffset",
}
_EQ = frozenset({"eq"})
OPERATORS = {
    "userPrincipalName": frozenset({"eq", "startswith"}),
    "userId": _EQ,
    "appId": _EQ,
    "ipAddress": _EQ,
    "status/errorCode": _EQ,
    "createdDateTime": frozenset({"eq", "ge", "le", "gt", "lt"}),
}

_logs: weakref.WeakKeyDictionary[SimTenant, list[Entry]] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def record_sign_in(
    tenant: SimTenant,
    user: dict[str, Any] | None,
    *,
    error: int = 0,
    reason: str = "",
    app: tuple[str, str] | None = None,
    idp: str = "",
    login: str | None = None,
) -> Entry:
    """Write one entry (``error`` 0: success) and return a copy."""
    stamp = tenant.clock.timestamp()
    app_id, app_name = app or ("00000002-0000-0ff1-ce00-000000000000", "Office 365 Exchange Online")
    entry: Entry = {
        "id": str(uuid.uuid4()),
        "createdDateTime": iso(datetime.fromtimestamp(stamp, UTC)),
        "userDisplayName": (user or {}).get("displayName"),
        "userPrincipalName": (user or {}).get("userPrincipalName") or login,
        "userId": (user or {}).get("id") or "",
        "appId": app_id,
        "appDisplayName": app_name,
        "ipAddress": BROWSER_IP,
        "clientAppUsed": "Browser",
        "correlationId": str(uuid.uuid4()),
        "conditionalAccessStatus": "notApplied",
        "isInteractive": True,
        "resourceDisplayName": "Windows Azure Active Directory",
        "resourceId": "00000002-0000-0000-c000-000000000000",
        "riskDetail": "none",
        "riskLevelAggregated": "none",
        "riskLevelDuringSignIn": "none",
        "riskState": "none",
        "riskEventTypes_v2": [],
        "status": {
            "errorCode": error,
            "failureReason": reason or ("Other." if error else None),
            "additionalDetails": f"Federated sign-in at {idp}" if idp else None,
        },
        "authenticationRequirement": "singleFactorAuthentication",
        "_stamp": stamp,
    }
    with _lock:
        _logs.setdefault(tenant, []).append(entry)
    return _public(entry)


def _public(entry: Entry) -> Entry:
    return copy.deepcopy({k: v for k, v in entry.items() if not k.startswith("_")})


def sign_in_entries(tenant: SimTenant) -> list[Entry]:
    """Every retained entry, oldest first (tests; whatever the tenant's licence)."""
    cutoff = tenant.clock.timestamp() - RETENTION_DAYS * 86400
    with _lock:
        entries = _logs.get(tenant, [])
        entries[:] = [e for e in entries if e["_stamp"] >= cutoff]
        return [_public(e) for e in entries]


def _premium(ctx: Ctx) -> None:
    if not ctx.tenant.premium:
        raise GraphError(
            403,
            "Authentication_RequestFromNonPremiumTenantOrB2CTenant",
            "Neither tenant is B2C or tenant doesn't have premium license",
        )


def _get(entry: Entry, name: str) -> Any:
    value: Any = entry
    for part in name.split("/"):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def list_sign_ins(ctx: Ctx) -> Reply:
    _premium(ctx)
    for refused in ("$skip", "$expand", "$search", "$count", "$orderby"):
        if refused in ctx.request.query:
            raise bad_request(f"Query option '{refused}' is not supported for signIns.")
    top = parse_top(ctx.option("$top"), 1000, 1000)
    found = parse_filter(ctx.option("$filter"), FILTERABLE, "signIn", operators=OPERATORS)
    entries = list(reversed(sign_in_entries(ctx.tenant)))
    if found is not None:
        entries = [e for e in entries if found(e, _get)]
    return collection(ctx, "auditLogs/signIns", entries[:top])


def get_sign_in(ctx: Ctx) -> Reply:
    _premium(ctx)
    key = ctx.params["id"].lower()
    for entry in sign_in_entries(ctx.tenant):
        if entry["id"] == key:
            body: Entry = {"@odata.context": ctx.context_url("auditLogs/signIns/$entity")}
            body.update(entry)
            return Reply(200, body)
    raise not_found(key)


def register(router: Router) -> None:
    router.add("GET", PATH, list_sign_ins)
    router.add("GET", PATH + "/{id}", get_sign_in)
