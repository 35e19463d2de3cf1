"""The export of a client's groups to Entra ID / Office 365 (the connector's
``group_export`` capability, see :mod:`credsync.connectors.group_export`).

* **Find by name**: ``GET /groups?$filter=displayName in (...)``, 15 names a request (Graph's
  limit on the values of ``in``); Graph compares the names without regard to case (`advanced
  queries <https://learn.microsoft.com/en-us/graph/aad-advanced-queries>`_: displayName
  supports ``eq`` and ``in`` on groups).
* **Read by id**: ``$filter=id in (...)``, as the import reads groups.
* **Create**: ``POST /groups`` (`create group
  <https://learn.microsoft.com/en-us/graph/api/group-post-groups>`_, Group.Create or
  Group.ReadWrite.All). Graph creates only security groups (``mailEnabled`` false,
  ``securityEnabled`` true, no ``groupTypes``) and Microsoft 365 groups (``groupTypes``
  ``["Unified"]``, ``mailEnabled`` true); mail-enabled security groups and distribution lists
  are Exchange's to create (`groups overview
  <https://learn.microsoft.com/en-us/graph/api/resources/groups-overview>`_), and this
  connector refuses them before asking. ``mailNickname`` is required for both: the wished
  alias with what Graph refuses taken out (spaces, ``@ ( ) < > [ ] \\ , ; : "``, anything not
  ASCII), at most 64 characters, ``group`` when nothing is left. A Microsoft 365 alias another
  object has is Graph's 400 "Another object with the same value for property proxyAddresses
  already exists.", passed on in a PermanentConnectorError.
* **Delete**: ``DELETE /groups/{id}`` (Group.ReadWrite.All); a group already gone is no error.
* **Members**: added with ``PATCH /groups/{id}`` and ``members@odata.bind``, at most 20 a
  request (`add members
  <https://learn.microsoft.com/en-us/graph/api/group-post-members>`_), removed one by one with
  ``DELETE /groups/{id}/members/{member}/$ref`` (GroupMember.ReadWrite.All).

Every request goes through the connector's client: Retry-After and the shared hold after a
429 are honoured as for every other call.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import quote

from credsync.connectors.graph._people import IN_LIMIT, _items, group_kind
from credsync.connectors.group_export import ExportedGroup, GroupDraft
from credsync.connectors.people_source import GroupKind
from credsync.errors import PermanentConnectorError

if TYPE_CHECKING:
    from credsync.connectors.graph.connector import GraphConnector

__all__ = ["GroupWrites", "mail_nickname"]

SELECT = (
    "id,displayName,groupTypes,securityEnabled,mailEnabled,mail,onPremisesSyncEnabled,"
    "createdDateTime"
)
MAX_BIND = 20  # members@odata.bind references in one PATCH
MAX_NICKNAME = 64
_HINT = "the app needs Group.ReadWrite.All (or Group.Create and GroupMember.ReadWrite.All)"
_NOT_IN_NICKNAME = re.compile(r"[^A-Za-z0-9!#$%&'*+\-/=?^_`{|}~.]")


def mail_nickname(wish: str) -> str:
    """The ``mailNickname`` Graph accepts for ``wish`` (see the module docstring)."""
    cleaned = _NOT_IN_NICKNAME.sub("", wish).strip(".")[:MAX_NICKNAME]
    return cleaned or "group"


def to_exported(group: dict[str, Any]) -> ExportedGroup:
    mail = group.get("mail")
    return ExportedGroup(
        object_id=str(group.get("id")),
        name=str(group.get("displayName") or ""),
        type=group_kind(group),
        email=mail if isinstance(mail, str) else "",
        mail_enabled=group.get("mailEnabled") is True,
        synced=group.get("onPremisesSyncEnabled") is True,
        created=str(group.get("createdDateTime") or ""),
    )


def _group_path(group_id: str) -> str:
    return f"/groups/{quote(group_id, safe='')}"


class GroupWrites:
    """The ``group_export`` capability of :class:`GraphConnector` (a mixin, as
    :class:`~credsync.connectors.graph._people.PeopleReads`)."""

    members_per_write = MAX_BIND

    def _graph_w(self) -> GraphConnector:
        return cast("GraphConnector", self)

    async def groups_named(self, names: Sequence[str]) -> list[ExportedGroup]:
        graph = self._graph_w()
        wanted = list(dict.fromkeys(n for n in names if n))
        found: dict[str, ExportedGroup] = {}
        for start in range(0, len(wanted), IN_LIMIT):
            chunk = wanted[start : start + IN_LIMIT]
            quoted = ",".join("'" + n.replace("'", "''") + "'" for n in chunk)
            params = {
                "$select": SELECT,
                "$filter": f"displayName in ({quoted})",
                "$top": str(graph._page_size),
            }
            where = f"find {len(chunk)} groups by name"
            async for item in _items(graph, "/groups", where, params):
                group = to_exported(item)
                found[group.object_id] = group
        return list(found.values())

    async def groups_by_id(self, ids: Sequence[str]) -> list[ExportedGroup]:
        """By ``$filter=id in (...)``, 15 ids a request, as the import reads them."""
        found = await self._graph_w()._by_ids("/groups", SELECT, ids)
        return [to_exported(g) for g in found]

    def _check(self, status: int, body: Any, response: Any, where: str) -> None:
        if status >= 400:
            raise self._graph_w()._raise(
                status, body, response, where,
                denied_hint=_HINT, not_found=PermanentConnectorError,
            )  # fmt: skip

    def cannot_create(self, type: GroupKind, email: str) -> str | None:
        """Graph creates security groups without mail and Microsoft 365 groups only."""
        if type == "security" and email:
            return (
                "a security group with an e-mail is a mail-enabled security group, which "
                "Office 365 can't create through Graph (Exchange can): create it there, or "
                "clear the e-mail to export a security group"
            )
        if type not in ("security", "microsoft365"):
            return f"Graph can't create a group of type {type!r} (Exchange can)"
        return None

    def cannot_change_members(self, group: ExportedGroup) -> str | None:
        """Graph can't write the members of groups synced from on-premises, nor of
        mail-enabled security groups and distribution lists (`groups overview
        <https://learn.microsoft.com/en-us/graph/api/resources/groups-overview>`_)."""
        if group.synced:
            return "its members come from the on-premises directory: not changed here"
        if group.mail_enabled and group.type != "microsoft365":
            return (
                "Graph can't change the members of a mail-enabled security group or a "
                "distribution list (Exchange can): members not kept in step"
            )
        return None

    async def create_group(self, draft: GroupDraft) -> ExportedGroup:
        graph = self._graph_w()
        where = f"create group {draft.name!r}"
        refused = self.cannot_create(draft.type, "")
        if refused is not None:
            raise PermanentConnectorError(f"{graph._name}: {where}: {refused}")
        body: dict[str, Any] = {
            "displayName": draft.name,
            "mailNickname": mail_nickname(draft.nickname),
        }
        if draft.type == "microsoft365":
            body.update(groupTypes=["Unified"], mailEnabled=True, securityEnabled=False)
        else:
            body.update(mailEnabled=False, securityEnabled=True)
        if draft.description:
            body["description"] = draft.description
        response = await graph._client.request("POST", "/groups", where=where, json=body)
        answer = _json(response)
        self._check(response.status_code, answer, response, where)
        if not isinstance(answer, dict):
            raise PermanentConnectorError(f"{graph._name}: {where}: Graph answered no group")
        return to_exported(answer)

    async def delete_group(self, object_id: str) -> None:
        graph = self._graph_w()
        where = f"delete group {object_id}"
        response = await graph._client.request("DELETE", _group_path(object_id), where=where)
        if response.status_code == 404:
            return  # gone already
        self._check(response.status_code, _json(response), response, where)

    async def add_members(self, group_id: str, member_ids: Sequence[str]) -> int:
        graph = self._graph_w()
        ids = list(dict.fromkeys(member_ids))
        writes = 0
        for start in range(0, len(ids), MAX_BIND):
            chunk = ids[start : start + MAX_BIND]
            refs = [f"{graph._client.base}/directoryObjects/{quote(i, safe='')}" for i in chunk]
            where = f"add {len(chunk)} members to group {group_id}"
            response = await graph._client.request(
                "PATCH", _group_path(group_id), where=where, json={"members@odata.bind": refs}
            )
            self._check(response.status_code, _json(response), response, where)
            writes += 1
        return writes

    async def remove_member(self, group_id: str, member_id: str) -> None:
        graph = self._graph_w()
        path = f"{_group_path(group_id)}/members/{quote(member_id, safe='')}/$ref"
        where = f"remove member {member_id} from group {group_id}"
        response = await graph._client.request("DELETE", path, where=where)
        self._check(response.status_code, _json(response), response, where)


def _json(response: Any) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return None
