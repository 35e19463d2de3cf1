"""Deleted and disabled users and groups of Entra ID, and their restore (the connector's
``deleted_objects`` capability, see :mod:`credsync.connectors.deleted_objects`).

* **States**: live users and groups are read by id (``$filter=id in (...)``, 15 ids a
  request, as the import's reads); a user with ``accountEnabled`` false is ``disabled``. An
  id not among the live ones is asked of the deleted items, ``GET
  /directory/deletedItems/{id}`` (`get deleted item
  <https://learn.microsoft.com/en-us/graph/api/directory-deleteditems-get>`_): there it is
  ``deleted``, with its ``deletedDateTime``, restorable (Entra keeps it 30 days); a 404 is
  ``gone`` (purged, or past the 30 days). When more than a few ids are not live, the deleted
  items of that type are listed instead (``GET /directory/deletedItems/microsoft.graph.user``,
  999 a page: `list deleted items
  <https://learn.microsoft.com/en-us/graph/api/directory-deleteditems-list>`_): one request
  per 999 deleted objects of the tenant rather than one per missing id.
* **The name a deleted user had**: Entra frees a deleted user's sign-in name by prefixing
  its object id without dashes to it (reference/capture-and-identity.md 4.2): that prefix is
  taken off again.
* **Restore**: ``POST /directory/deletedItems/{id}/restore`` (`restore deleted item
  <https://learn.microsoft.com/en-us/graph/api/directory-deleteditems-restore>`_,
  User.DeleteRestore.All for users, Group.ReadWrite.All for groups). A user's body has
  ``newUserPrincipalName`` when a new name is asked for (the old one taken by a live user
  fails the restore otherwise: the 400 becomes an InvalidInput naming ``new_username``) and
  always ``autoReconcileProxyConflict: true``: the vault keeps no proxy (mail) addresses, so a
  restore is not refused over an alias another object took meanwhile; Entra drops that alias
  from the restored user instead.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import quote

from credsync.connectors.base import Account
from credsync.connectors.deleted_objects import ObjectKind, ObjectState, ObjectStatus
from credsync.connectors.graph._errors import graph_words
from credsync.errors import AccountNotFound, InvalidInput, PermanentConnectorError

if TYPE_CHECKING:
    from credsync.connectors.graph.connector import GraphConnector

__all__ = ["DeletedReads", "original_name"]

_USER_SELECT = "id,userPrincipalName,accountEnabled"
_GROUP_SELECT = "id,displayName"
_DELETED_SELECT: dict[ObjectKind, str] = {
    "person": "id,userPrincipalName,displayName,deletedDateTime",
    "group": "id,displayName,deletedDateTime",
}
_ONE_BY_ONE = 10  # missing ids asked one by one; more: the deleted items listed
_RESTORE_HINT = "the app needs User.DeleteRestore.All (users) and Group.ReadWrite.All (groups)"


def original_name(object_id: str, upn: str) -> str:
    """A deleted user's sign-in name without the object id Entra prefixed to it."""
    prefix = object_id.replace("-", "")
    return upn[len(prefix) :] if prefix and upn.lower().startswith(prefix.lower()) else upn


def _when(value: Any) -> dt.datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _live(kind: ObjectKind, item: dict[str, Any]) -> ObjectStatus:
    object_id = str(item.get("id"))
    if kind == "group":
        return ObjectStatus(object_id, kind, "live", str(item.get("displayName") or ""))
    state: ObjectState = "disabled" if item.get("accountEnabled") is False else "live"
    return ObjectStatus(object_id, kind, state, str(item.get("userPrincipalName") or ""))


def _deleted(kind: ObjectKind, item: dict[str, Any]) -> ObjectStatus:
    object_id = str(item.get("id"))
    if kind == "group":
        name = str(item.get("displayName") or "")
    else:
        name = original_name(object_id, str(item.get("userPrincipalName") or ""))
    when = _when(item.get("deletedDateTime"))
    return ObjectStatus(object_id, kind, "deleted", name, when, restorable=True)


class DeletedReads:
    """The ``deleted_objects`` capability of :class:`GraphConnector` (a mixin, as
    :class:`~credsync.connectors.graph._people.PeopleReads`)."""

    def _graph_connector(self) -> GraphConnector:
        return cast("GraphConnector", self)

    async def _deleted_item(self, kind: ObjectKind, object_id: str) -> ObjectStatus:
        graph = self._graph_connector()
        where = f"read deleted item {object_id}"
        path = f"/directory/deletedItems/{quote(object_id, safe='')}"
        status, body, response = await graph._client.get_json(
            path, where=where, params={"$select": _DELETED_SELECT[kind]}
        )
        if status == 404:  # only a 404 is "gone": anything else is an error, never a guess
            return ObjectStatus(object_id, kind, "gone")
        if status != 200 or not isinstance(body, dict):
            raise graph._raise(status, body, response, where, not_found=PermanentConnectorError)
        found_type = str(body.get("@odata.type") or "")
        if found_type and found_type != f"#microsoft.graph.{_GRAPH_TYPE[kind]}":
            return ObjectStatus(object_id, kind, "gone")  # another kind of object has the id
        return _deleted(kind, body)

    async def object_states(
        self, people: Sequence[str], groups: Sequence[str]
    ) -> list[ObjectStatus]:
        graph = self._graph_connector()
        found: dict[tuple[ObjectKind, str], ObjectStatus] = {}
        asked: list[tuple[ObjectKind, str]] = [
            *(("person", i) for i in dict.fromkeys(people)),
            *(("group", i) for i in dict.fromkeys(groups)),
        ]
        for kind, ids, path, select in (
            ("person", people, "/users", _USER_SELECT),
            ("group", groups, "/groups", _GROUP_SELECT),
        ):
            valid = [i for i in dict.fromkeys(ids) if _is_guid(i)]
            for item in await graph._by_ids(path, select, valid):
                status = _live(cast(ObjectKind, kind), item)
                found[(status.kind, status.object_id)] = status
        listed: set[ObjectKind] = set()  # kinds whose deleted items were all read
        kinds: tuple[ObjectKind, ...] = ("person", "group")
        for kind in kinds:
            missing = [i for k, i in asked if k == kind and (k, i) not in found]
            if len([i for i in missing if _is_guid(i)]) > _ONE_BY_ONE:
                for status in await self._deleted_listing(kind, set(missing)):
                    found[(kind, status.object_id)] = status
                listed.add(kind)
        for kind, object_id in asked:
            if (kind, object_id) not in found:
                found[(kind, object_id)] = (
                    await self._deleted_item(kind, object_id)
                    if _is_guid(object_id) and kind not in listed
                    else ObjectStatus(object_id, kind, "gone")
                )
        return [found[key] for key in asked]

    async def _deleted_listing(self, kind: ObjectKind, wanted: set[str]) -> list[ObjectStatus]:
        """The deleted items of ``kind`` whose ids are ``wanted`` (the whole listing read)."""
        graph = self._graph_connector()
        path = f"/directory/deletedItems/microsoft.graph.{_GRAPH_TYPE[kind]}"
        params = {"$select": _DELETED_SELECT[kind], "$top": "999"}
        where = f"list deleted {_GRAPH_TYPE[kind]}s"
        found: list[ObjectStatus] = []
        pages = graph._client.pages(path, where=where, params=params)
        try:
            async for status, body, response in pages:
                if status != 200 or not isinstance(body, dict):
                    raise graph._raise(status, body, response, where,
                                       not_found=PermanentConnectorError)  # fmt: skip
                for item in body.get("value") or ():
                    if isinstance(item, dict) and str(item.get("id")) in wanted:
                        found.append(_deleted(kind, item))
        finally:
            await pages.aclose()
        return found

    async def restore(
        self, object_id: str, kind: ObjectKind, *, new_username: str | None = None
    ) -> ObjectStatus:
        graph = self._graph_connector()
        if not _is_guid(object_id):
            raise AccountNotFound(f"{graph._name}: not a Graph object id: {object_id!r}")
        where = f"restore deleted {_GRAPH_TYPE[kind]} {object_id}"
        body: dict[str, Any] = {}
        if kind == "person":
            body["autoReconcileProxyConflict"] = True
            if new_username:
                body["newUserPrincipalName"] = new_username
        response = await graph._client.request(
            "POST",
            f"/directory/deletedItems/{quote(object_id, safe='')}/restore",
            where=where,
            json=body,
        )
        answer: Any = response.json() if response.content else None
        if response.status_code == 400 and kind == "person":
            _code, message = graph_words(answer)
            raise InvalidInput(
                f"{graph._name}: the directory refused the restore: {message or answer}",
                field="new_username",
            )
        if response.status_code == 404:
            raise AccountNotFound(
                f"{graph._name}: {where}: not among the deleted items (restored already, or "
                "gone for good)"
            )
        if response.status_code != 200 or not isinstance(answer, dict):
            raise graph._raise(
                response.status_code, answer, response, where, denied_hint=_RESTORE_HINT
            )
        [status] = await self.object_states(
            [object_id] if kind == "person" else [], [object_id] if kind == "group" else []
        )
        return status

    async def enable(self, object_id: str) -> None:
        """``accountEnabled`` true (``PATCH /users/{id}``, as a relay's mirror of a source's
        disable state does)."""
        graph = self._graph_connector()
        if not _is_guid(object_id):
            raise AccountNotFound(f"{graph._name}: not a Graph object id: {object_id!r}")
        await graph.set_enabled(Account(id=object_id, username=object_id), True)


_GRAPH_TYPE: dict[ObjectKind, str] = {"person": "user", "group": "group"}


def _is_guid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True
