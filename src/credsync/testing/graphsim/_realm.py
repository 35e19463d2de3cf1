"""Home realm discovery for federated domains and the sign-in requests sent to their identity
providers (the other half, the answer at ``login.srf``, is ``_loginsrf``'s).

As Microsoft documents it:

- ``GET /getuserrealm.srf?login=`` (:func:`get_user_realm`): the realm of a user name as the
  sign-in page asks it. For a federated domain ``NameSpaceType`` "Federated", ``AuthURL`` the
  domain's ``passiveSignInUri``, ``CloudInstanceIssuerUri`` ``urn:federation:MicrosoftOnline``,
  ``FederationBrandName`` and the protocol (``FederationProtocol`` "WSTrust" for wsFed, "SAML20"
  for saml); for a managed one "Managed"; otherwise "Unknown" (shape as
  https://github.com/toneillcodes/EntraID-API-Library/blob/main/apis/web/recon/user-realm-discovery.md
  records it; Microsoft documents the endpoint only through msal's ``/common/userrealm``).
- The sign-in hop (:meth:`Federation.start`): when the user name typed on the sign-in page (or
  an authorize request's ``login_hint``, a ``domain_hint`` naming the domain, or
  ``/{tenant}/login?user=``) is in a federated domain, the browser is sent to the identity
  provider instead of being asked for a password:
  - ``saml``: an auto-posting form to ``passiveSignInUri`` with ``SAMLRequest`` (base64 of an
    ``AuthnRequest``: ID, Version 2.0, IssueInstant, Destination, AssertionConsumerServiceURL
    ``{sim.url}/login.srf``, Issuer ``urn:federation:MicrosoftOnline``, NameIDPolicy persistent)
    and ``RelayState``. The HTTP-POST binding, because "Microsoft Entra ID uses HTTP POST for
    the authentication request to the identity provider and REDIRECT for the sign out message"
    (https://learn.microsoft.com/en-us/entra/identity/hybrid/connect/how-to-connect-fed-saml-idp,
    "Supported bindings"); the request is not signed (``isSignedAuthenticationRequestRequired``
    is not modelled).
  - ``wsFed``: a redirect to ``passiveSignInUri?wa=wsignin1.0&wtrealm=urn:federation:MicrosoftOnline
    &wctx=...&username=...`` (the MS-WSFED passive requestor profile, as Entra sends it to AD FS).
- Each hop is an outstanding request (its id is the AuthnRequest ID, or the ``wctx``): the
  tenant, the domain, the authorize request it belongs to (if any), issued and expiring on the
  simulator's clock (``REQUEST_LIFETIME``); ``login.srf`` spends it once (a replay is refused).
  A configuration without ``preferredAuthenticationProtocol`` is taken as wsFed; one without
  an https ``passiveSignInUri`` answers AADSTS20001 (no hop).
  Assertion ids are remembered until their NotOnOrAfter too, so an unsolicited (IdP-initiated)
  response cannot be replayed either.
"""

from __future__ import annotations

import base64
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode
from xml.sax.saxutils import escape, quoteattr

from ._authorize import AuthorizeRequest
from ._errors import AadError
from ._saml import AUDIENCE
from ._tenant import SimTenant

__all__ = [
    "REQUEST_LIFETIME",
    "Federation",
    "Hop",
    "Outstanding",
    "get_user_realm",
    "protocol_of",
    "realm_of",
]

REQUEST_LIFETIME = 900  # seconds an identity provider has to answer (Entra's flow token: 15 min)
PERSISTENT = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"


@dataclass(frozen=True)
class Hop:
    """Where the browser goes next: ``method`` "POST" (an auto-posting form with ``fields``) or
    "GET" (a redirect to ``url``, whose query ``fields`` also lists)."""

    method: str
    url: str
    fields: dict[str, str]
    protocol: str
    request_id: str


@dataclass
class Outstanding:
    id: str
    tenant_id: str
    domain: str
    protocol: str
    login: str | None
    flow: AuthorizeRequest | None = field(repr=False)
    issued: float
    expires: float
    used: bool = False


def realm_of(tenant: SimTenant | None, login: str) -> tuple[str, dict[str, Any] | None] | None:
    """(domain, its federationConfiguration or None if managed) for ``login``'s domain, or None
    when ``tenant`` has no such verified domain. A subdomain follows its root's settings
    (https://learn.microsoft.com/en-us/entra/identity/hybrid/connect/how-to-connect-install-multiple-domains)."""
    if tenant is None or "@" not in login:
        return None
    domain = login.rsplit("@", 1)[-1].strip().lower()
    names = tenant.domain_names()
    probe = domain
    while True:
        if probe in tenant.federation:
            return domain, tenant.federation[probe]
        if "." not in probe:
            break
        probe = probe.split(".", 1)[1]
    return (domain, None) if domain in names else None


def protocol_of(config: dict[str, Any]) -> str:
    """``preferredAuthenticationProtocol``; a configuration written without one is taken as
    WS-Federation, the protocol Entra federated domains used before the property existed."""
    return "saml" if config.get("preferredAuthenticationProtocol") == "saml" else "wsFed"


def get_user_realm(tenant: SimTenant | None, login: str) -> dict[str, Any]:
    found = realm_of(tenant, login)
    if found is None:
        return {"State": 4, "UserState": 1, "Login": login, "NameSpaceType": "Unknown"}
    domain, config = found
    answer: dict[str, Any] = {
        "State": 4,
        "UserState": 1,
        "Login": login,
        "NameSpaceType": "Managed",
        "DomainName": domain,
        "FederationBrandName": tenant.name if tenant is not None else domain,
        "CloudInstanceName": "microsoftonline.com",
        "CloudInstanceIssuerUri": AUDIENCE,
    }
    if config is not None:
        answer.update(
            State=3,
            UserState=2,
            NameSpaceType="Federated",
            AuthURL=_auth_url(config, login),
            FederationProtocol="SAML20" if protocol_of(config) == "saml" else "WSTrust",
            FederationGlobalVersion=-1,
            FederationBrandName=config.get("displayName") or answer["FederationBrandName"],
        )
    return answer


def _auth_url(config: dict[str, Any], login: str) -> str:
    uri = str(config.get("passiveSignInUri") or "")
    if protocol_of(config) == "saml":
        return uri
    separator = "&" if "?" in uri else "?"
    return (
        f"{uri}{separator}{urlencode({'username': login, 'wa': 'wsignin1.0', 'wtrealm': AUDIENCE})}"
    )


def _instant(stamp: float) -> str:
    return datetime.fromtimestamp(stamp, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def authn_request(request_id: str, stamp: float, destination: str, acs: str) -> str:
    return (
        '<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" '
        f'ID="{request_id}" Version="2.0" IssueInstant="{_instant(stamp)}" '
        f"Destination={quoteattr(destination)} AssertionConsumerServiceURL={quoteattr(acs)} "
        'ProtocolBinding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST">'
        f'<Issuer xmlns="urn:oasis:names:tc:SAML:2.0:assertion">{escape(AUDIENCE)}</Issuer>'
        f'<samlp:NameIDPolicy Format="{PERSISTENT}" AllowCreate="true"/></samlp:AuthnRequest>'
    )


class Federation:
    """The outstanding requests and the assertion ids already used (thread-safe)."""

    def __init__(self, timestamp: Callable[[], float]) -> None:
        self._now = timestamp
        self._lock = threading.Lock()
        self._requests: dict[str, Outstanding] = {}
        self._assertions: dict[str, float] = {}  # assertion id -> forget after (timestamp)

    def start(
        self,
        tenant: SimTenant,
        login: str | None,
        domain: str,
        config: dict[str, Any],
        base: str,
        flow: AuthorizeRequest | None = None,
    ) -> Hop:
        """Record an outstanding request and say where the browser goes."""
        protocol = protocol_of(config)
        passive = str(config.get("passiveSignInUri") or "")
        if not passive.startswith("https://"):
            # Microsoft names no number for a realm without a usable passive sign-in address;
            # AADSTS20001 is the reference page's "an issue with your federated Identity
            # Provider" (https://learn.microsoft.com/entra/identity-platform/reference-error-codes)
            raise AadError(
                400,
                "invalid_request",
                20001,
                f"There's an issue with your federated Identity Provider: the domain {domain} "
                "has no https passiveSignInUri.",
            )
        now = self._now()
        request_id = "_" + secrets.token_hex(16)
        with self._lock:
            self._expire(now)
            self._requests[request_id] = Outstanding(
                id=request_id,
                tenant_id=tenant.id,
                domain=domain,
                protocol=protocol,
                login=login,
                flow=flow,
                issued=now,
                expires=now + REQUEST_LIFETIME,
            )
        if protocol == "saml":
            xml = authn_request(request_id, now, passive, f"{base}/login.srf")
            fields = {
                "SAMLRequest": base64.b64encode(xml.encode("utf-8")).decode("ascii"),
                "RelayState": request_id,
            }
            return Hop("POST", passive, fields, protocol, request_id)
        fields = {"wa": "wsignin1.0", "wtrealm": AUDIENCE, "wctx": request_id}
        if login:
            fields["username"] = login
        separator = "&" if "?" in passive else "?"
        return Hop("GET", f"{passive}{separator}{urlencode(fields)}", fields, protocol, request_id)

    def peek(self, request_id: str | None) -> Outstanding | None:
        """The outstanding request ``request_id`` names (spent or not), if any."""
        if not request_id:
            return None
        with self._lock:
            return self._requests.get(request_id)

    def spend(self, request_id: str) -> Outstanding | None:
        """Use ``request_id`` once: None when it was never issued, is spent or has expired."""
        now = self._now()
        with self._lock:
            found = self._requests.get(request_id)
            if found is None or found.used or now >= found.expires:
                return None
            found.used = True
            return found

    def first_use(self, assertion_id: str, until: float) -> bool:
        """Whether ``assertion_id`` is seen for the first time (remembered until ``until``)."""
        now = self._now()
        with self._lock:
            self._expire(now)
            if assertion_id in self._assertions:
                return False
            self._assertions[assertion_id] = max(until, now + REQUEST_LIFETIME)
            return True

    def _expire(self, now: float) -> None:
        """Forget what can no longer matter (callers hold the lock)."""
        if len(self._requests) > 10_000:
            for key in [k for k, r in self._requests.items() if now >= r.expires + 3600]:
                del self._requests[key]
        if len(self._assertions) > 10_000:
            for key in [k for k, t in self._assertions.items() if now >= t]:
                del self._assertions[key]
