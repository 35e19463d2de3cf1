"""Graph's /groups: list, $count, get, create (Microsoft 365 or security, as Graph allows),
PATCH (with ``members@odata.bind``, 20 at most), DELETE (Microsoft 365 groups go to deleted items,
security groups are gone), members (``$ref`` add and remove; listed in :mod:`._members`), and
/directoryObjects/{id}.

Names are not unique. Groups synced from on-premises AD refuse member and property edits.
"""

from __future__ import annotations

import re
from typing import Any

from . import _ops
from ._errors import GraphError, bad_request, not_found
from ._graph import Ctx, Reply, Router
from ._listing import Listing, check_body, check_types, count_only, list_page, single
from ._model import (
    GROUP_DEFAULT,
    GROUP_DEFAULTS,
    GROUP_PROPERTIES,
    GROUP_READ_ONLY,
    project,
)
from ._seed import guid
from ._users import ON_PREMISES, USERS

__all__ = ["GROUPS", "register"]

GROUPS = Listing(
    name="groups",
    type_name="microsoft.graph.group",
    resource="Group",
    properties=GROUP_PROPERTIES,
    defaults=GROUP_DEFAULTS,
    default_select=GROUP_DEFAULT,
    filterable={
        name: GROUP_PROPERTIES[name]
        for name in (
            "id",
            "displayName",
            "mail",
            "mailNickname",
            "mailEnabled",
            "securityEnabled",
            "onPremisesSyncEnabled",
            "createdDateTime",
            "visibility",
        )
    },
    searchable=("displayName", "description", "mail", "mailNickname"),
)
MAX_BIND = 20
ALREADY_MEMBER = (
    "One or more added object references already exist for the following modified properties: "
    "'members'."
)
_REQUIRED = ("displayName", "mailEnabled", "mailNickname", "securityEnabled")
_BIND = "members@odata.bind"


def _group(ctx: Ctx) -> dict[str, Any]:
    key = ctx.params["id"]
    record = ctx.tenant.store.groups.live.get(key)
    if record is None:
        raise not_found(key)
    return record


def _invalid(name: str) -> GraphError:
    return bad_request(f"Invalid value specified for property '{name}' of resource 'Group'.")


def reference_id(ctx: Ctx, value: Any) -> str:
    """The object id of an ``@odata.id`` reference (".../directoryObjects/{id}", ".../users/{id}")
    that names a live user or group."""
    if not isinstance(value, str) or not value:
        raise bad_request("Invalid object identifier ''.", "BadRequest")
    found = re.search(r"/(?:directoryObjects|users|groups)/([^/?]+)/?$", value, re.IGNORECASE)
    object_id = found.group(1) if found else ""
    if not re.fullmatch(r"[0-9a-fA-F-]{36}", object_id):
        raise bad_request(f"Invalid object identifier '{value}'.", "BadRequest")
    store = ctx.tenant.store
    if object_id not in store.users.live and object_id not in store.groups.live:
        raise not_found(object_id)
    return object_id


def _bind_ids(ctx: Ctx, refs: Any) -> list[str]:
    if not isinstance(refs, list):
        raise _invalid(_BIND)
    if len(refs) > MAX_BIND:
        raise bad_request(
            f"The request contains {len(refs)} member references; at most {MAX_BIND} may be "
            "added in one request."
        )
    return [reference_id(ctx, ref) for ref in refs]


def list_groups(ctx: Ctx) -> Reply:
    return list_page(ctx, GROUPS, ctx.tenant.store.groups, path="/groups", fragment="groups")


def count_groups(ctx: Ctx) -> Reply:
    return count_only(ctx, GROUPS, ctx.tenant.store.groups)


def get_group(ctx: Ctx) -> Reply:
    return single(ctx, GROUPS, _group(ctx), "groups")


def create_group(ctx: Ctx) -> Reply:
    body = {k: v for k, v in ctx.json().items() if not k.startswith("@odata.")}
    check_body(body, GROUPS, GROUP_READ_ONLY, extra=(_BIND, "owners@odata.bind"))
    for name in _REQUIRED:
        if body.get(name) is None:
            raise _invalid(name)
    check_types({k: v for k, v in body.items() if "@" not in k}, GROUPS)
    unified = "Unified" in (body.get("groupTypes") or [])
    if not unified and body["mailEnabled"]:
        raise bad_request(
            "The service does not currently support writes of mail-enabled groups. Please ensure "
            "that the mail-enablement property is unset or is set to false."
        )
    if not unified and not body["securityEnabled"]:
        raise _invalid("securityEnabled")
    if unified and not body["mailEnabled"]:
        raise _invalid("mailEnabled")
    nickname = body["mailNickname"]
    if not nickname or re.search(r"[\s@()<>\[\]\\,;:\"]", nickname):
        raise _invalid("mailNickname")
    tenant, store = ctx.tenant, ctx.tenant.store
    members = _bind_ids(ctx, body.pop(_BIND, []))
    body.pop("owners@odata.bind", None)
    record = dict(body)
    record.update(id=guid(tenant.rng), createdDateTime=tenant.clock.iso_now())
    if unified:
        address = f"{nickname}@{tenant.domain}"
        taken = any(
            g.get("mail", "") and g["mail"].lower() == address.lower()
            for g in store.groups.live.values()
        )
        if taken:
            raise bad_request(
                "Another object with the same value for property proxyAddresses already exists."
            )
        record.update(
            mail=address,
            proxyAddresses=[f"SMTP:{address}"],
            renewedDateTime=record["createdDateTime"],
            visibility=body.get("visibility") or "Public",
        )
    store.groups.add(record)
    store.members[record["id"]] = {}
    store.touch_group(record["id"])
    for member_id in members:
        store.add_member(record["id"], member_id)
    out: dict[str, Any] = {"@odata.context": ctx.context_url("groups/$entity")}
    out.update(project(record, GROUP_DEFAULT, GROUP_DEFAULTS))
    return Reply(201, out, {"Location": f"{ctx.base}/v1.0/groups/{record['id']}"})


def patch_group(ctx: Ctx) -> Reply:
    record = _group(ctx)
    body = {k: v for k, v in ctx.json().items() if not k.startswith("@odata.")}
    check_body(body, GROUPS, GROUP_READ_ONLY, extra=(_BIND,))
    if record.get("onPremisesSyncEnabled"):
        raise bad_request(ON_PREMISES)
    check_types({k: v for k, v in body.items() if "@" not in k}, GROUPS)
    if "displayName" in body and not body["displayName"]:
        raise _invalid("displayName")
    store = ctx.tenant.store
    members = _bind_ids(ctx, body.pop(_BIND, []))
    current = store.members.setdefault(record["id"], {})
    if any(m in current for m in members):
        raise bad_request(ALREADY_MEMBER)
    record.update(body)
    store.touch_group(record["id"])
    for member_id in members:
        store.add_member(record["id"], member_id)
    return Reply(204)


def delete_group(ctx: Ctx) -> Reply:
    record = _group(ctx)
    if "Unified" in (record.get("groupTypes") or []):
        _ops.soft_delete(ctx.tenant, "group", record["id"])
    else:
        _ops.hard_delete(ctx.tenant, record["id"])
    return Reply(204)


def add_member_ref(ctx: Ctx) -> Reply:
    record = _group(ctx)
    body = ctx.json()
    member_id = reference_id(ctx, body.get("@odata.id"))
    if record.get("onPremisesSyncEnabled"):
        raise bad_request(ON_PREMISES)
    store = ctx.tenant.store
    if member_id in store.members.get(record["id"], {}):
        raise bad_request(ALREADY_MEMBER)
    if member_id == record["id"]:
        raise bad_request("A group cannot be a member of itself.")
    store.add_member(record["id"], member_id)
    return Reply(204)


def remove_member_ref(ctx: Ctx) -> Reply:
    record = _group(ctx)
    member_id = ctx.params["member"]
    if record.get("onPremisesSyncEnabled"):
        raise bad_request(ON_PREMISES)
    store = ctx.tenant.store
    if member_id not in store.members.get(record["id"], {}):
        raise not_found(member_id)
    store.remove_member(record["id"], member_id)
    return Reply(204)


def get_directory_object(ctx: Ctx) -> Reply:
    key, store = ctx.params["id"], ctx.tenant.store
    user = store.users.live.get(key)
    if user is not None:
        reply = single(ctx, USERS, user, "directoryObjects")
        reply.body["@odata.type"] = "#microsoft.graph.user"
        return reply
    group = store.groups.live.get(key)
    if group is not None:
        reply = single(ctx, GROUPS, group, "directoryObjects")
        reply.body["@odata.type"] = "#microsoft.graph.group"
        return reply
    raise not_found(key)


def register(router: Router) -> None:
    router.add("GET", "/groups", list_groups)
    router.add("GET", "/groups/$count", count_groups)
    router.add("POST", "/groups", create_group)
    router.add("GET", "/groups/{id}", get_group)
    router.add("PATCH", "/groups/{id}", patch_group)
    router.add("DELETE", "/groups/{id}", delete_group)
    router.add("POST", "/groups/{id}/members/$ref", add_member_ref)
    router.add(
        "DELETE",
        "/groups/{id}/members/{member}/$ref",
        remove_member_ref,
        key="DELETE /groups/{id}/members/{id}/$ref",
    )
    router.add("GET", "/directoryObjects/{id}", get_directory_object)
