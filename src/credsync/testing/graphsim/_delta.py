"""``/users/delta`` and ``/groups/delta`` over the tenant's change log.

- The first call (no token) returns every live object, in pages, then an ``@odata.deltaLink``.
  A later call with that link returns each object changed since (once per round, with its
  current properties), soft-deleted ones as ``{"id", "@removed": {"reason": "changed"}}`` and
  hard-deleted ones with reason ``"deleted"``; restored objects come back whole.
  ``$deltatoken=latest`` answers only a deltaLink (from now on).
- Query options go on the first call only and are carried in the links' tokens: ``$select``
  (``members`` on groups adds ``members@delta``: all members on the first round, then those added
  and removed, removed ones with ``@removed``), ``$filter`` on ``id`` only; ``$top``, ``$orderby``
  and ``$expand`` are refused (400). Page size: header ``Prefer: odata.maxpagesize=N``
  (1-999, default 100); echoed in ``Preference-Applied``.
- Tokens are opaque and tamper-evident. A token that isn't this simulator's for this tenant and
  collection (or an edited one), in ``$deltatoken`` or ``$skiptoken``: 410 Gone, code
  ``SyncStateNotFound``, "The sync state generation is not found. Please start a new sync round
  without a token (resync).": the client must start over with a full round.
"""

from __future__ import annotations

import re
from typing import Any

from ._errors import GraphError, bad_request, unsupported_query
from ._graph import Ctx, Reply, Router, collection
from ._groups import GROUPS
from ._listing import Listing, select_of
from ._model import project
from ._query import parse_filter
from ._store import Collection
from ._users import USERS

__all__ = ["register"]

DEFAULT_PAGE = 100


def _gone() -> GraphError:
    return GraphError(
        410,
        "SyncStateNotFound",
        "The sync state generation is not found. Please start a new sync round without a token "
        "(resync).",
    )


def _page_size(ctx: Ctx) -> tuple[int, str | None]:
    prefer = ctx.request.headers.get("prefer", "")
    found = re.search(r"odata\.maxpagesize\s*=\s*(\d+)", prefer, re.IGNORECASE)
    if not found:
        return DEFAULT_PAGE, None
    size = max(1, min(999, int(found.group(1))))
    return size, f"odata.maxpagesize={size}"


def _delta(ctx: Ctx, listing: Listing, source: Collection, kind: str) -> Reply:
    query = ctx.request.query
    for option in ("$top", "$orderby", "$expand", "$skip", "$search", "$count"):
        if option in query:
            raise bad_request(f"The query option '{option}' is not supported with delta queries.")
    tenant, store = ctx.tenant, ctx.tenant.store
    path = f"/{listing.name}/delta"
    size, applied = _page_size(ctx)
    headers = {"Preference-Applied": applied} if applied else {}
    state: dict[str, Any]
    if "$skiptoken" in query:
        page = ctx.tokens.open(query["$skiptoken"], k=f"page:{kind}", t=tenant.id)
        if page is None:
            raise _gone()
        state = page
    elif "$deltatoken" in query:
        raw = query["$deltatoken"]
        if raw.lower() == "latest":
            link = _delta_link(ctx, path, kind, store.seq, _initial_select(ctx, listing), None)
            return _with(collection(ctx, _fragment(listing, None), [], None), link, headers)
        payload = ctx.tokens.open(raw, k=f"delta:{kind}", t=tenant.id)
        if payload is None:
            raise _gone()
        state = {
            "s": payload["s"],
            "u": store.seq,
            "p": 0,
            "sel": payload["sel"],
            "ids": payload["ids"],
        }
    else:
        select = _initial_select(ctx, listing)
        ids = _id_filter(ctx, listing)
        state = {"s": -1, "u": store.seq, "p": 0, "sel": select, "ids": ids}
    select = state["sel"]
    with_members = kind == "groups" and (select is None or "members" in select)
    names = [n for n in (select or listing.default_select) if n != "members"]
    if "id" not in names:
        names.append("id")
    only = set(state["ids"]) if state["ids"] else None
    items: list[dict[str, Any]] = []
    since, upto, position = int(state["s"]), int(state["u"]), int(state["p"])
    next_position: int | None
    if since < 0:
        records, next_position = source.page(
            position, size, (lambda r: r["id"] in only) if only else None
        )
        for record in records:
            items.append(_render(ctx, record, names, listing, with_members, -1, upto))
    else:
        changed = [i for i in source.changed(since, upto) if only is None or i in only]
        chunk = changed[position : position + size]
        next_position = position + size if position + size < len(changed) else None
        for object_id in chunk:
            current = source.live.get(object_id)
            if current is not None:
                items.append(_render(ctx, current, names, listing, with_members, since, upto))
            else:
                reason = "changed" if object_id in source.deleted else "deleted"
                items.append({"id": object_id, "@removed": {"reason": reason}})
    reply = collection(ctx, _fragment(listing, select), items)
    if next_position is not None:
        token = ctx.tokens.seal(dict(state, p=next_position, k=f"page:{kind}", t=tenant.id))
        reply.body["@odata.nextLink"] = ctx.link(path, {"$skiptoken": token})
        reply.body["value"] = reply.body.pop("value")
        reply.headers.update(headers)
        return reply
    return _with(reply, _delta_link(ctx, path, kind, upto, select, state["ids"]), headers)


def _with(reply: Reply, link: str, headers: dict[str, str]) -> Reply:
    value = reply.body.pop("value")
    reply.body["@odata.deltaLink"] = link
    reply.body["value"] = value
    reply.headers.update(headers)
    return reply


def _delta_link(
    ctx: Ctx, path: str, kind: str, seq: int, select: list[str] | None, ids: list[str] | None
) -> str:
    token = ctx.tokens.seal(
        {"k": f"delta:{kind}", "t": ctx.tenant.id, "s": seq, "sel": select, "ids": ids}
    )
    return ctx.link(path, {"$deltatoken": token})


def _fragment(listing: Listing, select: list[str] | None) -> str:
    return f"{listing.name}({','.join(select)})" if select else listing.name


def _initial_select(ctx: Ctx, listing: Listing) -> list[str] | None:
    extra = ("members",) if listing.name == "groups" else ()
    return select_of(ctx, listing, extra)


def _id_filter(ctx: Ctx, listing: Listing) -> list[str] | None:
    found = parse_filter(ctx.option("$filter"), {"id": "Edm.String"}, listing.resource)
    if found is None:
        return None
    if found.ids is None:
        raise unsupported_query("Delta queries can filter on id only (id eq '...' or ... or).")
    return list(found.ids)


def _render(
    ctx: Ctx,
    record: dict[str, Any],
    names: list[str],
    listing: Listing,
    with_members: bool,
    since: int,
    upto: int,
) -> dict[str, Any]:
    item = project(record, names, listing.defaults)
    if with_members:
        store = ctx.tenant.store
        entries: list[dict[str, Any]] = []
        if since < 0:
            for member_id in store.members.get(record["id"], {}):
                if member_id in store.users.live:
                    entries.append({"@odata.type": "#microsoft.graph.user", "id": member_id})
        else:
            for member_id, added in store.member_changes(record["id"], since, upto).items():
                entry: dict[str, Any] = {"@odata.type": "#microsoft.graph.user", "id": member_id}
                if not added:
                    entry["@removed"] = {"reason": "deleted"}
                entries.append(entry)
        if entries or since < 0:
            item["members@delta"] = entries
    return item


def users_delta(ctx: Ctx) -> Reply:
    return _delta(ctx, USERS, ctx.tenant.store.users, "users")


def groups_delta(ctx: Ctx) -> Reply:
    return _delta(ctx, GROUPS, ctx.tenant.store.groups, "groups")


def register(router: Router) -> None:
    router.add("GET", "/users/delta", users_delta)
    router.add("GET", "/groups/delta", groups_delta)
