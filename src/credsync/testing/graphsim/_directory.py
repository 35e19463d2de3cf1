"""Deleted items (soft-deleted users and Microsoft 365 groups, kept 30 days: list by type cast,
get, restore, delete for good), subscribedSkus, and domains with their federation settings."""

from __future__ import annotations

from typing import Any

from . import _ops
from ._errors import GraphError, bad_request, not_found
from ._federation import settle
from ._graph import Ctx, Reply, Router, collection
from ._groups import GROUPS
from ._listing import Listing, list_page, single
from ._model import project
from ._users import USERS

__all__ = ["register"]


def _deleted(ctx: Ctx) -> tuple[str, Listing, dict[str, Any]]:
    key, store = ctx.params["id"], ctx.tenant.store
    if key in store.users.deleted:
        return "user", USERS, store.users.deleted[key]
    if key in store.groups.deleted:
        return "group", GROUPS, store.groups.deleted[key]
    raise not_found(key)


def no_cast(ctx: Ctx) -> Reply:
    raise bad_request(
        "A type cast is required: ask for /directory/deletedItems/microsoft.graph.user or "
        "/directory/deletedItems/microsoft.graph.group."
    )


def deleted_users(ctx: Ctx) -> Reply:
    return list_page(
        ctx,
        USERS,
        ctx.tenant.store.users,
        path="/directory/deletedItems/microsoft.graph.user",
        fragment="directory/deletedItems/microsoft.graph.user",
        live=False,
    )


def deleted_groups(ctx: Ctx) -> Reply:
    return list_page(
        ctx,
        GROUPS,
        ctx.tenant.store.groups,
        path="/directory/deletedItems/microsoft.graph.group",
        fragment="directory/deletedItems/microsoft.graph.group",
        live=False,
    )


def get_deleted(ctx: Ctx) -> Reply:
    kind, listing, record = _deleted(ctx)
    ctx.require(f"GET /directory/deletedItems/{{id}} ({kind})")
    reply = single(ctx, listing, record, "directory/deletedItems")
    reply.body["@odata.type"] = f"#microsoft.graph.{kind}"
    return reply


def _restore_body(ctx: Ctx) -> tuple[str | None, bool]:
    """The optional body of `restore
    <https://learn.microsoft.com/en-us/graph/api/directory-deleteditems-restore>`_:
    ``newUserPrincipalName`` (String) and ``autoReconcileProxyConflict`` (Boolean, default
    false), both "used only for restoring soft-deleted user objects"; no body is none."""
    if not (ctx.request.body or b"").strip():
        return None, False
    body = ctx.json()
    unknown = sorted(set(body) - {"newUserPrincipalName", "autoReconcileProxyConflict"})
    if unknown:
        raise GraphError(
            400,
            "Request_BadRequest",
            f"Property '{unknown[0]}' does not exist as a declared property or extension property.",
        )
    new_upn = body.get("newUserPrincipalName")
    reconcile = body.get("autoReconcileProxyConflict", False)
    if new_upn is not None and not isinstance(new_upn, str):
        raise bad_request("Invalid value specified for property 'newUserPrincipalName'.")
    if not isinstance(reconcile, bool):
        raise bad_request("Invalid value specified for property 'autoReconcileProxyConflict'.")
    return new_upn, reconcile


def restore_deleted(ctx: Ctx) -> Reply:
    kind, listing, _record = _deleted(ctx)
    ctx.require(f"POST /directory/deletedItems/{{id}}/restore ({kind})")
    new_upn, reconcile = _restore_body(ctx)
    if kind == "user":
        _kind, record = _ops.restore(
            ctx.tenant, ctx.params["id"], new_upn=new_upn, reconcile_proxies=reconcile
        )
    else:
        _kind, record = _ops.restore(ctx.tenant, ctx.params["id"])
    body: dict[str, Any] = {
        "@odata.context": ctx.context_url("directoryObjects/$entity"),
        "@odata.type": f"#microsoft.graph.{kind}",
    }
    body.update(project(record, listing.default_select, listing.defaults))
    return Reply(200, body)


def purge_deleted(ctx: Ctx) -> Reply:
    kind, _listing, _record = _deleted(ctx)
    ctx.require(f"DELETE /directory/deletedItems/{{id}} ({kind})")
    _ops.hard_delete(ctx.tenant, ctx.params["id"])
    return Reply(204)


def subscribed_skus(ctx: Ctx) -> Reply:
    return collection(ctx, "subscribedSkus", ctx.tenant.skus)


def list_domains(ctx: Ctx) -> Reply:
    settle(ctx.tenant)
    return collection(ctx, "domains", ctx.tenant.domains)


def _domain(ctx: Ctx) -> dict[str, Any]:
    settle(ctx.tenant)
    key = ctx.params["id"].lower()
    for domain in ctx.tenant.domains:
        if domain["id"].lower() == key:
            return domain
    raise not_found(ctx.params["id"])


def get_domain(ctx: Ctx) -> Reply:
    body: dict[str, Any] = {"@odata.context": ctx.context_url("domains/$entity")}
    body.update(_domain(ctx))
    return Reply(200, body)


def federation(ctx: Ctx) -> Reply:
    domain = _domain(ctx)
    found = ctx.tenant.federation.get(domain["id"].lower())
    return collection(
        ctx,
        f"domains('{domain['id']}')/federationConfiguration",
        [found] if found else [],
    )


def federation_item(ctx: Ctx) -> Reply:
    domain = _domain(ctx)
    found = ctx.tenant.federation.get(domain["id"].lower())
    if found is None or found["id"] != ctx.params["config"]:
        raise not_found(ctx.params["config"])
    body: dict[str, Any] = {
        "@odata.context": ctx.context_url(
            f"domains('{domain['id']}')/federationConfiguration/$entity"
        )
    }
    body.update(found)
    return Reply(200, body)


def register(router: Router) -> None:
    router.add("GET", "/directory/deletedItems", no_cast, key=None)
    router.add("GET", "/directory/deletedItems/microsoft.graph.user", deleted_users)
    router.add("GET", "/directory/deletedItems/microsoft.graph.group", deleted_groups)
    router.add("GET", "/directory/deletedItems/{id}", get_deleted, key=None)
    router.add("POST", "/directory/deletedItems/{id}/restore", restore_deleted, key=None)
    router.add("DELETE", "/directory/deletedItems/{id}", purge_deleted, key=None)
    router.add("GET", "/subscribedSkus", subscribed_skus)
    router.add("GET", "/domains", list_domains)
    router.add("GET", "/domains/{id}", get_domain)
    router.add("GET", "/domains/{id}/federationConfiguration", federation)
    router.add(
        "GET",
        "/domains/{id}/federationConfiguration/{config}",
        federation_item,
        key="GET /domains/{id}/federationConfiguration/{id}",
    )
