"""What Entra sends the identity provider, parsed and checked (README: identity provider).

- **SAML 2.0 AuthnRequest**, HTTP-Redirect binding (``SAMLRequest`` = base64 of raw DEFLATE)
  or HTTP-POST binding (``SAMLRequest`` = base64): its ``ID``, its ``Issuer`` (must be
  ``urn:federation:MicrosoftOnline``), its ``AssertionConsumerServiceURL`` (when given, must
  equal the domain's ``login_url``: a signed assertion is never posted to an address the
  vault doesn't know) and ``ForceAuthn``.
- **SAML 2.0 LogoutRequest** (redirect or POST): its ``ID`` and ``Issuer``.
- **WS-Federation passive**: ``wa=wsignin1.0`` with ``wtrealm=urn:federation:MicrosoftOnline``
  and ``wctx`` (kept as it came, at most 4 KiB), ``wreply`` (when given, must equal the
  domain's ``login_url``); ``wa=wsignout1.0``.

XML is parsed safely: at most :data:`MAX_ENCODED` bytes of base64 and :data:`MAX_XML` bytes
inflated, no DTD (a ``<!DOCTYPE`` is refused), no entities resolved, no network. Every
refusal is :class:`IdpRequestRefused` with the reason (nothing secret is in a request).
"""

from __future__ import annotations

import base64
import binascii
import zlib
from collections.abc import Mapping
from dataclasses import dataclass

from lxml import etree

from credsync.errors import InvalidInput

__all__ = [
    "MAX_ENCODED",
    "MAX_XML",
    "MICROSOFT_ONLINE",
    "AuthnRequest",
    "IdpRequestRefused",
    "LogoutRequest",
    "parse_authn_request",
    "parse_logout_request",
    "parse_wsfed",
    "safe_xml",
]

MICROSOFT_ONLINE = "urn:federation:MicrosoftOnline"
MAX_ENCODED = 64 * 1024
MAX_XML = 128 * 1024
MAX_WCTX = 4096
MAX_ID = 256
SAMLP = "urn:oasis:names:tc:SAML:2.0:protocol"
SAML = "urn:oasis:names:tc:SAML:2.0:assertion"


class IdpRequestRefused(InvalidInput):
    """A sign-in or sign-out request the identity provider refuses (bad, foreign or
    oversize); the message says why."""

    code = "idp_request_refused"


@dataclass(frozen=True)
class AuthnRequest:
    """A sign-in request: SAML's (``protocol`` "saml": ``request_id`` = the AuthnRequest's
    ID, ``relay_state`` = RelayState) or WS-Federation's ("wsFed": no request id,
    ``relay_state`` = wctx)."""

    protocol: str
    request_id: str | None
    relay_state: str | None
    force_authn: bool


@dataclass(frozen=True)
class LogoutRequest:
    protocol: str
    request_id: str | None
    relay_state: str | None


_PARSER = etree.XMLParser(
    resolve_entities=False,
    no_network=True,
    load_dtd=False,
    dtd_validation=False,
    huge_tree=False,
    remove_comments=True,
    remove_pis=True,
)


def safe_xml(data: bytes) -> etree._Element:
    """``data`` parsed without DTDs, entities or network; IdpRequestRefused when it is too
    big, has a DOCTYPE or isn't XML."""
    if len(data) > MAX_XML:
        raise IdpRequestRefused(f"the request is larger than {MAX_XML} bytes", field="SAMLRequest")
    if b"<!DOCTYPE" in data.upper() or b"<!ENTITY" in data.upper():
        raise IdpRequestRefused("the request has a DOCTYPE: refused", field="SAMLRequest")
    try:
        root = etree.fromstring(data, parser=_PARSER)
    except etree.XMLSyntaxError as err:
        raise IdpRequestRefused(f"the request is not XML: {err}", field="SAMLRequest") from None
    if root is None:
        raise IdpRequestRefused("the request is empty", field="SAMLRequest")
    return root


def _decode(encoded: str, *, deflated: bool) -> bytes:
    if len(encoded) > MAX_ENCODED:
        raise IdpRequestRefused(
            f"SAMLRequest is longer than {MAX_ENCODED} characters", field="SAMLRequest"
        )
    try:
        raw = base64.b64decode(encoded.strip(), validate=False)
    except (binascii.Error, ValueError):
        raise IdpRequestRefused("SAMLRequest is not base64", field="SAMLRequest") from None
    if not deflated:
        return raw
    inflater = zlib.decompressobj(-15)
    try:
        out = inflater.decompress(raw, MAX_XML + 1)
    except zlib.error:
        raise IdpRequestRefused(
            "SAMLRequest is not DEFLATE-compressed (HTTP-Redirect binding)", field="SAMLRequest"
        ) from None
    if len(out) > MAX_XML or inflater.unconsumed_tail:
        raise IdpRequestRefused(
            f"SAMLRequest inflates past {MAX_XML} bytes: refused", field="SAMLRequest"
        )
    return out


def _issuer(root: etree._Element) -> str:
    node = root.find(f"{{{SAML}}}Issuer")
    return "" if node is None or node.text is None else node.text.strip()


def _request_id(root: etree._Element) -> str:
    value = root.get("ID") or ""
    if not value or len(value) > MAX_ID or not value.isprintable():
        raise IdpRequestRefused("the request has no usable ID", field="SAMLRequest")
    return value


def _relay(value: str | None, field: str) -> str | None:
    if value is None or value == "":
        return None
    if len(value) > MAX_WCTX:
        raise IdpRequestRefused(f"{field} is longer than {MAX_WCTX} characters", field=field)
    return value


def parse_authn_request(
    encoded: str, relay_state: str | None, *, deflated: bool, login_url: str
) -> AuthnRequest:
    """A SAML AuthnRequest from Entra for a domain whose responses go to ``login_url``."""
    root = safe_xml(_decode(encoded, deflated=deflated))
    if root.tag != f"{{{SAMLP}}}AuthnRequest":
        raise IdpRequestRefused("SAMLRequest is not an AuthnRequest", field="SAMLRequest")
    request_id = _request_id(root)
    issuer = _issuer(root)
    if issuer != MICROSOFT_ONLINE:
        raise IdpRequestRefused(
            f"the request's issuer is {issuer!r}, not {MICROSOFT_ONLINE}", field="SAMLRequest"
        )
    acs = root.get("AssertionConsumerServiceURL")
    if acs is not None and acs.rstrip("/") != login_url.rstrip("/"):
        raise IdpRequestRefused(
            f"the request asks for the response at {acs!r}, not at the domain's sign-in URL "
            f"{login_url}: refused",
            field="SAMLRequest",
        )
    force = (root.get("ForceAuthn") or "").strip().lower() in ("true", "1")
    return AuthnRequest("saml", request_id, _relay(relay_state, "RelayState"), force)


def parse_logout_request(encoded: str, relay_state: str | None, *, deflated: bool) -> LogoutRequest:
    root = safe_xml(_decode(encoded, deflated=deflated))
    if root.tag != f"{{{SAMLP}}}LogoutRequest":
        raise IdpRequestRefused("SAMLRequest is not a LogoutRequest", field="SAMLRequest")
    issuer = _issuer(root)
    if issuer != MICROSOFT_ONLINE:
        raise IdpRequestRefused(
            f"the request's issuer is {issuer!r}, not {MICROSOFT_ONLINE}", field="SAMLRequest"
        )
    return LogoutRequest("saml", _request_id(root), _relay(relay_state, "RelayState"))


def parse_wsfed(params: Mapping[str, str], *, login_url: str) -> AuthnRequest | LogoutRequest:
    """``wa=wsignin1.0`` (a sign-in) or ``wa=wsignout1.0`` / ``wsignoutcleanup1.0`` (a
    sign-out) from Entra."""
    wa = params.get("wa", "")
    if wa in ("wsignout1.0", "wsignoutcleanup1.0"):
        return LogoutRequest("wsFed", None, _relay(params.get("wctx"), "wctx"))
    if wa != "wsignin1.0":
        raise IdpRequestRefused(f"wa must be wsignin1.0 or wsignout1.0, got {wa!r}", field="wa")
    realm = params.get("wtrealm", "")
    if realm != MICROSOFT_ONLINE:
        raise IdpRequestRefused(
            f"wtrealm is {realm!r}, not {MICROSOFT_ONLINE}: the vault answers Microsoft only",
            field="wtrealm",
        )
    reply = params.get("wreply")
    if reply and reply.rstrip("/") != login_url.rstrip("/"):
        raise IdpRequestRefused(
            f"wreply {reply!r} is not the domain's sign-in URL {login_url}: refused",
            field="wreply",
        )
    fresh = params.get("wfresh", "") == "0" or params.get("prompt", "") == "login"
    return AuthnRequest("wsFed", None, _relay(params.get("wctx"), "wctx"), fresh)
