"""Reading an identity provider's answer at ``login.srf``: a SAML 2.0 ``samlp:Response`` (the
HTTP-POST binding's ``SAMLResponse``) or a WS-Federation ``wresult`` (a WS-Trust
``RequestSecurityTokenResponse`` carrying a SAML 1.1 assertion), parsed safely and checked
against the federated domain's certificates.

- Parsing: lxml with entities not resolved, no network, no huge trees, comments dropped (the
  signature covers the canonical text, and a comment inside a NameID must not split it). A
  document that is not XML, or holds no Response / Assertion where Microsoft expects one, is
  :class:`Unreadable`.
- Signature (https://learn.microsoft.com/en-us/entra/identity/hybrid/connect/how-to-connect-fed-saml-idp,
  "Signature block requirements"): the **assertion** must be signed (enveloped, exclusive c14n);
  a signature on the Response alone does not count. The page still shows rsa-sha1 and calls it
  deprecated: the simulator holds the modern rule, signxml's default algorithms (SHA-256 and up;
  SHA-1 refused). The signature is checked with signxml against ``signingCertificate``, then
  ``nextSigningCertificate`` (the rollover overlap); a certificate in the signature's KeyInfo is
  never trusted by itself. The claims are read **only from the signed element signxml returns**,
  so nothing outside the signature (a wrapped second assertion...) is ever believed.
- What is returned (:class:`Assertion`): issuer, ids, subject, times, audience, recipient,
  InResponseTo, the UPN and ImmutableID claims and whether MFA was done
  (``http://schemas.microsoft.com/claims/authnmethodsreferences`` =
  ``http://schemas.microsoft.com/claims/multipleauthn``, as
  https://learn.microsoft.com/en-us/graph/api/resources/internaldomainfederation names the claim
  for ``federatedIdpMfaBehavior``). The caller (``_loginsrf``) decides what each means.
"""

from __future__ import annotations

import base64
import binascii
import functools
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from cryptography import x509
from lxml import etree
from signxml.exceptions import InvalidCertificate, InvalidDigest, InvalidInput, InvalidSignature
from signxml.verifier import SignatureConfiguration, XMLVerifier

__all__ = [
    "AUDIENCE",
    "MFA_CLAIM",
    "MFA_VALUE",
    "Assertion",
    "BadSignature",
    "Unreadable",
    "certificate_pem",
    "read_saml2",
    "read_wsfed",
    "verify",
]

AUDIENCE = "urn:federation:MicrosoftOnline"
MFA_CLAIM = "http://schemas.microsoft.com/claims/authnmethodsreferences"
MFA_VALUE = "http://schemas.microsoft.com/claims/multipleauthn"
PROTOCOL = "urn:oasis:names:tc:SAML:2.0:protocol"
SAML2 = "urn:oasis:names:tc:SAML:2.0:assertion"
SAML1 = "urn:oasis:names:tc:SAML:1.0:assertion"
TRUST = "http://schemas.xmlsoap.org/ws/2005/02/trust"
DSIG = "http://www.w3.org/2000/09/xmldsig#"
SUCCESS = "urn:oasis:names:tc:SAML:2.0:status:Success"
UPN_CLAIM = ("http://schemas.xmlsoap.org/claims", "UPN")
IMMUTABLE_CLAIM = ("http://schemas.microsoft.com/LiveID/Federation/2008/05", "ImmutableID")
_NS = {"p": PROTOCOL, "a": SAML2, "s1": SAML1, "t": TRUST, "ds": DSIG}


class Unreadable(Exception):
    """Not a message the sign-in service can read (not XML, no Response or Assertion)."""


class BadSignature(Exception):
    """``kind``: "unsigned", "algorithm" (a forbidden algorithm such as SHA-1, or a malformed
    signature), "digest" (the signed content was changed) or "certificate" (signed, but by a
    key that is neither configured certificate)."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


@dataclass(frozen=True)
class Assertion:
    protocol: str  # "saml" or "wsFed"
    id: str
    issuer: str
    name_id: str | None
    upn: str | None
    immutable_id: str | None
    audiences: tuple[str, ...]
    not_before: datetime | None
    not_on_or_after: datetime | None
    recipient: str | None = None
    in_response_to: str | None = None
    confirmation_not_on_or_after: datetime | None = None
    mfa: bool = False
    # the enclosing samlp:Response's own attributes (not signed; checked for consistency only)
    destination: str | None = None
    response_in_response_to: str | None = None
    status: str = SUCCESS
    raw: etree._Element | None = field(default=None, repr=False, compare=False)


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False, no_network=True, huge_tree=False, remove_comments=True
    )


def _parse(data: bytes) -> etree._Element:
    try:
        root = etree.fromstring(data, parser=_parser())
    except etree.XMLSyntaxError as exc:
        raise Unreadable(f"the message is not well-formed XML ({exc.msg})") from None
    if root is None:
        raise Unreadable("the message is empty")
    return root


def _b64(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text.strip(), validate=False)
    except (binascii.Error, ValueError):
        raise Unreadable(f"{what} is not base64") from None


def certificate_pem(b64_der: str) -> str:
    """PEM of a Graph ``signingCertificate`` (base64 of the DER)."""
    body = "".join(b64_der.split())
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    return "-----BEGIN CERTIFICATE-----\n" + "\n".join(lines) + "\n-----END CERTIFICATE-----\n"


@functools.lru_cache(maxsize=64)
def _loaded(b64_der: str) -> x509.Certificate:
    return x509.load_pem_x509_certificate(certificate_pem(b64_der).encode())


def _certificate(b64_der: str) -> x509.Certificate | str:
    """The certificate loaded once (signxml loads a PEM string on every verification), or
    its PEM when it is no certificate (signxml refuses it as before)."""
    try:
        return _loaded(b64_der)
    except ValueError:
        return certificate_pem(b64_der)


def _time(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise Unreadable(f"'{text}' is not a date and time") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _text(node: etree._Element | None) -> str | None:
    if node is None or node.text is None:
        return None
    return str(node.text).strip()


def _first(values: list[str] | None) -> str | None:
    return values[0] if values else None


# --- SAML 2.0 -----------------------------------------------------------------------------------
def read_saml2(saml_response: str) -> tuple[Assertion, etree._Element | None]:
    """The Response's unsigned envelope facts and its one assertion, unverified (the issuer
    says which certificates to verify with), plus the assertion's element for :func:`verify`
    (None when there is none)."""
    root = _parse(_b64(saml_response, "SAMLResponse"))
    if root.tag == f"{{{SAML2}}}Assertion":
        response = None
        assertions = [root]
    elif root.tag == f"{{{PROTOCOL}}}Response":
        response = root
        assertions = root.findall("a:Assertion", _NS)
    else:
        raise Unreadable("a supported type of SAML response was not found")
    status = SUCCESS
    if response is not None:
        code = response.find("p:Status/p:StatusCode", _NS)
        status = code.get("Value", "") if code is not None else ""
    if status == SUCCESS and len(assertions) != 1:
        raise Unreadable(f"the Response holds {len(assertions)} assertions, not one")
    if not assertions:
        empty = Assertion("saml", "", "", None, None, None, (), None, None, status=status)
        return empty, None
    facts = _saml2_facts(assertions[0])
    if response is not None:
        facts = _with_envelope(facts, response, status)
    return facts, assertions[0]


def _with_envelope(facts: Assertion, response: etree._Element, status: str) -> Assertion:
    return replace(
        facts,
        destination=response.get("Destination"),
        response_in_response_to=response.get("InResponseTo"),
        status=status,
    )


def _saml2_facts(node: etree._Element) -> Assertion:
    attributes: dict[str, list[str]] = {}
    for attribute in node.findall("a:AttributeStatement/a:Attribute", _NS):
        values = [_text(v) or "" for v in attribute.findall("a:AttributeValue", _NS)]
        attributes.setdefault(attribute.get("Name", ""), []).extend(values)
    conditions = node.find("a:Conditions", _NS)
    confirmation = node.find("a:Subject/a:SubjectConfirmation/a:SubjectConfirmationData", _NS)
    upn = _first(attributes.get("IDPEmail"))
    return Assertion(
        protocol="saml",
        id=node.get("ID", ""),
        issuer=_text(node.find("a:Issuer", _NS)) or "",
        name_id=_text(node.find("a:Subject/a:NameID", _NS)),
        upn=upn,
        immutable_id=None,
        audiences=tuple(
            _text(a) or ""
            for a in node.findall("a:Conditions/a:AudienceRestriction/a:Audience", _NS)
        ),
        not_before=_time(conditions.get("NotBefore")) if conditions is not None else None,
        not_on_or_after=_time(conditions.get("NotOnOrAfter")) if conditions is not None else None,
        recipient=confirmation.get("Recipient") if confirmation is not None else None,
        in_response_to=confirmation.get("InResponseTo") if confirmation is not None else None,
        confirmation_not_on_or_after=(
            _time(confirmation.get("NotOnOrAfter")) if confirmation is not None else None
        ),
        mfa=MFA_VALUE in attributes.get(MFA_CLAIM, []),
    )


# --- WS-Federation: SAML 1.1 in a RequestSecurityTokenResponse ----------------------------------
def read_wsfed(wresult: str) -> tuple[Assertion, etree._Element]:
    """The RSTR's SAML 1.1 assertion, unverified, and its element for :func:`verify`."""
    root = _parse(wresult.encode("utf-8"))
    if root.tag == f"{{{TRUST}}}RequestSecurityTokenResponseCollection":
        found = root.find("t:RequestSecurityTokenResponse", _NS)
        root = found if found is not None else root
    if root.tag != f"{{{TRUST}}}RequestSecurityTokenResponse":
        raise Unreadable("wresult is not a RequestSecurityTokenResponse")
    assertions = root.findall("t:RequestedSecurityToken/s1:Assertion", _NS)
    if len(assertions) != 1:
        raise Unreadable("the RequestSecurityTokenResponse holds no SAML 1.1 assertion")
    return _saml1_facts(assertions[0]), assertions[0]


def _saml1_facts(node: etree._Element) -> Assertion:
    claims: dict[tuple[str, str], list[str]] = {}
    for attribute in node.findall("s1:AttributeStatement/s1:Attribute", _NS):
        key = (attribute.get("AttributeNamespace", ""), attribute.get("AttributeName", ""))
        claims.setdefault(key, []).extend(
            _text(v) or "" for v in attribute.findall("s1:AttributeValue", _NS)
        )
    mfa_ns, _, mfa_name = MFA_CLAIM.rpartition("/")
    conditions = node.find("s1:Conditions", _NS)
    return Assertion(
        protocol="wsFed",
        id=node.get("AssertionID", ""),
        issuer=node.get("Issuer", ""),
        name_id=_text(node.find("s1:AttributeStatement/s1:Subject/s1:NameIdentifier", _NS)),
        upn=_first(claims.get(UPN_CLAIM)),
        immutable_id=_first(claims.get(IMMUTABLE_CLAIM)),
        audiences=tuple(
            _text(a) or ""
            for a in node.findall("s1:Conditions/s1:AudienceRestrictionCondition/s1:Audience", _NS)
        ),
        not_before=_time(conditions.get("NotBefore")) if conditions is not None else None,
        not_on_or_after=_time(conditions.get("NotOnOrAfter")) if conditions is not None else None,
        mfa=MFA_VALUE in claims.get((mfa_ns, mfa_name), []),
    )


# --- the signature ------------------------------------------------------------------------------
def verify(
    assertion: etree._Element | None, protocol: str, certificates: list[str]
) -> tuple[Assertion, int]:
    """The facts read again from what the signature covers, and which certificate (0:
    signingCertificate, 1: nextSigningCertificate) verified it; :class:`BadSignature`.

    ``assertion``: the element :func:`read_saml2` / :func:`read_wsfed` found, in the tree
    they parsed. signxml takes it out of that tree as a document of its own (serialised
    and parsed again with ``_parser``'s settings: exclusive c14n makes the signature
    portable) and checks that copy; the claims are read only from the element its check
    returns. (It was serialised here and parsed once more to look for the signature: one
    parse of the assertion less a sign-in.)"""
    root = assertion
    signature = None if root is None else root.find("ds:Signature", _NS)
    if root is None or signature is None:
        raise BadSignature("unsigned")
    id_attribute = "AssertionID" if protocol == "wsFed" else "ID"
    # Text after the assertion, inside its Response, is outside what the signature covers;
    # lxml serialises an element with its tail, and signxml would parse that as a document
    # with content after its root.
    root.tail = None
    config = SignatureConfiguration(expect_references=1, location="./")
    digest_failed = False
    for index, b64_der in enumerate(certificates):
        try:
            result = XMLVerifier().verify(
                root,  # serialised and parsed again by signxml, with this parser
                x509_cert=_certificate(b64_der),
                id_attribute=id_attribute,
                expect_config=config,
                parser=_parser(),
            )
        except InvalidDigest:
            digest_failed = True
            continue
        except (InvalidSignature, InvalidCertificate):
            continue
        except (InvalidInput, etree.XMLSyntaxError):
            # an algorithm signxml's configuration forbids (SHA-1...) or a malformed signature
            raise BadSignature("algorithm") from None
        signed = result.signed_xml if not isinstance(result, list) else result[0].signed_xml
        if signed is None or signed.tag != root.tag:
            raise BadSignature("unsigned")  # the signature covers something else
        facts = _saml1_facts(signed) if protocol == "wsFed" else _saml2_facts(signed)
        return facts, index
    raise BadSignature("digest" if digest_failed else "certificate")
