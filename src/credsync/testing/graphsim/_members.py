"""A group's members as Graph lists them: ``GET /groups/{id}/members`` (direct members, users
and groups, each with its ``@odata.type``; `list group members
<https://learn.microsoft.com/en-us/graph/api/group-list-members>`_) and
``GET /groups/{id}/transitiveMembers`` (every member of the group and of the groups in it, nested
groups included, each once; `list group transitive members
<https://learn.microsoft.com/en-us/graph/api/group-list-transitivemembers>`_). Both take
``$select``, ``$top`` (default 100) and ``$search`` (with ConsistencyLevel: eventual, the
grammar of :mod:`._search` over the users' and the groups' searchable properties) and page with
an opaque ``$skiptoken``.
"""

from __future__ import annotations

from typing import Any

from ._errors import bad_request, not_found
from ._graph import Ctx, Reply, Router, collection
from ._listing import search_of, select_of
from ._model import GROUP_DEFAULTS, USER_DEFAULT, USER_DEFAULTS, project
from ._query import parse_top
from ._store import Store

__all__ = ["register", "transitive_members"]


def transitive_members(store: Store, group_id: str) -> list[str]:
    """Every live member of the group and of the groups in it (breadth first, each once; a
    cycle of groups ends where it closes)."""
    found: dict[str, None] = {}
    queue = [group_id]
    seen = {group_id}
    while queue:
        current = queue.pop(0)
        for member in store.members.get(current, {}):
            if member not in store.users.live and member not in store.groups.live:
                continue
            found.setdefault(member, None)
            if member in store.groups.live and member not in seen:
                seen.add(member)
                queue.append(member)
    found.pop(group_id, None)
    return list(found)


def _listing(ctx: Ctx, *, transitive: bool) -> Reply:
    from ._groups import GROUPS
    from ._users import USERS

    key = ctx.params["id"]
    store = ctx.tenant.store
    if key not in store.groups.live:
        raise not_found(key)
    select = select_of(ctx, USERS)
    names = select or USER_DEFAULT
    top = parse_top(ctx.option("$top"), 100)
    searchable = list(dict.fromkeys([*USERS.searchable, *GROUPS.searchable]))
    keep = search_of(ctx, searchable)
    kind = "transitiveMembers" if transitive else "members"
    start = 0
    if "$skiptoken" in ctx.request.query:
        payload = ctx.tokens.open(ctx.request.query["$skiptoken"], k=kind, g=key)
        if payload is None:
            raise bad_request(
                "The specified page token value has expired and can no longer be included in "
                "your request.",
                "Directory_ExpiredPageToken",
            )
        start = int(payload["o"])
    if transitive:
        member_ids = transitive_members(store, key)
    else:
        member_ids = [
            m for m in store.members.get(key, {}) if m in store.users.live or m in store.groups.live
        ]
    if keep is not None:
        member_ids = [
            m for m in member_ids if keep(store.users.live.get(m) or store.groups.live[m])
        ]
    items: list[dict[str, Any]] = []
    for member_id in member_ids[start : start + top]:
        user = store.users.live.get(member_id)
        if user is not None:
            item: dict[str, Any] = {"@odata.type": "#microsoft.graph.user"}
            item.update(project(user, names, USER_DEFAULTS))
        else:
            group = store.groups.live[member_id]
            item = {"@odata.type": "#microsoft.graph.group"}
            item.update(project(group, [n for n in names if n in GROUP_DEFAULTS], GROUP_DEFAULTS))
        items.append(item)
    next_link = None
    if start + top < len(member_ids):
        options = {k: v for k, v in ctx.request.query.items() if k != "$skiptoken"}
        options["$skiptoken"] = ctx.tokens.seal({"k": kind, "g": key, "o": start + top})
        next_link = ctx.link(f"/groups/{key}/{kind}", options)
    return collection(ctx, "directoryObjects", items, next_link)


def list_members(ctx: Ctx) -> Reply:
    return _listing(ctx, transitive=False)


def list_transitive_members(ctx: Ctx) -> Reply:
    return _listing(ctx, transitive=True)


def register(router: Router) -> None:
    router.add("GET", "/groups/{id}/members", list_members)
    router.add("GET", "/groups/{id}/transitiveMembers", list_transitive_members)
