"""Listing a collection as Graph does: ``$select``, ``$filter``, ``$search`` (grammar in
:mod:`._search`), ``$top`` (1-999, default 100), ``$count`` (with ConsistencyLevel:
eventual), ``$orderby`` on a few names (with a filter or search only as an advanced query),
opaque ``$skiptoken`` paging with an absolute ``@odata.nextLink``; ``$skip`` and ``$expand``
are refused."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ._errors import GraphError, bad_request, unsupported_query
from ._graph import Ctx, Reply, collection
from ._model import project
from ._query import Filter, parse_filter, parse_select, parse_top
from ._search import compile_search
from ._store import Collection, Record

__all__ = [
    "Listing",
    "check_body",
    "check_types",
    "count_only",
    "list_page",
    "search_of",
    "select_of",
    "single",
]

DEFAULT_PAGE = 100


@dataclass(frozen=True)
class Listing:
    name: str  # the entity set: "users", "groups"
    type_name: str  # "microsoft.graph.user"
    resource: str  # "User" (in filter errors)
    properties: Mapping[str, str]
    defaults: Mapping[str, Any]
    default_select: Sequence[str]
    filterable: Mapping[str, str]
    searchable: Sequence[str]
    sortable: Sequence[str] = ("displayName",)
    # looked up by value, not scanned, for `$filter=<name> eq '...'` (see Collection.lookup)
    indexed: frozenset[str] = frozenset()


def _get(record: Record, name: str) -> Any:
    return record.get(name)


def select_of(ctx: Ctx, listing: Listing, extra: Sequence[str] = ()) -> list[str] | None:
    return parse_select(ctx.option("$select"), [*listing.properties, *extra], listing.type_name)


def _refuse_options(ctx: Ctx) -> None:
    if "$skip" in ctx.request.query:
        raise bad_request("'$skip' is not supported by the service.")
    if "$expand" in ctx.request.query:
        raise unsupported_query("Expand is not supported for this request.")


def search_of(ctx: Ctx, searchable: Sequence[str]) -> Callable[[Record], bool] | None:
    """The records ``$search`` keeps (the grammar: :mod:`._search`); it needs ConsistencyLevel:
    eventual."""
    text = ctx.option("$search")
    if text is None:
        return None
    if not ctx.eventual:
        raise bad_request(
            "Request with $search query parameter only works through MSGraph with a special "
            "request header: 'ConsistencyLevel: eventual'"
        )
    return compile_search(text, searchable)


def _search(ctx: Ctx, listing: Listing) -> Callable[[Record], bool] | None:
    return search_of(ctx, listing.searchable)


def _filter(ctx: Ctx, listing: Listing) -> Filter | None:
    found = parse_filter(ctx.option("$filter"), listing.filterable, listing.resource)
    if found is not None and found.advanced and not ctx.eventual:
        raise unsupported_query(
            "Operator is not supported because the required parameters might be missing. Try "
            "adding $count=true query parameter and ConsistencyLevel:eventual header. Refer to "
            "https://aka.ms/graph-docs/advanced-queries for more information"
        )
    return found


def _wants_count(ctx: Ctx) -> bool:
    value = ctx.option("$count")
    if value is None or value.lower() == "false":
        return False
    if value.lower() != "true":
        raise bad_request(f"Invalid value '{value}' for $count.", "BadRequest")
    if not ctx.eventual:
        raise bad_request(
            "$count is only supported with the 'ConsistencyLevel: eventual' request header."
        )
    return True


def _keep(ctx: Ctx, listing: Listing) -> tuple[Callable[[Record], bool] | None, Filter | None]:
    found, search = _filter(ctx, listing), _search(ctx, listing)
    if found is None:
        return search, None
    test = found.predicate
    if search is None:
        return (lambda r: test(r, _get)), found
    return (lambda r: test(r, _get) and search(r)), found


def _order(ctx: Ctx, listing: Listing, filtered: bool) -> tuple[str, bool] | None:
    """(property, descending) of ``$orderby``, if given."""
    text = ctx.option("$orderby")
    if text is None:
        return None
    parts = text.split()
    names = {name.lower(): name for name in listing.sortable}
    name = names.get(parts[0].lower()) if parts else None
    direction = parts[1].lower() if len(parts) == 2 else "asc"
    if name is None or len(parts) > 2 or direction not in ("asc", "desc"):
        raise unsupported_query("Sorting not supported for current query.")
    if filtered and not (ctx.eventual and (ctx.option("$count") or "").lower() == "true"):
        raise unsupported_query("Sorting not supported for current query.")
    return name, direction == "desc"


def list_page(
    ctx: Ctx,
    listing: Listing,
    source: Collection,
    *,
    path: str,
    fragment: str,
    live: bool = True,
) -> Reply:
    """One page of ``source``: its live records, or its soft-deleted ones when not ``live``."""
    _refuse_options(ctx)
    select = select_of(ctx, listing)
    names = select or listing.default_select
    top = parse_top(ctx.option("$top"), DEFAULT_PAGE)
    keep, found = _keep(ctx, listing)
    order = _order(ctx, listing, keep is not None)
    count = _wants_count(ctx)
    kind = f"list:{path}:{order}"
    token = ctx.option("$skiptoken")
    start = 0
    if token is not None:
        payload = ctx.tokens.open(token, k=kind, t=ctx.tenant.id)
        if payload is None:
            raise bad_request(
                "The specified page token value has expired and can no longer be included in "
                "your request.",
                "Directory_ExpiredPageToken",
            )
        start = int(payload["o"])
    if not live or order is not None:
        pool = list(source.live.values() if live else source.deleted.values())
        matching = [r for r in pool if keep is None or keep(r)]
        if order is not None:
            name, descending = order
            present = [r for r in matching if r.get(name) is not None]
            present.sort(key=lambda r: str(r[name]).lower(), reverse=descending)
            matching = present + [r for r in matching if r.get(name) is None]
        records, next_start = matching[start : start + top], start + top
        if next_start >= len(matching):
            next_start = -1
    elif found is not None and found.ids is not None and token is None:
        records = [source.live[i] for i in dict.fromkeys(found.ids) if i in source.live]
        records = [r for r in records if keep is None or keep(r)][:top]
        next_start = -1
    elif (
        found is not None
        and found.keys is not None
        and found.keys[0] in listing.indexed
        and token is None
        and len(hits := source.lookup(*found.keys)) <= top
    ):
        records = [r for r in hits if keep is None or keep(r)]
        next_start = -1
    else:
        records, following = source.page(start, top, keep)
        next_start = -1 if following is None else following
    next_link = None
    if next_start >= 0:
        options = {k: v for k, v in ctx.request.query.items() if k != "$skiptoken"}
        options["$skiptoken"] = ctx.tokens.seal({"k": kind, "t": ctx.tenant.id, "o": next_start})
        next_link = ctx.link(path, options)
    extra: dict[str, Any] = {}
    if count:
        pool_all = source.live.values() if live else source.deleted.values()
        extra["@odata.count"] = sum(1 for r in pool_all if keep is None or keep(r))
    frag = f"{fragment}({','.join(select)})" if select else fragment
    items = [project(r, names, listing.defaults) for r in records]
    return collection(ctx, frag, items, next_link, **extra)


def count_only(ctx: Ctx, listing: Listing, source: Collection) -> Reply:
    """GET /{set}/$count: the number as text/plain (needs ConsistencyLevel: eventual)."""
    if not ctx.eventual:
        raise bad_request(
            "$count is only supported with the 'ConsistencyLevel: eventual' request header."
        )
    keep, _found = _keep(ctx, listing)
    total = sum(1 for r in source.live.values() if keep is None or keep(r))
    return Reply(200, str(total))


def single(ctx: Ctx, listing: Listing, record: Record, fragment: str) -> Reply:
    _refuse_options(ctx)
    select = select_of(ctx, listing)
    body: dict[str, Any] = {
        "@odata.context": ctx.context_url(
            f"{fragment}({','.join(select)})/$entity" if select else f"{fragment}/$entity"
        )
    }
    body.update(project(record, select or listing.default_select, listing.defaults))
    return Reply(200, body)


def check_body(
    body: Mapping[str, Any], listing: Listing, read_only: frozenset[str], extra: Sequence[str] = ()
) -> None:
    """Refuse unknown and read-only properties of a POST/PATCH body."""
    for name in body:
        if name.startswith("@odata.") or name in extra:
            continue
        if name not in listing.properties:
            raise bad_request(
                f"Property '{name}' does not exist as a declared property or extension property."
            )
        if name in read_only:
            raise bad_request(f"Property '{name}' is read-only and cannot be set.")


def check_types(body: Mapping[str, Any], listing: Listing) -> None:
    """Each value fits its property's Edm type (strings, booleans, string collections)."""
    for name, value in body.items():
        kind = listing.properties.get(name)
        if kind is None:
            continue
        ok = True
        if kind == "Edm.String":
            ok = value is None or isinstance(value, str)
        elif kind == "Edm.Boolean":
            ok = isinstance(value, bool)
        elif kind == "strings":
            ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
        if not ok:
            raise GraphError(
                400,
                "BadRequest",
                f"Cannot convert the literal '{value}' to the expected type "
                f"'{kind if kind != 'strings' else 'Collection(Edm.String)'}'.",
            )
