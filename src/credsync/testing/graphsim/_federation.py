"""Writes to a domain's federation settings (``/domains/{id}/federationConfiguration``, one
``internalDomainFederation`` per domain) and the domain's Managed/Federated flip they cause.

What Microsoft documents, and what the simulator does:

- ``POST /domains/{id}/federationConfiguration`` -> 201 with the object and a generated ``id``;
  the domain's ``authenticationType`` becomes ``Federated``
  (https://learn.microsoft.com/en-us/graph/api/domain-post-federationconfiguration).
  ``PATCH .../{configId}`` merges the given properties (204); ``DELETE .../{configId}`` -> 204
  and the domain is ``Managed`` again
  (https://learn.microsoft.com/en-us/graph/api/internaldomainfederation-update,
  https://learn.microsoft.com/en-us/graph/api/internaldomainfederation-delete).
- Constraints: only a verified custom domain; not the initial ``onmicrosoft`` domain ("You can't
  federate the default domain that is provided by Microsoft", the SAML IdP page
  https://learn.microsoft.com/en-us/entra/identity/hybrid/connect/how-to-connect-fed-saml-idp)
  nor the tenant's default domain (a federated domain can't be the default:
  https://learn.microsoft.com/en-us/microsoft-365/troubleshoot/domain-management/cannot-assign-federated-domain-to-user):
  400 ``Request_BadRequest``.
- ``issuerUri`` is unique per tenant ("Microsoft Entra ID has a constraint that doesn't allow
  the IssuerUri property to have the same value for more than one domain",
  https://learn.microsoft.com/en-us/entra/identity/hybrid/connect/how-to-connect-install-multiple-domains):
  Graph answers **409 ``Request_MultipleObjectsWithSameKeyValue``** on a PATCH that reuses
  another domain's issuer (observed: microsoftgraph/msgraph-sdk-powershell#3625); the simulator
  answers the same on POST.
- A second POST on a domain that already has its configuration: the documentation does not say
  what Graph answers; the simulator answers the same 409 (one object per domain, as the
  duplicate-key answer above) with a message naming the domain.
- ``signingCertificate`` is required on POST (creating without one left a domain federated and
  unmanageable: microsoftgraph/microsoft-graph-docs-contrib#1389; the simulator refuses it up
  front) and must be base64 DER of an X.509 certificate ("compatible with the X509Certificate2
  class"); so must ``nextSigningCertificate`` when given. Enumerations are checked.
- Permissions: ``Domain-InternalFederation.ReadWrite.All`` (least) or ``Domain.ReadWrite.All``
  (permissions.json). **App-only POST and DELETE answer 403 ``Authorization_RequestDenied``
  unless the app's service principal holds a directory role that may federate** (reported:
  microsoftgraph/microsoft-graph-docs#17415 and #19697; GET and PATCH work):
  ``tenant.federation_roles`` (default Global Administrator and Hybrid Identity Administrator);
  set it to None to switch the check off.
- Audit: "Set domain authentication" when the flip happens, "Set federation settings on domain"
  on every write (https://learn.microsoft.com/en-us/entra/identity/monitoring-health/reference-audit-activities).
- Propagation: "Your domain may experience an outage that impacts users up to 2 hours after you
  take this step" (the SAML IdP page). ``tenant.federation_delay`` seconds (default 0) delay the
  ``authenticationType`` that ``/domains`` reports; the configuration itself (what sign-in and
  password writes look at) changes at once.
"""

from __future__ import annotations

import base64
import binascii
from typing import TYPE_CHECKING, Any

from cryptography import x509

from . import _audits
from ._errors import GraphError, bad_request, not_found
from ._graph import Ctx, Reply, Router, denied
from ._seed import guid

if TYPE_CHECKING:
    from ._tenant import SimTenant

__all__ = ["PROPERTIES", "register", "reported_domain", "settle"]

CONFLICT = "Request_MultipleObjectsWithSameKeyValue"
ENUMS: dict[str, frozenset[str]] = {
    "preferredAuthenticationProtocol": frozenset({"wsFed", "saml", "unknownFutureValue"}),
    "promptLoginBehavior": frozenset(
        {
            "translateToFreshPasswordAuthentication",
            "nativeSupport",
            "disabled",
            "unknownFutureValue",
        }
    ),
    "federatedIdpMfaBehavior": frozenset(
        {
            "acceptIfMfaDoneByFederatedIdp",
            "enforceMfaByFederatedIdp",
            "rejectMfaByFederatedIdp",
            "unknownFutureValue",
        }
    ),
}
STRINGS = (
    "displayName",
    "issuerUri",
    "metadataExchangeUri",
    "passiveSignInUri",
    "activeSignInUri",
    "signOutUri",
    "passwordResetUri",
)
CERTIFICATES = ("signingCertificate", "nextSigningCertificate")
PROPERTIES = (*STRINGS, *CERTIFICATES, *ENUMS, "isSignedAuthenticationRequestRequired")
_DEFAULTS: dict[str, Any] = {
    **dict.fromkeys(STRINGS),
    **dict.fromkeys(CERTIFICATES),
    "preferredAuthenticationProtocol": None,
    "promptLoginBehavior": None,
    "federatedIdpMfaBehavior": "acceptIfMfaDoneByFederatedIdp",  # "default if never set"
    "isSignedAuthenticationRequestRequired": False,
    "signingCertificateUpdateStatus": None,
}


def _invalid(name: str) -> GraphError:
    return bad_request(
        f"Invalid value specified for property '{name}' of resource 'InternalDomainFederation'."
    )


def _certificate(name: str, value: Any) -> None:
    if value is None and name == "nextSigningCertificate":
        return
    if not isinstance(value, str):
        raise _invalid(name)
    try:
        x509.load_der_x509_certificate(base64.b64decode(value, validate=True))
    except (ValueError, binascii.Error):
        raise _invalid(name) from None


def _check(body: dict[str, Any]) -> dict[str, Any]:
    changes = {k: v for k, v in body.items() if not k.startswith("@odata.")}
    for name in changes:
        if name not in PROPERTIES:
            raise GraphError(
                400,
                "Request_BadRequest",
                f"Property '{name}' does not exist as a declared property or extension property.",
            )
    for name in STRINGS:
        if name in changes and changes[name] is not None and not isinstance(changes[name], str):
            raise _invalid(name)
    for name, allowed in ENUMS.items():
        if name in changes and changes[name] not in allowed:
            raise _invalid(name)
    if not isinstance(changes.get("isSignedAuthenticationRequestRequired", False), bool):
        raise _invalid("isSignedAuthenticationRequestRequired")
    for name in CERTIFICATES:
        if name in changes:
            _certificate(name, changes[name])
    return changes


def _domain(ctx: Ctx) -> dict[str, Any]:
    key = ctx.params["id"].lower()
    for domain in ctx.tenant.domains:
        if domain["id"].lower() == key:
            return domain
    raise not_found(ctx.params["id"])


def _may_federate(ctx: Ctx) -> None:
    roles = ctx.tenant.federation_roles
    if roles is not None and ctx.app.directory_role not in roles:
        raise denied()


def _unique_issuer(tenant: SimTenant, issuer: Any, domain: str) -> None:
    for other, config in tenant.federation.items():
        if other != domain and issuer is not None and config.get("issuerUri") == issuer:
            raise GraphError(
                409,
                CONFLICT,
                "Another object with the same value for property issuerUri already exists.",
            )


def _flip(tenant: SimTenant, record: dict[str, Any], kind: str) -> None:
    """Set the domain's authenticationType now, or after the propagation delay."""
    key = record["id"].lower()
    if tenant.federation_delay > 0:
        tenant.pending_auth[key] = (tenant.clock.timestamp() + tenant.federation_delay, kind)
    else:
        tenant.pending_auth.pop(key, None)
        record["authenticationType"] = kind


def settle(tenant: SimTenant) -> None:
    """Apply the authenticationType flips whose propagation delay is over."""
    now = tenant.clock.timestamp()
    for key, (when, kind) in list(tenant.pending_auth.items()):
        if when <= now:
            for record in tenant.domains:
                if record["id"].lower() == key:
                    record["authenticationType"] = kind
            del tenant.pending_auth[key]


def reported_domain(tenant: SimTenant, record: dict[str, Any]) -> dict[str, Any]:
    settle(tenant)
    return record


def create(ctx: Ctx) -> Reply:
    tenant = ctx.tenant
    with tenant.store.lock:
        record = _domain(ctx)
        key = record["id"].lower()
        if not record["isVerified"]:
            raise bad_request(f"Domain '{record['id']}' is unverified: verify it first.")
        if record["isInitial"]:
            raise bad_request(
                f"Domain '{record['id']}' is the initial domain provided by Microsoft: it "
                "cannot be federated."
            )
        if record["isDefault"]:
            raise bad_request(
                f"Domain '{record['id']}' is the default domain: federating the default domain "
                "is not allowed."
            )
        _may_federate(ctx)
        changes = _check(ctx.json())
        for name in ("issuerUri", "signingCertificate"):
            if not changes.get(name):
                raise _invalid(name)
        if key in tenant.federation:
            raise GraphError(
                409, CONFLICT, f"Domain '{record['id']}' already has a federation configuration."
            )
        _unique_issuer(tenant, changes["issuerUri"], key)
        config: dict[str, Any] = {"id": guid(tenant.rng), **_DEFAULTS, **changes}
        tenant.federation[key] = config
        _flip(tenant, record, "Federated")
        _audits.record_domain_change(tenant, ctx.app, record, _audits.SET_AUTHENTICATION)
        _audits.record_domain_change(tenant, ctx.app, record, _audits.SET_FEDERATION)
        body: dict[str, Any] = {
            "@odata.context": ctx.context_url(
                f"domains('{record['id']}')/federationConfiguration/$entity"
            )
        }
        body.update(config)
    return Reply(201, body)


def _config(ctx: Ctx) -> tuple[dict[str, Any], dict[str, Any]]:
    record = _domain(ctx)
    config = ctx.tenant.federation.get(record["id"].lower())
    if config is None or config["id"] != ctx.params["config"]:
        raise not_found(ctx.params["config"])
    return record, config


def update(ctx: Ctx) -> Reply:
    tenant = ctx.tenant
    with tenant.store.lock:
        record, config = _config(ctx)
        changes = _check(ctx.json())
        if "signingCertificate" in changes and changes["signingCertificate"] is None:
            raise _invalid("signingCertificate")
        if "issuerUri" in changes:
            if not changes["issuerUri"]:
                raise _invalid("issuerUri")
            _unique_issuer(tenant, changes["issuerUri"], record["id"].lower())
        config.update(changes)
        _audits.record_domain_change(tenant, ctx.app, record, _audits.SET_FEDERATION)
    return Reply(204)


def delete(ctx: Ctx) -> Reply:
    tenant = ctx.tenant
    with tenant.store.lock:
        record = _config(ctx)[0]
        _may_federate(ctx)
        del tenant.federation[record["id"].lower()]
        _flip(tenant, record, "Managed")
        _audits.record_domain_change(tenant, ctx.app, record, _audits.SET_AUTHENTICATION)
    return Reply(204)


def register(router: Router) -> None:
    router.add("POST", "/domains/{id}/federationConfiguration", create)
    item = "/domains/{id}/federationConfiguration/{config}"
    router.add("PATCH", item, update, key="PATCH /domains/{id}/federationConfiguration/{id}")
    router.add("DELETE", item, delete, key="DELETE /domains/{id}/federationConfiguration/{id}")
