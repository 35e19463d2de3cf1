"""Provisioning people to Entra ID / Office 365 (the connector's ``provision`` capability, see
:mod:`credsync.connectors.provisioning`).

* **Facts**: ``GET /domains`` (``isVerified``, ``authenticationType`` Federated / Managed) and
  ``GET /subscribedSkus`` (free seats = ``prepaidUnits.enabled`` - ``consumedUnits``, as
  `subscribedSku <https://learn.microsoft.com/en-us/graph/api/resources/subscribedsku>`_
  defines them).
* **Users**: ``GET /users`` with ``$select`` of what provisioning compares, paged (999 a
  page); ``onPremisesSyncEnabled`` users are managed elsewhere (Graph refuses writes to them).
* **Create**: ``POST /users`` (`create user
  <https://learn.microsoft.com/en-us/graph/api/user-post-users>`_: ``accountEnabled``,
  ``displayName``, ``mailNickname``, ``userPrincipalName`` and ``passwordProfile`` are
  required; ``onPremisesImmutableId`` too when the domain is federated), with the usage
  location in the same request, so that the licence that follows has it. Without a password
  from the vault the user gets a random strong one (Graph requires one) and is disabled.
* **Update**: ``PATCH /users/{id}`` with the fields that differ and, when the vault's password
  is to be set, ``passwordProfile`` (``forceChangePasswordNextSignIn`` false: the vault owns
  the password, as the relay's writes).
* **Licence**: ``POST /users/{id|userPrincipalName}/assignLicense`` (`assignLicense
  <https://learn.microsoft.com/en-us/graph/api/user-assignlicense>`_), ``dependsOn`` the create
  or update in one ``$batch`` group: a refused create gives the licence 424, never a licence
  without its usage location.

* **Remove**: ``DELETE /users/{id}`` (`delete user
  <https://learn.microsoft.com/en-us/graph/api/user-delete>`_: the user goes to deleted items
  for 30 days, restorable).

Groups of requests share ``$batch`` requests and honour throttling through :mod:`._batch`.
"""

from __future__ import annotations

import secrets
import string
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import quote

from credsync.connectors.graph._batch import Inner, reply_error
from credsync.connectors.graph._errors import RETRY_STATUSES, scrub
from credsync.connectors.provisioning import (
    Licence,
    TargetDomain,
    TargetFacts,
    TargetUser,
    UserWrite,
    WriteResult,
)
from credsync.errors import PermanentConnectorError

if TYPE_CHECKING:
    from credsync.connectors.graph.connector import GraphConnector

__all__ = ["PeopleProvisioning", "random_password"]

USER_SELECT = (
    "id,userPrincipalName,displayName,givenName,surname,usageLocation,accountEnabled,"
    "onPremisesImmutableId,onPremisesSyncEnabled,assignedLicenses"
)
_HINT = (
    "the app needs User.ReadWrite.All (create and update users), LicenseAssignment.ReadWrite.All "
    "(licences) and Domain.Read.All or Directory.Read.All (domains, subscriptions)"
)
# the vault's field -> Graph's property
_PROPERTY = {
    "display_name": "displayName",
    "given_name": "givenName",
    "surname": "surname",
    "usage_location": "usageLocation",
    "enabled": "accountEnabled",
}


def random_password() -> str:
    """A strong password nobody knows (a disabled user's until onboarding): 24 characters
    with all four character classes, ASCII only (Entra's rule)."""
    alphabet = string.ascii_letters + string.digits
    body = "".join(secrets.choice(alphabet) for _ in range(20))
    return f"{body}Aa1!"


def _text(value: Any) -> str:
    return str(value) if isinstance(value, str) else ""


def to_target_user(user: dict[str, Any]) -> TargetUser:
    licences = frozenset(
        str(x.get("skuId")).lower()
        for x in user.get("assignedLicenses") or ()
        if isinstance(x, dict) and x.get("skuId")
    )
    return TargetUser(
        object_id=str(user.get("id")),
        username=_text(user.get("userPrincipalName")),
        display_name=_text(user.get("displayName")),
        given_name=_text(user.get("givenName")),
        surname=_text(user.get("surname")),
        usage_location=_text(user.get("usageLocation")).upper(),
        enabled=user.get("accountEnabled") is not False,
        immutable_id=_text(user.get("onPremisesImmutableId")),
        licences=licences,
        managed_elsewhere=user.get("onPremisesSyncEnabled") is True,
    )


def _body(write: UserWrite) -> dict[str, Any]:
    body: dict[str, Any] = {}
    for name, value in write.fields.items():
        body[_PROPERTY[name]] = value if value != "" or name == "enabled" else None
    return body


class PeopleProvisioning:
    """The ``provision`` capability of :class:`GraphConnector` (a mixin, as
    :class:`~credsync.connectors.graph._people.PeopleReads`)."""

    def _graph(self) -> GraphConnector:
        return cast("GraphConnector", self)

    async def _list(self, path: str, where: str, params: dict[str, str]) -> list[dict[str, Any]]:
        graph = self._graph()
        found: list[dict[str, Any]] = []
        pages = graph._client.pages(path, where=where, params=params)
        try:
            async for status, body, response in pages:
                if status != 200 or not isinstance(body, dict):
                    raise graph._raise(status, body, response, where, denied_hint=_HINT,
                                       not_found=PermanentConnectorError)  # fmt: skip
                found.extend(i for i in body.get("value") or () if isinstance(i, dict))
        finally:
            await pages.aclose()
        return found

    async def target_facts(self) -> TargetFacts:
        domains = await self._list("/domains", "list domains", {})
        skus = await self._list("/subscribedSkus", "list subscriptions", {})
        return TargetFacts(
            domains=tuple(
                TargetDomain(
                    name=_text(d.get("id")).lower(),
                    verified=d.get("isVerified") is True,
                    federated=_text(d.get("authenticationType")).lower() == "federated",
                )
                for d in domains
            ),
            licences=tuple(
                Licence(
                    sku_id=_text(s.get("skuId")).lower(),
                    part_number=_text(s.get("skuPartNumber")),
                    enabled=int((s.get("prepaidUnits") or {}).get("enabled") or 0),
                    consumed=int(s.get("consumedUnits") or 0),
                )
                for s in skus
            ),
        )

    async def iter_target_users(self) -> AsyncIterator[TargetUser]:
        graph = self._graph()
        params = {"$select": USER_SELECT, "$top": str(graph._page_size)}
        for user in await self._list("/users", "list users", params):
            yield to_target_user(user)

    async def write_user(self, write: UserWrite) -> WriteResult:
        graph = self._graph()
        group: list[Inner] = []
        password = write.password.reveal() if write.password is not None else ""
        if write.object_id is None:
            alias = write.username.split("@", 1)[0]
            body = {k: v for k, v in _body(write).items() if v is not None}
            body.update(
                userPrincipalName=write.username,
                mailNickname=alias,
                accountEnabled=write.fields.get("enabled") is True,
                passwordProfile={
                    "password": password or random_password(),
                    "forceChangePasswordNextSignIn": False,
                },
            )
            body.setdefault("displayName", alias)
            if write.immutable_id:
                body["onPremisesImmutableId"] = write.immutable_id
            group.append(Inner("POST", "/users", body))
            steps = ["created"]
            user_path = f"/users/{quote(write.username, safe='@')}"
        else:
            user_path = f"/users/{quote(write.object_id, safe='')}"
            body = _body(write)
            steps = []
            if password:
                body["passwordProfile"] = {
                    "password": password,
                    "forceChangePasswordNextSignIn": False,
                }
            if body:
                group.append(Inner("PATCH", user_path, body))
                steps.append("updated")
        if write.licence:
            licence = {"addLicenses": [{"skuId": write.licence, "disabledPlans": []}],
                       "removeLicenses": []}  # fmt: skip
            group.append(Inner("POST", f"{user_path}/assignLicense", licence))
            steps.append("licensed")
        result = WriteResult(write.object_id)
        if not group:
            return result
        replies = await graph._batcher.submit(group)
        changed = bool(write.fields)
        for step, reply in zip(steps, replies, strict=False):
            if not 200 <= reply.status < 300:
                if reply.status == 424:
                    continue  # the step before it failed: its words are the reason
                result.throttled = reply.status in RETRY_STATUSES
                where = f"{step_words(step)} {write.username}"
                err = reply_error(reply, name=graph._name, where=where, denied_hint=_HINT,
                                  password_sent=bool(password) and step != "licensed")  # fmt: skip
                result.error = str(scrub(err, password)) if password else str(err)
                break
            result.writes += 1
            if step == "created" and isinstance(reply.body, dict):
                result.object_id = _text(reply.body.get("id")) or None
            if step != "updated" or changed:
                result.done.append(step)
            if step in ("created", "updated") and password:
                result.done.append("password")
        return result

    async def remove_user(self, object_id: str) -> WriteResult:
        graph = self._graph()
        path = f"/users/{quote(object_id, safe='')}"
        [reply] = await graph._batcher.submit([Inner("DELETE", path)])
        result = WriteResult(object_id)
        if 200 <= reply.status < 300:
            result.done.append("removed")
            result.writes = 1
        else:
            result.throttled = reply.status in RETRY_STATUSES
            where = f"delete user {object_id}"
            result.error = str(reply_error(reply, name=graph._name, where=where, denied_hint=_HINT))
        return result


def step_words(step: str) -> str:
    return {"created": "create user", "updated": "update user", "licensed": "assign a licence to"}[
        step
    ]
