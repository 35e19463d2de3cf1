"""The import of people and groups from Entra ID (the connector's ``people`` capability, see
:mod:`credsync.connectors.people_source`).

The query language (what ``credsync person import search`` takes for this kind):

* empty: every user / group;
* Graph's own ``$search`` text, when it has a double quote: ``"displayName:jo" OR
  "mail:jo"`` (sent with ``ConsistencyLevel: eventual`` and ``$count=true``, as `Use the
  $search query parameter <https://learn.microsoft.com/en-us/graph/search-query-parameter>`_
  requires);
* ``filter:`` and an OData filter: ``filter:department eq 'Sales'`` (``$filter``, also as an
  advanced query so that ``endswith`` and ``ne`` work; `advanced queries
  <https://learn.microsoft.com/en-us/graph/aad-advanced-queries>`_);
* other words: users whose display name has words starting with them, or whose sign-in
  name or mail starts with them (``"displayName:w" OR "userPrincipalName:w" OR "mail:w"``;
  groups: display name or mail).

Reads by id use ``$filter=id in (...)``, 15 ids a request (Graph's limit on the values of
``in``). Members: ``GET /groups/{id}/members`` (`list group members
<https://learn.microsoft.com/en-us/graph/api/group-list-members>`_, GroupMember.Read.All);
``@odata.type`` tells users from groups; other member types (devices, contacts, service
principals) are skipped. Group types (`groupTypes, mailEnabled, securityEnabled
<https://learn.microsoft.com/en-us/graph/api/resources/groups-overview>`_): ``Unified`` is a
Microsoft 365 group; security-enabled is a security group (mail-enabled or not); mail-enabled
and not security-enabled is a distribution list.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import quote

from credsync.connectors.people_source import (
    DirectoryGroup,
    DirectoryMember,
    DirectoryPerson,
    GroupKind,
)
from credsync.errors import InvalidInput, PermanentConnectorError

if TYPE_CHECKING:
    from credsync.connectors.graph.connector import GraphConnector

__all__ = ["PeopleReads", "search_text"]

PERSON_SELECT = (
    "id,userPrincipalName,displayName,givenName,surname,mail,usageLocation,department,"
    "jobTitle,accountEnabled"
)
GROUP_SELECT = "id,displayName,groupTypes,securityEnabled,mailEnabled,mail,description"
EVENTUAL = {"ConsistencyLevel": "eventual"}
IN_LIMIT = 15
_HINT = "the app needs User.Read.All, Group.Read.All and GroupMember.Read.All"


def search_text(query: str, groups: bool) -> dict[str, str]:
    """The listing parameters of a query (the language in the module docstring)."""
    text = query.strip()
    if not text:
        return {}
    if text.lower().startswith("filter:"):
        return {"$filter": text[len("filter:") :].strip(), "$count": "true"}
    if '"' in text:
        return {"$search": text, "$count": "true"}
    if any(c in text for c in "\\:"):
        raise InvalidInput(
            f'{text!r}: a search is words, Graph\'s $search text ("property:value" clauses '
            "in double quotes), or filter: and an OData filter",
            field="query",
        )
    props = ("displayName", "mail") if groups else ("displayName", "userPrincipalName", "mail")
    return {"$search": " OR ".join(f'"{p}:{text}"' for p in props), "$count": "true"}


def _text(value: Any) -> str:
    return str(value) if isinstance(value, str) else ""


def to_person(user: dict[str, Any]) -> DirectoryPerson:
    return DirectoryPerson(
        object_id=str(user.get("id")),
        username=_text(user.get("userPrincipalName")),
        display_name=_text(user.get("displayName")),
        given_name=_text(user.get("givenName")),
        surname=_text(user.get("surname")),
        email=_text(user.get("mail")),
        usage_location=_text(user.get("usageLocation")),
        department=_text(user.get("department")),
        job_title=_text(user.get("jobTitle")),
        enabled=user.get("accountEnabled") is not False,
    )


def group_kind(group: dict[str, Any]) -> GroupKind:
    if "Unified" in (group.get("groupTypes") or ()):
        return "microsoft365"
    if group.get("securityEnabled") is True:
        return "security"
    return "distribution"


def to_group(group: dict[str, Any]) -> DirectoryGroup:
    return DirectoryGroup(
        object_id=str(group.get("id")),
        name=_text(group.get("displayName")),
        type=group_kind(group),
        email=_text(group.get("mail")),
        description=_text(group.get("description")),
    )


async def _items(
    connector: GraphConnector,
    path: str,
    where: str,
    params: dict[str, str],
    *,
    query: bool = False,
) -> AsyncIterator[dict[str, Any]]:
    eventual = "$search" in params or "$filter" in params or "$count" in params
    pages = connector._client.pages(
        path, where=where, params=params, headers=EVENTUAL if eventual else None
    )
    try:
        async for status, body, response in pages:
            if status == 400 and query:
                words = body.get("error", {}) if isinstance(body, dict) else {}
                message = words.get("message") if isinstance(words, dict) else None
                raise InvalidInput(
                    f"{connector._name}: the directory refused the query: {message or body}",
                    field="query",
                )
            if status != 200 or not isinstance(body, dict):
                raise connector._raise(
                    status, body, response, where,
                    denied_hint=_HINT, not_found=PermanentConnectorError,
                )  # fmt: skip
            for item in body.get("value") or ():
                if isinstance(item, dict):
                    yield item
    finally:
        await pages.aclose()


class PeopleReads:
    """The ``people`` capability of :class:`GraphConnector` (a mixin: the reads live here to
    keep connector.py small)."""

    def _graph(self) -> GraphConnector:
        return cast("GraphConnector", self)

    async def search_people(self, query: str) -> AsyncIterator[DirectoryPerson]:
        graph = self._graph()
        params = {"$select": PERSON_SELECT, "$top": str(graph._page_size)}
        params.update(search_text(query, groups=False))
        async for user in _items(graph, "/users", "search users", params, query=True):
            yield to_person(user)

    async def search_groups(self, query: str) -> AsyncIterator[DirectoryGroup]:
        graph = self._graph()
        params = {"$select": GROUP_SELECT, "$top": str(graph._page_size)}
        params.update(search_text(query, groups=True))
        async for group in _items(graph, "/groups", "search groups", params, query=True):
            yield to_group(group)

    async def _by_ids(self, path: str, select: str, ids: Sequence[str]) -> list[dict[str, Any]]:
        graph = self._graph()
        wanted = list(dict.fromkeys(i.strip() for i in ids if i.strip()))
        found: list[dict[str, Any]] = []
        for start in range(0, len(wanted), IN_LIMIT):
            chunk = wanted[start : start + IN_LIMIT]
            quoted = ",".join("'" + i.replace("'", "''") + "'" for i in chunk)
            params = {"$select": select, "$filter": f"id in ({quoted})"}
            where = f"read {len(chunk)} {path.strip('/')} by id"
            found.extend([item async for item in _items(graph, path, where, params)])
        order = {i: n for n, i in enumerate(wanted)}
        found.sort(key=lambda item: order.get(str(item.get("id")), len(order)))
        return found

    async def read_people(self, ids: Sequence[str]) -> list[DirectoryPerson]:
        return [to_person(u) for u in await self._by_ids("/users", PERSON_SELECT, ids)]

    async def read_groups(self, ids: Sequence[str]) -> list[DirectoryGroup]:
        return [to_group(g) for g in await self._by_ids("/groups", GROUP_SELECT, ids)]

    async def iter_members(self, group_id: str) -> AsyncIterator[DirectoryMember]:
        graph = self._graph()
        path = f"/groups/{quote(group_id, safe='')}/members"
        params = {"$select": "id,displayName", "$top": "999"}
        async for item in _items(graph, path, f"list the members of group {group_id}", params):
            kind = str(item.get("@odata.type") or "")
            name = _text(item.get("displayName"))
            if kind == "#microsoft.graph.user":
                yield DirectoryMember(str(item.get("id")), "person", name)
            elif kind == "#microsoft.graph.group":
                yield DirectoryMember(str(item.get("id")), "group", name)
