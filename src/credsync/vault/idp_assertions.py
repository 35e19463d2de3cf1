"""What the identity provider answers Entra with, built as Microsoft's pages describe:

- **SAML 2.0** ("Use a SAML 2.0 IdP for single sign-on",
  https://learn.microsoft.com/entra/identity/hybrid/connect/how-to-connect-fed-saml-idp): a
  ``samlp:Response`` to ``login_url`` whose Assertion is signed (RSA-SHA256, exclusive c14n,
  enveloped, the ``ds:Signature`` right after the Assertion's ``Issuer``); NameID persistent
  = the immutable id (HTML-unsafe characters encoded, ``+`` as ``.2B``: :func:`name_id`);
  ``IDPEmail`` = the UPN; Audience ``urn:federation:MicrosoftOnline``;
  SubjectConfirmationData with Recipient, InResponseTo and NotOnOrAfter; an AuthnStatement.
  The vault did MFA, so, as "Satisfy Microsoft Entra ID MFA controls with MFA claims from a
  federated IdP" (how-to-mfa-expected-inbound-assertions) says for SAML 2.0, the
  AuthnContextClassRef is ``http://schemas.microsoft.com/claims/multipleauthn`` ("only one
  method can be presented"); the ``authnmethodsreferences`` attribute says it too. Without
  MFA it is ``PasswordProtectedTransport``.
- **WS-Federation**: a ``RequestSecurityTokenResponse`` holding a signed SAML 1.1 assertion
  (AssertionID referenced) with NameIdentifier = immutable id, the ``UPN``
  (``http://schemas.xmlsoap.org/claims``) and ``ImmutableID``
  (``http://schemas.microsoft.com/LiveID/Federation/2008/05``) claims; MFA as the
  AuthenticationStatement's AuthenticationMethod (``.../claims/multipleauthn``, the page's
  first form) and as the ``authnmethodsreferences`` claim (what AD FS emits).
- **Sign-out**: a ``samlp:LogoutResponse`` (Success).

The signing itself is :class:`credsync.crypto.idp_keys.XmlSigner`'s.
"""

from __future__ import annotations

import datetime as dt
import uuid

from lxml import etree

from credsync.crypto.idp_keys import XmlSigner
from credsync.vault.idp_requests import MICROSOFT_ONLINE, SAML, SAMLP

__all__ = [
    "MULTIPLE_AUTHN",
    "RESPONSE_LIFETIME",
    "name_id",
    "saml2_logout_response",
    "saml2_response",
    "wsfed_response",
]

RESPONSE_LIFETIME = dt.timedelta(minutes=5)
SKEW = dt.timedelta(minutes=1)
PERSISTENT = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
PASSWORD_PROTECTED = "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"  # noqa: S105 - a URI
MULTIPLE_AUTHN = "http://schemas.microsoft.com/claims/multipleauthn"
AMR = "http://schemas.microsoft.com/claims/authnmethodsreferences"
SUCCESS = "urn:oasis:names:tc:SAML:2.0:status:Success"
SAML1 = "urn:oasis:names:tc:SAML:1.0:assertion"
TRUST = "http://schemas.xmlsoap.org/ws/2005/02/trust"
WSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
WSP = "http://schemas.xmlsoap.org/ws/2004/09/policy"
WSA = "http://www.w3.org/2005/08/addressing"
_UNSAFE = {c: f".{ord(c):02X}" for c in "+&<>\"'%"}


def name_id(immutable_id: str) -> str:
    """The immutable id as Microsoft wants it in a SAML 2.0 NameID: "any non-HTML safe
    characters must be encoded, for example a '+' character is shown as '.2B'"."""
    return "".join(_UNSAFE.get(c, c) for c in immutable_id)


def _t(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


def _new_id() -> str:
    return "_" + uuid.uuid4().hex


def _sub(parent: etree._Element, tag: str, text: str | None = None, **attrs: str) -> etree._Element:
    node = etree.SubElement(parent, tag, attrs)
    if text is not None:
        node.text = text
    return node


def saml2_response(
    signer: XmlSigner,
    *,
    issuer: str,
    login_url: str,
    in_response_to: str | None,
    immutable_id: str,
    upn: str,
    mfa: bool,
    authn_instant: dt.datetime,
    now: dt.datetime,
) -> bytes:
    """The signed SAML 2.0 Response (UTF-8 XML), to be posted base64 as ``SAMLResponse``."""
    a, p = f"{{{SAML}}}", f"{{{SAMLP}}}"
    response_id, assertion_id = _new_id(), _new_id()
    until = now + RESPONSE_LIFETIME
    attrs = {"ID": response_id, "Version": "2.0", "IssueInstant": _t(now)}
    attrs["Destination"] = login_url
    if in_response_to:
        attrs["InResponseTo"] = in_response_to
    response = etree.Element(p + "Response", attrs, nsmap={"samlp": SAMLP})
    _sub(response, a + "Issuer", issuer)
    status = _sub(response, p + "Status")
    _sub(status, p + "StatusCode", Value=SUCCESS)

    assertion = etree.Element(
        a + "Assertion",
        {"ID": assertion_id, "IssueInstant": _t(now), "Version": "2.0"},
        nsmap={None: SAML},
    )
    _sub(assertion, a + "Issuer", issuer)
    subject = _sub(assertion, a + "Subject")
    _sub(subject, a + "NameID", name_id(immutable_id), Format=PERSISTENT)
    confirmation = _sub(
        subject, a + "SubjectConfirmation", Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"
    )
    data = {"NotOnOrAfter": _t(until), "Recipient": login_url}
    if in_response_to:
        data["InResponseTo"] = in_response_to
    _sub(confirmation, a + "SubjectConfirmationData", **data)
    conditions = _sub(assertion, a + "Conditions", NotBefore=_t(now - SKEW), NotOnOrAfter=_t(until))
    restriction = _sub(conditions, a + "AudienceRestriction")
    _sub(restriction, a + "Audience", MICROSOFT_ONLINE)
    statement = _sub(assertion, a + "AttributeStatement")
    email = _sub(statement, a + "Attribute", Name="IDPEmail")
    _sub(email, a + "AttributeValue", upn)
    if mfa:
        amr = _sub(statement, a + "Attribute", Name=AMR)
        _sub(amr, a + "AttributeValue", MULTIPLE_AUTHN)
    authn = _sub(
        assertion, a + "AuthnStatement", AuthnInstant=_t(authn_instant), SessionIndex=assertion_id
    )
    context = _sub(authn, a + "AuthnContext")
    _sub(context, a + "AuthnContextClassRef", MULTIPLE_AUTHN if mfa else PASSWORD_PROTECTED)
    response.append(signer.sign(assertion, assertion_id))
    out: bytes = etree.tostring(response, xml_declaration=False, encoding="utf-8")
    return out


def wsfed_response(
    signer: XmlSigner,
    *,
    issuer: str,
    immutable_id: str,
    upn: str,
    mfa: bool,
    authn_instant: dt.datetime,
    now: dt.datetime,
) -> str:
    """The RequestSecurityTokenResponse (``wresult``) with a signed SAML 1.1 assertion."""
    s, t = f"{{{SAML1}}}", f"{{{TRUST}}}"
    until = now + RESPONSE_LIFETIME
    rstr = etree.Element(t + "RequestSecurityTokenResponse", nsmap={"t": TRUST})
    lifetime = _sub(rstr, t + "Lifetime")
    _sub(lifetime, f"{{{WSU}}}Created", _t(now))
    _sub(lifetime, f"{{{WSU}}}Expires", _t(until))
    applies = _sub(rstr, f"{{{WSP}}}AppliesTo")
    endpoint = _sub(applies, f"{{{WSA}}}EndpointReference")
    _sub(endpoint, f"{{{WSA}}}Address", MICROSOFT_ONLINE)
    token = _sub(rstr, t + "RequestedSecurityToken")

    assertion_id = _new_id()
    assertion = etree.Element(
        s + "Assertion",
        {
            "MajorVersion": "1",
            "MinorVersion": "1",
            "AssertionID": assertion_id,
            "Issuer": issuer,
            "IssueInstant": _t(now),
        },
        nsmap={"saml": SAML1},
    )
    conditions = _sub(assertion, s + "Conditions", NotBefore=_t(now - SKEW), NotOnOrAfter=_t(until))
    restriction = _sub(conditions, s + "AudienceRestrictionCondition")
    _sub(restriction, s + "Audience", MICROSOFT_ONLINE)

    def subject(parent: etree._Element) -> None:
        node = _sub(parent, s + "Subject")
        _sub(
            node,
            s + "NameIdentifier",
            immutable_id,
            Format="urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified",
        )
        confirmation = _sub(node, s + "SubjectConfirmation")
        _sub(confirmation, s + "ConfirmationMethod", "urn:oasis:names:tc:SAML:1.0:cm:bearer")

    statement = _sub(assertion, s + "AttributeStatement")
    subject(statement)
    for name, namespace, value in (
        ("UPN", "http://schemas.xmlsoap.org/claims", upn),
        ("ImmutableID", "http://schemas.microsoft.com/LiveID/Federation/2008/05", immutable_id),
        *(
            [("authnmethodsreferences", "http://schemas.microsoft.com/claims", MULTIPLE_AUTHN)]
            if mfa
            else []
        ),
    ):
        attribute = _sub(
            statement, s + "Attribute", AttributeName=name, AttributeNamespace=namespace
        )
        _sub(attribute, s + "AttributeValue", value)
    method = MULTIPLE_AUTHN if mfa else "urn:oasis:names:tc:SAML:1.0:am:password"
    authn = _sub(
        assertion,
        s + "AuthenticationStatement",
        AuthenticationMethod=method,
        AuthenticationInstant=_t(authn_instant),
    )
    subject(authn)
    token.append(signer.sign(assertion, assertion_id, id_attribute="AssertionID"))
    _sub(rstr, t + "TokenType", "urn:oasis:names:tc:SAML:1.0:assertion")
    _sub(rstr, t + "RequestType", "http://schemas.xmlsoap.org/ws/2005/02/trust/Issue")
    _sub(rstr, t + "KeyType", "http://schemas.xmlsoap.org/ws/2005/05/identity/NoProofKey")
    text: str = etree.tostring(rstr, encoding="unicode")
    return text


def saml2_logout_response(
    *, issuer: str, destination: str, in_response_to: str | None, now: dt.datetime
) -> bytes:
    p = f"{{{SAMLP}}}"
    attrs = {"ID": _new_id(), "Version": "2.0", "IssueInstant": _t(now), "Destination": destination}
    if in_response_to:
        attrs["InResponseTo"] = in_response_to
    response = etree.Element(p + "LogoutResponse", attrs, nsmap={"samlp": SAMLP, "saml": SAML})
    _sub(response, f"{{{SAML}}}Issuer", issuer)
    status = _sub(response, p + "Status")
    _sub(status, p + "StatusCode", Value=SUCCESS)
    out: bytes = etree.tostring(response, encoding="utf-8")
    return out
