"""The directory audit log: ``GET /auditLogs/directoryAudits`` and ``/{id}``, and the entries the
simulator writes into it.

What Microsoft documents, and what the simulator does:

- Access: application permissions AuditLog.Read.All **and** Directory.Read.All
  (https://learn.microsoft.com/en-us/graph/api/directoryaudit-list); either alone answers 403
  ``Authorization_RequestDenied`` (see ``_permissions.ROUTES``).
- ``$filter`` (https://learn.microsoft.com/en-us/graph/api/resources/directoryaudit and the
  older list page's "Attributes supported by $filter" table): activityDateTime (eq, ge, le; gt
  and lt too), activityDisplayName (eq, startswith), loggedByService, category, result (eq),
  initiatedBy/user/id (eq), initiatedBy/user/displayName (eq), initiatedBy/user/userPrincipalName
  (eq, startswith), initiatedBy/app/appId and app/displayName (eq), and on targetResources the
  lambda forms ``targetResources/any(t: t/id eq '...')``, ``any(t: t/displayName eq '...')``
  and ``any(t: startswith(t/displayName, '...'))``; clauses joined by ``and``. Anything else
  (another property, another operator, ``or``, ``not``) answers 400 naming it.
- ``$orderby=activityDateTime desc|asc`` (newest first by default); ``$top`` 1-1000, default
  1000 (the documentation gives no figure: 1000 is what tenants are reported to page by
  [3rd-party]); ``$select``; paging by ``@odata.nextLink`` with an opaque ``$skiptoken`` that
  holds the last entry returned, so entries that become visible meanwhile neither repeat nor
  shift a page.
- Visibility: an entry is listed only from ``activityDateTime + tenant.audit_delay`` seconds on
  the simulator's clock (default 0). Microsoft's latency table gave the audit log a 95th
  percentile of 2 minutes and a 99th of 5 (https://docs.microsoft.com/bg-BG/azure/active-directory/
  reports-monitoring/reference-reports-latencies, since removed; see
  https://www.michev.info/blog/post/5749): set ``audit_delay`` to 120 or 300 to play that.
- Retention: 7 days, or 30 when ``tenant.premium`` (Entra ID P1/P2)
  (https://learn.microsoft.com/en-us/entra/identity/monitoring-health/reference-reports-data-retention).
- Entries written: the app's own password reset (PATCH /users/{id} with passwordProfile) as
  "Reset user password" by Core Directory, initiatedBy.app = the calling app (the token's
  appid/azp), failed with ``resultReason`` when the password is refused as too weak; and the
  portal helpers :func:`user_changed_password` ("Change user password", by the user),
  :func:`admin_reset` ("Reset user password", by an admin user) and :func:`sspr_reset`
  ("Reset password (self-service)", Self-service Password Management). Activity names per
  https://learn.microsoft.com/en-us/entra/identity/monitoring-health/reference-audit-activities
  ("Reset user password" is what field queries see for Core Directory resets [3rd-party]).
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from . import _ops
from ._clock import iso
from ._errors import GraphError, bad_request, not_found, unsupported_query
from ._graph import Ctx, Reply, Router, collection
from ._query import parse_filter, parse_select, parse_top

if TYPE_CHECKING:
    from ._tenant import SimApp, SimTenant

__all__ = [
    "AUDIT_PROPERTIES",
    "AuditLog",
    "admin_reset",
    "public_copy",
    "record_app_reset",
    "record_domain_change",
    "register",
    "sspr_reset",
    "user_changed_password",
]

Entry = dict[str, Any]

TYPE_NAME = "microsoft.graph.directoryAudit"
PATH = "/auditLogs/directoryAudits"
DEFAULT_PAGE = 1000
MAX_PAGE = 1000
RETENTION_DAYS, PREMIUM_RETENTION_DAYS = 7, 30
CORE, SSPR = "Core Directory", "Self-service Password Management"
RESET, CHANGE, SELF_SERVICE = (
    "Reset user password",
    "Change user password",
    "Reset password (self-service)",
)
# federation writes (Core Directory, category DomainManagement)
SET_FEDERATION, SET_AUTHENTICATION = (
    "Set federation settings on domain",
    "Set domain authentication",
)
PORTAL_IP = "203.0.113.10"  # a documentation address: where the simulated admin and user sit
AUDIT_PROPERTIES: dict[str, str] = {
    "id": "Edm.String",
    "category": "Edm.String",
    "correlationId": "Edm.String",
    "activityDisplayName": "Edm.String",
    "activityDateTime": "Edm.DateTimeOffset",
    "loggedByService": "Edm.String",
    "operationType": "Edm.String",
    "result": "microsoft.graph.operationResult",
    "resultReason": "Edm.String",
    "initiatedBy": "microsoft.graph.auditActivityInitiator",
    "targetResources": "Collection(microsoft.graph.targetResource)",
    "additionalDetails": "Collection(microsoft.graph.keyValue)",
}
_S, _T = "Edm.String", "Edm.DateTimeOffset"
FILTERABLE: dict[str, str] = {
    "activityDateTime": _T,
    "activityDisplayName": _S,
    "loggedByService": _S,
    "category": _S,
    "result": _S,
    "initiatedBy/user/id": _S,
    "initiatedBy/user/displayName": _S,
    "initiatedBy/user/userPrincipalName": _S,
    "initiatedBy/app/appId": _S,
    "initiatedBy/app/displayName": _S,
}
_EQ = frozenset({"eq"})
_EQ_STARTS = frozenset({"eq", "startswith"})
OPERATORS: dict[str, frozenset[str]] = {
    "activityDateTime": frozenset({"eq", "ge", "le", "gt", "lt"}),
    "activityDisplayName": _EQ_STARTS,
    "loggedByService": _EQ,
    "category": _EQ,
    "result": _EQ,
    "initiatedBy/user/id": _EQ,
    "initiatedBy/user/displayName": _EQ,
    "initiatedBy/user/userPrincipalName": _EQ_STARTS,
    "initiatedBy/app/appId": _EQ,
    "initiatedBy/app/displayName": _EQ,
    "targetResources/id": _EQ,
    "targetResources/displayName": _EQ_STARTS,
}
LAMBDAS = {"targetResources": {"id": _S, "displayName": _S}}


class AuditLog:
    """A tenant's entries in the order they happened (callers hold the store's lock)."""

    def __init__(self) -> None:
        self.entries: list[Entry] = []  # each with "_stamp" (seconds) and "_seq" (its order)
        self._seq = 0

    def __len__(self) -> int:
        return len(self.entries)

    def add(self, entry: Entry, stamp: float) -> None:
        self._seq += 1
        entry["_seq"] = self._seq
        entry["_stamp"] = stamp
        self.entries.append(entry)

    def retained(self, tenant: SimTenant) -> list[Entry]:
        """The entries still within retention (older ones are forgotten)."""
        days = PREMIUM_RETENTION_DAYS if tenant.premium else RETENTION_DAYS
        cutoff = tenant.clock.timestamp() - days * 86400
        gone = sum(1 for e in self.entries if e["_stamp"] < cutoff)
        if gone:
            del self.entries[:gone]
        return self.entries

    def visible(self, tenant: SimTenant) -> list[Entry]:
        """What the API shows now: retained and past the visibility delay."""
        self.retained(tenant)
        latest = tenant.clock.timestamp() - tenant.audit_delay
        return [e for e in self.entries if e["_stamp"] <= latest]


def _public(entry: Entry, names: list[str] | None = None) -> Entry:
    return {k: v for k, v in entry.items() if not k.startswith("_") and (not names or k in names)}


def public_copy(entry: Entry) -> Entry:
    """An entry as Graph shows it, detached from the log."""
    return copy.deepcopy(_public(entry))


# --- writing entries ----------------------------------------------------------------------------
def _user_target(record: Mapping[str, Any]) -> Entry:
    return {
        "id": record["id"],
        "displayName": record.get("displayName"),
        "type": "User",
        "userPrincipalName": record.get("userPrincipalName"),
        "groupType": None,
        "modifiedProperties": [],
    }


def _app_initiator(app: SimApp) -> Entry:
    return {
        "app": {
            "appId": app.client_id,
            "displayName": app.display_name,
            "servicePrincipalId": app.service_principal_id,
            "servicePrincipalName": app.display_name,
        },
        "user": None,
    }


def _user_initiator(user_id: str, display: str | None, upn: str | None) -> Entry:
    return {
        "app": None,
        "user": {
            "id": user_id,
            "displayName": display,
            "userPrincipalName": upn,
            "ipAddress": PORTAL_IP,
        },
    }


def _write(
    tenant: SimTenant,
    activity: str,
    service: str,
    initiator: Entry,
    target: Mapping[str, Any],
    failure: str | None,
    details: list[Entry] | None = None,
) -> Entry:
    stamp = tenant.clock.timestamp()
    correlation = str(uuid.uuid4())
    prefix = "SSPR" if service == SSPR else "Directory"
    entry: Entry = {
        "id": f"{prefix}_{correlation}_{uuid.uuid4().hex[:8].upper()}",
        "category": "UserManagement",
        "correlationId": correlation,
        "activityDisplayName": activity,
        "activityDateTime": iso(datetime.fromtimestamp(stamp, UTC)),
        "loggedByService": service,
        "operationType": "Update",
        "result": "failure" if failure else "success",
        "resultReason": failure or "",
        "initiatedBy": initiator,
        "targetResources": [_user_target(target)],
        "additionalDetails": details or [],
    }
    tenant.audit_log.add(entry, stamp)
    return entry


def record_app_reset(
    tenant: SimTenant, app: SimApp, record: Mapping[str, Any], failure: str | None = None
) -> Entry:
    """The app's PATCH passwordProfile: "Reset user password" by Core Directory."""
    return _write(tenant, RESET, CORE, _app_initiator(app), record, failure)


def record_domain_change(
    tenant: SimTenant, app: SimApp, domain: Mapping[str, Any], activity: str
) -> Entry:
    """A write to a domain's federation settings or authentication ("Set federation settings on
    domain", "Set domain authentication"), by the calling app, on the domain."""
    entry = _write(tenant, activity, CORE, _app_initiator(app), {"id": domain["id"]}, None)
    entry["category"] = "DomainManagement"
    entry["targetResources"] = [
        {
            "id": domain["id"],
            "displayName": domain["id"],
            "type": "Domain",
            "userPrincipalName": None,
            "groupType": None,
            "modifiedProperties": [],
        }
    ]
    return entry


def _portal_change(
    tenant: SimTenant,
    user_id: str,
    password: str,
    write: Callable[[Mapping[str, Any], str | None], Entry],
    force: bool = False,
) -> Entry:
    """Set the password through the same path as every other (lastPasswordChangeDateTime and
    delta included) and write the audit entry; a refused password is written as a failure and
    raised as ValueError."""
    with tenant.store.lock:
        record = tenant.store.user(user_id)
        if record is None:
            raise KeyError(f"no user {user_id!r} in tenant {tenant.id}")
        try:
            _ops.set_password(tenant, record, password, force=force)
        except GraphError as exc:
            write(record, exc.message)
            raise ValueError(exc.message) from None
        tenant.store.touch_user(record["id"])
        return public_copy(write(record, None))


def user_changed_password(tenant: SimTenant, user_id: str, password: str) -> Entry:
    """The user changed their own password: "Change user password", initiated by the user."""

    def write(record: Mapping[str, Any], failure: str | None) -> Entry:
        who = _user_initiator(record["id"], record.get("displayName"), record["userPrincipalName"])
        return _write(tenant, CHANGE, CORE, who, record, failure)

    return _portal_change(tenant, user_id, password, write)


def admin_reset(
    tenant: SimTenant, user_id: str, password: str, by: str, force_change: bool = False
) -> Entry:
    """An admin (user principal name ``by``) reset the password in the portal: "Reset user
    password" by Core Directory, initiated by that admin."""
    with tenant.store.lock:
        admin = tenant.store.user(by)
        admin_id = (
            admin["id"] if admin else str(uuid.uuid5(uuid.NAMESPACE_URL, f"{tenant.id}/{by}"))
        )
        display = admin.get("displayName") if admin else by.split("@")[0]
        upn = admin["userPrincipalName"] if admin else by

    def write(record: Mapping[str, Any], failure: str | None) -> Entry:
        return _write(tenant, RESET, CORE, _user_initiator(admin_id, display, upn), record, failure)

    return _portal_change(tenant, user_id, password, write, force=force_change)


def sspr_reset(tenant: SimTenant, user_id: str, password: str) -> Entry:
    """The user reset their forgotten password through self-service password reset."""

    def write(record: Mapping[str, Any], failure: str | None) -> Entry:
        who = _user_initiator(record["id"], record.get("displayName"), record["userPrincipalName"])
        details = [{"key": "User Agent", "value": "credsync-graphsim"}]
        return _write(tenant, SELF_SERVICE, SSPR, who, record, failure, details)

    return _portal_change(tenant, user_id, password, write)


# --- reading ------------------------------------------------------------------------------------
def _get(entry: Entry, name: str) -> Any:
    value: Any = entry
    for part in name.split("/"):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _order(ctx: Ctx) -> bool:
    """Whether newest first (the default)."""
    text = ctx.option("$orderby")
    if text is None:
        return True
    parts = text.split()
    if not parts or parts[0].lower() != "activitydatetime" or len(parts) > 2:
        raise unsupported_query(f"Sorting by '{text}' is not supported for directoryAudits.")
    direction = parts[1].lower() if len(parts) == 2 else "asc"
    if direction not in ("asc", "desc"):
        raise unsupported_query(f"Sorting by '{text}' is not supported for directoryAudits.")
    return direction == "desc"


def _key(entry: Entry) -> tuple[float, int]:
    return entry["_stamp"], entry["_seq"]


def list_audits(ctx: Ctx) -> Reply:
    for refused in ("$skip", "$expand", "$search", "$count"):
        if refused in ctx.request.query:
            raise bad_request(f"Query option '{refused}' is not supported for directoryAudits.")
    select = parse_select(ctx.option("$select"), list(AUDIT_PROPERTIES), TYPE_NAME)
    top = parse_top(ctx.option("$top"), DEFAULT_PAGE, MAX_PAGE)
    found = parse_filter(
        ctx.option("$filter"), FILTERABLE, "directoryAudit", operators=OPERATORS, lambdas=LAMBDAS
    )
    newest_first = _order(ctx)
    kind = f"audits:{newest_first}"
    entries = ctx.tenant.audit_log.visible(ctx.tenant)
    entries.sort(key=_key, reverse=newest_first)
    token = ctx.option("$skiptoken")
    if token is not None:
        payload = ctx.tokens.open(token, k=kind, t=ctx.tenant.id)
        if payload is None:
            raise bad_request(
                "The specified page token value has expired and can no longer be included in "
                "your request.",
                "Directory_ExpiredPageToken",
            )
        after = (float(payload["s"]), int(payload["q"]))
        if newest_first:
            entries = [e for e in entries if _key(e) < after]
        else:
            entries = [e for e in entries if _key(e) > after]
    if found is not None:
        entries = [e for e in entries if found(e, _get)]
    page, more = entries[:top], len(entries) > top
    next_link = None
    if more:
        last = page[-1]
        options = {k: v for k, v in ctx.request.query.items() if k != "$skiptoken"}
        options["$skiptoken"] = ctx.tokens.seal(
            {"k": kind, "t": ctx.tenant.id, "s": last["_stamp"], "q": last["_seq"]}
        )
        next_link = ctx.link(PATH, options)
    fragment = "auditLogs/directoryAudits"
    if select:
        fragment += f"({','.join(select)})"
    return collection(ctx, fragment, [_public(e, select) for e in page], next_link)


def get_audit(ctx: Ctx) -> Reply:
    key = ctx.params["id"]
    select = parse_select(ctx.option("$select"), list(AUDIT_PROPERTIES), TYPE_NAME)
    for entry in ctx.tenant.audit_log.visible(ctx.tenant):
        if entry["id"].lower() == key.lower():
            body: Entry = {"@odata.context": ctx.context_url("auditLogs/directoryAudits/$entity")}
            body.update(_public(entry, select))
            return Reply(200, body)
    raise not_found(key)


def register(router: Router) -> None:
    router.add("GET", PATH, list_audits)
    router.add("GET", PATH + "/{id}", get_audit)
