"""A small, independent identity provider for the simulator's login.srf tests: a key and
certificate from ``cryptography``, assertions built here and signed with signxml (RSA-SHA256,
exclusive c14n, enveloped), shaped like Microsoft's sample on
https://learn.microsoft.com/en-us/entra/identity/hybrid/connect/how-to-connect-fed-saml-idp."""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from lxml import etree
from signxml import XMLSigner

AUDIENCE = "urn:federation:MicrosoftOnline"
MFA_CLAIM = "http://schemas.microsoft.com/claims/authnmethodsreferences"
MFA_VALUE = "http://schemas.microsoft.com/claims/multipleauthn"
EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"
SAML2 = "urn:oasis:names:tc:SAML:2.0:assertion"
DS = "http://www.w3.org/2000/09/xmldsig#"


@dataclass(frozen=True)
class Signer:
    key: rsa.RSAPrivateKey
    cert: x509.Certificate

    @property
    def b64(self) -> str:
        """The certificate as Graph's signingCertificate holds it (base64 of the DER)."""
        return base64.b64encode(self.cert.public_bytes(serialization.Encoding.DER)).decode()


def make_signer(name: str = "vault idp") -> Signer:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
    return Signer(key, cert)


def _instant(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _sign(element: etree._Element, signer: Signer, id_attribute: str) -> etree._Element:
    signed = XMLSigner(c14n_algorithm=EXC_C14N).sign(
        element, key=signer.key, cert=[signer.cert], id_attribute=id_attribute
    )
    return signed


def saml_response(
    signer: Signer,
    *,
    issuer: str,
    name_id: str,
    upn: str,
    recipient: str,
    in_response_to: str | None,
    now: datetime,
    audience: str = AUDIENCE,
    lifetime: timedelta = timedelta(minutes=5),
    not_before: datetime | None = None,
    mfa: bool = False,
    destination: str | None = None,
    sign: bool = True,
    tamper: bool = False,
) -> str:
    """A samlp:Response (base64, as the HTTP-POST binding carries it) with one signed
    assertion; ``tamper`` changes IDPEmail after signing."""
    assertion_id = f"_{uuid.uuid4()}"
    start = not_before or now
    answer = f' InResponseTo="{in_response_to}"' if in_response_to else ""
    mfa_attribute = (
        f'<Attribute Name="{MFA_CLAIM}"><AttributeValue>{MFA_VALUE}</AttributeValue></Attribute>'
        if mfa
        else ""
    )
    assertion = etree.fromstring(
        f'<Assertion xmlns="{SAML2}" ID="{assertion_id}" IssueInstant="{_instant(now)}" '
        f'Version="2.0"><Issuer>{issuer}</Issuer>'
        "<Subject><NameID Format="
        f'"urn:oasis:names:tc:SAML:2.0:nameid-format:persistent">{name_id}</NameID>'
        '<SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer">'
        f'<SubjectConfirmationData{answer} NotOnOrAfter="{_instant(start + lifetime)}" '
        f'Recipient="{recipient}"/></SubjectConfirmation></Subject>'
        f'<Conditions NotBefore="{_instant(start)}" NotOnOrAfter="{_instant(start + lifetime)}">'
        f"<AudienceRestriction><Audience>{audience}</Audience></AudienceRestriction></Conditions>"
        f'<AttributeStatement><Attribute Name="IDPEmail"><AttributeValue>{upn}</AttributeValue>'
        f"</Attribute>{mfa_attribute}</AttributeStatement>"
        f'<AuthnStatement AuthnInstant="{_instant(now)}" SessionIndex="{assertion_id}">'
        "<AuthnContext><AuthnContextClassRef>"
        "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"
        "</AuthnContextClassRef></AuthnContext></AuthnStatement></Assertion>"
    )
    if sign:
        assertion = _sign(assertion, signer, "ID")
        # SAML's schema wants ds:Signature right after Issuer; the enveloped transform makes
        # moving it safe
        signature = assertion.find(f"{{{DS}}}Signature")
        assertion.remove(signature)
        assertion.insert(1, signature)
    if tamper:
        value = assertion.find(
            f".//{{{SAML2}}}Attribute[@Name='IDPEmail']/{{{SAML2}}}AttributeValue"
        )
        value.text = "mallory@" + upn.rsplit("@", 1)[-1]
    target = destination if destination is not None else recipient
    response = etree.fromstring(
        '<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" '
        f'ID="_{uuid.uuid4()}" Version="2.0" IssueInstant="{_instant(now)}" '
        f'Destination="{target}"{answer}>'
        f'<Issuer xmlns="{SAML2}">{issuer}</Issuer><samlp:Status>'
        '<samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>'
        "</samlp:Response>"
    )
    response.append(assertion)
    return base64.b64encode(etree.tostring(response)).decode()


def wsfed_result(
    signer: Signer,
    *,
    issuer: str,
    immutable_id: str | None,
    upn: str,
    now: datetime,
    audience: str = AUDIENCE,
    lifetime: timedelta = timedelta(minutes=5),
    mfa: bool = False,
) -> str:
    """A RequestSecurityTokenResponse holding a signed SAML 1.1 assertion (the ``wresult``)."""
    s1 = "urn:oasis:names:tc:SAML:1.0:assertion"
    assertion_id = f"_{uuid.uuid4()}"
    immutable = (
        '<saml:Attribute AttributeName="ImmutableID" '
        'AttributeNamespace="http://schemas.microsoft.com/LiveID/Federation/2008/05">'
        f"<saml:AttributeValue>{immutable_id}</saml:AttributeValue></saml:Attribute>"
        if immutable_id
        else ""
    )
    mfa_attribute = (
        '<saml:Attribute AttributeName="authnmethodsreferences" '
        'AttributeNamespace="http://schemas.microsoft.com/claims">'
        f"<saml:AttributeValue>{MFA_VALUE}</saml:AttributeValue></saml:Attribute>"
        if mfa
        else ""
    )
    assertion = etree.fromstring(
        f'<saml:Assertion xmlns:saml="{s1}" MajorVersion="1" MinorVersion="1" '
        f'AssertionID="{assertion_id}" Issuer="{issuer}" IssueInstant="{_instant(now)}">'
        f'<saml:Conditions NotBefore="{_instant(now)}" NotOnOrAfter="{_instant(now + lifetime)}">'
        f"<saml:AudienceRestrictionCondition><saml:Audience>{audience}</saml:Audience>"
        "</saml:AudienceRestrictionCondition></saml:Conditions>"
        "<saml:AttributeStatement><saml:Subject><saml:NameIdentifier "
        f'Format="urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified">{immutable_id or ""}'
        "</saml:NameIdentifier><saml:SubjectConfirmation><saml:ConfirmationMethod>"
        "urn:oasis:names:tc:SAML:1.0:cm:bearer</saml:ConfirmationMethod>"
        "</saml:SubjectConfirmation></saml:Subject>"
        '<saml:Attribute AttributeName="UPN" AttributeNamespace="http://schemas.xmlsoap.org/claims">'
        f"<saml:AttributeValue>{upn}</saml:AttributeValue></saml:Attribute>"
        f"{immutable}{mfa_attribute}</saml:AttributeStatement></saml:Assertion>"
    )
    assertion = _sign(assertion, signer, "AssertionID")
    rstr = etree.fromstring(
        '<t:RequestSecurityTokenResponse xmlns:t="http://schemas.xmlsoap.org/ws/2005/02/trust">'
        "<t:RequestedSecurityToken/></t:RequestSecurityTokenResponse>"
    )
    rstr[0].append(assertion)
    return etree.tostring(rstr).decode()
