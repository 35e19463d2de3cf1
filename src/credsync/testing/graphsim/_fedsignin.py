"""Test helpers for federated sign-in at the simulator, over plain HTTPS (no browser), for the
tests of an identity provider (the vault's) that Office 365 trusts:

    hop = start_federated_sign_in(sim, "ada@fed.contoso.test")   # Entra sends the user...
    hop.method, hop.url, hop.fields          # ...to the IdP: POST SAMLRequest + RelayState
    request = read_authn_request(hop.fields)  # (ID for InResponseTo, the ACS URL, ...)
    # ... the IdP signs the user in and builds its signed SAMLResponse ...
    outcome = post_to_login_srf(sim, {"SAMLResponse": b64, "RelayState": hop.relay_state})
    assert outcome.ok, outcome.code           # e.g. 50107 on an issuer mismatch

``start_federated_sign_in`` with ``authorize_url`` plays the app's authorize request instead
(the user types the name on the simulator's page): ``post_to_login_srf`` then answers the app's
redirect URI with a code in ``location``. ``sign_in_entries(tenant)`` lists the sign-in log.
"""

from __future__ import annotations

import base64
import binascii
import html
import re
import ssl
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx
from lxml import etree

if TYPE_CHECKING:
    from ._simulator import GraphSimulator

__all__ = [
    "FederatedSignIn",
    "IdpRequest",
    "post_to_login_srf",
    "read_authn_request",
    "start_federated_sign_in",
]

_FORM = re.compile(r'<form method="post" action="([^"]*)">(.*?)</form>', re.S)
_FIELD = re.compile(r'name="([^"]*)" value="([^"]*)"')
_CODE = re.compile(r"AADSTS(\d+): ([^<]*)")


@dataclass(frozen=True)
class IdpRequest:
    """Where the simulator sends the browser: ``method`` "POST" (the SAML HTTP-POST binding:
    post ``fields`` to ``url``) or "GET" (WS-Fed: open ``url``, whose query is ``fields``)."""

    method: str
    url: str
    fields: dict[str, str]

    @property
    def protocol(self) -> str:
        return "saml" if "SAMLRequest" in self.fields else "wsFed"

    @property
    def relay_state(self) -> str:
        """What the answer must carry back: ``RelayState`` (SAML) or ``wctx`` (WS-Fed)."""
        return self.fields.get("RelayState") or self.fields.get("wctx", "")


@dataclass(frozen=True)
class FederatedSignIn:
    """The simulator's answer at login.srf: ``ok``, or the AADSTS ``code`` and its text."""

    ok: bool
    code: int | None = None
    description: str = field(default="", repr=False)
    location: str | None = None  # the app's redirect URI with code and state (an app's flow)
    upn: str | None = None  # who the "signed in" page names (no app's flow)
    cookies: dict[str, str] = field(default_factory=dict, repr=False)

    def __bool__(self) -> bool:
        return self.ok


def _client(sim: GraphSimulator) -> httpx.Client:
    context = ssl.create_default_context(cafile=str(sim.ca_file))
    return httpx.Client(verify=context, trust_env=False, timeout=30)


def _error_text(text: str) -> tuple[int | None, str]:
    match = _CODE.search(text)
    if match is None:
        return None, "the page gave no error text"
    return int(match.group(1)), html.unescape(match.group(2))


def _posted(text: str) -> tuple[str, dict[str, str]] | None:
    found = _FORM.search(text)
    if found is None or "Working..." not in text:
        return None
    fields = {html.unescape(k): html.unescape(v) for k, v in _FIELD.findall(found.group(2))}
    return html.unescape(found.group(1)), fields


def start_federated_sign_in(
    sim: GraphSimulator, upn: str, *, authorize_url: str | None = None
) -> IdpRequest:
    """Start a sign-in for ``upn`` of a federated domain: at ``/{tenant}/login?user=``, or
    (``authorize_url``) by typing the name on the sign-in page of an app's authorize request.
    ValueError with the page's AADSTS text when the simulator sends the user nowhere."""
    with _client(sim) as http:
        if authorize_url is not None:
            answer = http.post(authorize_url, data={"login": upn, "passwd": ""})
        else:
            tenant = sim.find_tenant(upn.rsplit("@", 1)[-1])
            if tenant is None:
                raise ValueError(f"no tenant of this simulator has the domain of {upn!r}")
            answer = http.get(f"{sim.url}/{tenant.id}/login", params={"user": upn})
    if answer.status_code in (301, 302, 303):
        location = str(answer.headers["location"])
        return IdpRequest("GET", location, dict(parse_qsl(urlsplit(location).query)))
    posted = _posted(answer.text) if answer.status_code == 200 else None
    if posted is None or "SAMLRequest" not in posted[1]:
        raise ValueError(_error_text(answer.text)[1])
    return IdpRequest("POST", posted[0], posted[1])


def read_authn_request(fields: dict[str, str]) -> dict[str, Any]:
    """The AuthnRequest of a SAML hop: ``id``, ``issuer``, ``destination``, ``acs_url``,
    ``issue_instant``, ``name_id_format``."""
    try:
        data = base64.b64decode(fields["SAMLRequest"])
    except (KeyError, binascii.Error) as exc:
        raise ValueError("no SAMLRequest in these fields") from exc
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    root = etree.fromstring(data, parser=parser)
    ns = {"p": "urn:oasis:names:tc:SAML:2.0:protocol", "a": "urn:oasis:names:tc:SAML:2.0:assertion"}
    policy = root.find("p:NameIDPolicy", ns)
    issuer = root.find("a:Issuer", ns)
    return {
        "id": root.get("ID"),
        "issuer": issuer.text if issuer is not None else None,
        "destination": root.get("Destination"),
        "acs_url": root.get("AssertionConsumerServiceURL"),
        "issue_instant": root.get("IssueInstant"),
        "name_id_format": policy.get("Format") if policy is not None else None,
    }


def post_to_login_srf(sim: GraphSimulator, fields: dict[str, str]) -> FederatedSignIn:
    """Post an identity provider's answer (``SAMLResponse`` + ``RelayState``, or ``wa``,
    ``wresult``, ``wctx``) to the simulator's login.srf, as the browser's auto-post would."""
    with _client(sim) as http:
        answer = http.post(f"{sim.url}/login.srf", data=fields)
    cookies = dict(answer.cookies.items())
    if answer.status_code in (301, 302, 303):
        return FederatedSignIn(True, location=str(answer.headers["location"]), cookies=cookies)
    if answer.status_code == 200:
        posted = _posted(answer.text)
        if posted is not None:
            location = f"{posted[0]}?{urlencode(posted[1])}"
            return FederatedSignIn(True, location=location, cookies=cookies)
        who = re.search(r'id="signed-in" data-upn="([^"]*)"', answer.text)
        if who is not None:
            return FederatedSignIn(True, upn=html.unescape(who.group(1)), cookies=cookies)
    code, text = _error_text(answer.text)
    return FederatedSignIn(False, code, text)
