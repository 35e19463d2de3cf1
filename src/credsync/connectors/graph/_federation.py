"""A domain federated to the vault, through Graph (the connector's ``federation`` capability,
see :mod:`credsync.connectors.federation`).

* **Domains**: ``GET /domains`` (``isVerified``, ``isDefault``, ``isInitial``,
  ``authenticationType``).
* **Settings**: ``GET /domains/{id}/federationConfiguration`` (0 or 1 object), ``POST`` it
  (201: the domain becomes Federated), ``PATCH`` / ``DELETE
  /domains/{id}/federationConfiguration/{configId}`` (204; DELETE returns the domain to
  Managed): `internalDomainFederation
  <https://learn.microsoft.com/en-us/graph/api/resources/internaldomainfederation>`_. The vault's
  MFA words map to ``federatedIdpMfaBehavior``: enforce = ``enforceMfaByFederatedIdp``, accept
  = ``acceptIfMfaDoneByFederatedIdp``, reject = ``rejectMfaByFederatedIdp``.
* **Users**: ``GET /users`` with ``$select`` of the anchor, filtered to the domain here;
  ``PATCH /users/{id}`` ``onPremisesImmutableId``.
* **Setup check**: the token's ``roles`` must hold Domain-InternalFederation.ReadWrite.All (or
  Domain.ReadWrite.All) and its ``wids`` a directory role that may federate: app-only create
  and delete answer 403 ``Authorization_RequestDenied`` with the permission alone
  (microsoftgraph/microsoft-graph-docs#17415, #19697), Global Administrator or Hybrid Identity
  Administrator lifts it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast
from urllib.parse import quote

from credsync.connectors.federation import (
    DomainUser,
    FederationChange,
    FederationDomain,
    FederationSettings,
    FederationSetup,
)
from credsync.connectors.graph._auth import DEFAULT_AUTHORITY, decode_claims
from credsync.errors import PermanentConnectorError

if TYPE_CHECKING:
    from credsync.connectors.graph.connector import GraphConnector

__all__ = ["FEDERATE_PERMISSIONS", "FEDERATE_ROLES", "NEEDED", "Federation"]

FEDERATE_PERMISSIONS = ("Domain-InternalFederation.ReadWrite.All", "Domain.ReadWrite.All")
# role template id -> name (the roles whose app-only create/delete Graph accepts)
FEDERATE_ROLES = {
    "62e90394-69f5-4237-9190-012177145e10": "Global Administrator",
    "8ac3fc64-6eca-42ea-9e69-59f4c7b60eb2": "Hybrid Identity Administrator",
}
NEEDED = (
    "the app needs Domain-InternalFederation.ReadWrite.All and the Hybrid Identity "
    "Administrator or Global Administrator role: app-only Domain.ReadWrite.All gets 403 on "
    "create and delete"
)
_MFA = {
    "enforce": "enforceMfaByFederatedIdp",
    "accept": "acceptIfMfaDoneByFederatedIdp",
    "reject": "rejectMfaByFederatedIdp",
}
_MFA_BACK = {v: k for k, v in _MFA.items()}
_USER_SELECT = "id,userPrincipalName,onPremisesImmutableId,onPremisesSyncEnabled"


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _settings(body: dict[str, Any]) -> FederationSettings:
    nxt = body.get("nextSigningCertificate")
    return FederationSettings(
        config_id=_text(body.get("id")),
        issuer_uri=_text(body.get("issuerUri")),
        sign_in_uri=_text(body.get("passiveSignInUri")),
        sign_out_uri=_text(body.get("signOutUri")),
        signing_certificate=_text(body.get("signingCertificate")),
        next_signing_certificate=nxt if isinstance(nxt, str) and nxt else None,
        protocol=_text(body.get("preferredAuthenticationProtocol")) or "saml",
        mfa=_MFA_BACK.get(_text(body.get("federatedIdpMfaBehavior")), "accept"),
        display_name=_text(body.get("displayName")),
        metadata_uri=_text(body.get("metadataExchangeUri")),
    )


def _create_body(domain: str, settings: FederationSettings) -> dict[str, Any]:
    body: dict[str, Any] = {
        "displayName": settings.display_name or f"{domain} (credsync)",
        "issuerUri": settings.issuer_uri,
        "passiveSignInUri": settings.sign_in_uri,
        "signOutUri": settings.sign_out_uri,
        "signingCertificate": settings.signing_certificate,
        "preferredAuthenticationProtocol": settings.protocol,
        "federatedIdpMfaBehavior": _MFA[settings.mfa],
        # a sign-in Microsoft asks to be fresh (prompt=login) reaches the vault as SAML's
        # ForceAuthn / WS-Fed's wfresh=0, which the vault honours
        "promptLoginBehavior": "nativeSupport",
    }
    if settings.metadata_uri:
        body["metadataExchangeUri"] = settings.metadata_uri
    if settings.next_signing_certificate:
        body["nextSigningCertificate"] = settings.next_signing_certificate
    return body


def _change_body(change: FederationChange) -> dict[str, Any]:
    names = {
        "signing_certificate": "signingCertificate",
        "next_signing_certificate": "nextSigningCertificate",
        "issuer_uri": "issuerUri",
        "sign_in_uri": "passiveSignInUri",
        "sign_out_uri": "signOutUri",
        "protocol": "preferredAuthenticationProtocol",
    }
    body: dict[str, Any] = {
        prop: getattr(change, name)
        for name, prop in names.items()
        if getattr(change, name) is not None
    }
    if change.mfa is not None:
        body["federatedIdpMfaBehavior"] = _MFA[change.mfa]
    if change.clear_next:
        body["nextSigningCertificate"] = None
    return body


class Federation:
    """The ``federation`` capability of :class:`GraphConnector` (a mixin, as
    :class:`~credsync.connectors.graph._provision.PeopleProvisioning`)."""

    def _fgraph(self) -> GraphConnector:
        return cast("GraphConnector", self)

    def _fed_path(self, domain: str, config_id: str = "") -> str:
        path = f"/domains/{quote(domain, safe='')}/federationConfiguration"
        return f"{path}/{quote(config_id, safe='')}" if config_id else path

    async def _fed_call(
        self, method: str, path: str, where: str, body: Any = None, *, hint: str = NEEDED
    ) -> Any:
        graph = self._fgraph()
        response = await graph._client.request(method, path, where=where, json=body)
        if response.status_code >= 300:
            try:
                payload = response.json() if response.content else None
            except ValueError:
                payload = None
            raise graph._raise(response.status_code, payload, response, where,
                               denied_hint=hint, not_found=PermanentConnectorError)  # fmt: skip
        return response.json() if response.content else None

    async def federation_domains(self) -> tuple[FederationDomain, ...]:
        body = await self._fed_call("GET", "/domains", "list domains",
                                    hint="the app needs Domain.Read.All")  # fmt: skip
        return tuple(
            FederationDomain(
                name=_text(d.get("id")).lower(),
                verified=d.get("isVerified") is True,
                default=d.get("isDefault") is True,
                initial=d.get("isInitial") is True,
                federated=_text(d.get("authenticationType")).lower() == "federated",
            )
            for d in (body or {}).get("value") or ()
            if isinstance(d, dict)
        )

    async def federation_settings(self, domain: str) -> FederationSettings | None:
        where = f"read the federation settings of {domain}"
        body = await self._fed_call("GET", self._fed_path(domain), where)
        found = [i for i in (body or {}).get("value") or () if isinstance(i, dict)]
        return _settings(found[0]) if found else None

    async def create_federation(
        self, domain: str, settings: FederationSettings
    ) -> FederationSettings:
        where = f"federate {domain}"
        body = await self._fed_call("POST", self._fed_path(domain), where,
                                    _create_body(domain, settings))  # fmt: skip
        return _settings(body if isinstance(body, dict) else {})

    async def update_federation(
        self, domain: str, config_id: str, change: FederationChange
    ) -> None:
        where = f"update the federation settings of {domain}"
        await self._fed_call("PATCH", self._fed_path(domain, config_id), where,
                             _change_body(change))  # fmt: skip

    async def delete_federation(self, domain: str, config_id: str) -> None:
        where = f"return {domain} to managed sign-in"
        await self._fed_call("DELETE", self._fed_path(domain, config_id), where)

    async def domain_users(self, domain: str) -> list[DomainUser]:
        graph = self._fgraph()
        suffix = "@" + domain.lower()
        where = "list users"
        params = {"$select": _USER_SELECT, "$top": str(graph._page_size)}
        found: list[DomainUser] = []
        pages = graph._client.pages("/users", where=where, params=params)
        try:
            async for status, body, response in pages:
                if status != 200 or not isinstance(body, dict):
                    raise graph._raise(status, body, response, where,
                                       not_found=PermanentConnectorError)  # fmt: skip
                for user in body.get("value") or ():
                    upn = _text(user.get("userPrincipalName"))
                    if upn.lower().endswith(suffix):
                        found.append(
                            DomainUser(
                                object_id=_text(user.get("id")),
                                username=upn,
                                immutable_id=_text(user.get("onPremisesImmutableId")),
                                managed_elsewhere=user.get("onPremisesSyncEnabled") is True,
                            )
                        )
        finally:
            await pages.aclose()
        return found

    async def set_immutable_id(self, object_id: str, immutable_id: str) -> None:
        where = f"set the immutable id of user {object_id}"
        path = f"/users/{quote(object_id, safe='')}"
        await self._fed_call("PATCH", path, where, {"onPremisesImmutableId": immutable_id},
                             hint="the app needs User.ReadWrite.All")  # fmt: skip

    def federation_login_url(self) -> str:
        """Microsoft's ``https://login.microsoftonline.com/login.srf``, or ``login.srf`` of
        the authority the directory is set to (the simulator's, in tests and demos)."""
        base = (self._fgraph()._config.options.get("authority") or "").strip()
        return f"{(base or DEFAULT_AUTHORITY).rstrip('/')}/login.srf"

    async def federation_setup(self) -> FederationSetup:
        graph = self._fgraph()
        token = await graph._client.auth.token(graph._client.state().token_lock)
        claims = decode_claims(token)
        permissions = tuple(sorted(str(r) for r in claims.get("roles") or ()))
        wids = [str(w).lower() for w in claims.get("wids") or ()]
        roles = tuple(FEDERATE_ROLES[w] for w in wids if w in FEDERATE_ROLES)
        lacks = []
        if not any(p in permissions for p in FEDERATE_PERMISSIONS):
            lacks.append("the permission Domain-InternalFederation.ReadWrite.All")
        if not roles:
            lacks.append("the Hybrid Identity Administrator or Global Administrator role")
        missing = ""
        if lacks:
            missing = f"the app lacks {' and '.join(lacks)}: {NEEDED}"
        return FederationSetup(not lacks, permissions, roles, missing)
