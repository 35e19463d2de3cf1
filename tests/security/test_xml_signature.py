"""The identity provider's XML signatures (made with lxml and cryptography, no signxml) are
checked by an independent implementation, signxml's verifier: in the document they travel in,
for SAML 2.0's ID and SAML 1.1's AssertionID, and any change after signing is caught."""

from __future__ import annotations

import base64
import datetime as dt

import pytest
from cryptography import x509
from lxml import etree
from signxml.exceptions import InvalidSignature
from signxml.verifier import SignatureConfiguration, XMLVerifier

from credsync.crypto.idp_keys import XmlSigner, new_idp_key

ASSERTION = (
    b'<Assertion xmlns="urn:oasis:names:tc:SAML:2.0:assertion" ID="_a1" Version="2.0">'
    b"<Issuer>https://vault.example.test/idp/x</Issuer><Subject><NameID>imm&amp;1</NameID>"
    b'</Subject><AttributeStatement><Attribute Name="IDPEmail"><AttributeValue>'
    b"ana@fabrikam.test</AttributeValue></Attribute></AttributeStatement></Assertion>"
)


@pytest.fixture(scope="module")
def signer_and_cert() -> tuple[XmlSigner, x509.Certificate]:
    made = new_idp_key("fabrikam", dt.datetime.now(dt.UTC))
    signer = XmlSigner("k1", made.private_der, made.cert_der)
    return signer, x509.load_der_x509_certificate(made.cert_der)


def _in_response(assertion: etree._Element) -> bytes:
    response = etree.Element(
        "{urn:oasis:names:tc:SAML:2.0:protocol}Response",
        {"ID": "_r1"},
        nsmap={"samlp": "urn:oasis:names:tc:SAML:2.0:protocol"},
    )
    response.append(assertion)
    return etree.tostring(response)


def test_a_signed_assertion_verifies_inside_its_response(signer_and_cert) -> None:
    signer, cert = signer_and_cert
    signed = signer.sign(etree.fromstring(ASSERTION), "_a1")
    assert etree.QName(signed[1]).localname == "Signature"  # right after Issuer
    assert signed.findtext(".//{*}X509Certificate") == signer.cert_b64
    result = XMLVerifier().verify(
        _in_response(signed),
        x509_cert=cert,
        expect_config=SignatureConfiguration(expect_references=1),
    )
    assert result.signed_xml.get("ID") == "_a1"  # type: ignore[union-attr]


def test_a_saml11_assertion_signs_by_its_assertion_id(signer_and_cert) -> None:
    signer, cert = signer_and_cert
    xml = b'<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:1.0:assertion" AssertionID="_b2"><saml:Conditions/></saml:Assertion>'  # noqa: E501
    signed = signer.sign(etree.fromstring(xml), "_b2", id_attribute="AssertionID")
    assert etree.QName(signed[-1]).localname == "Signature"  # no Issuer child: appended
    XMLVerifier().verify(etree.tostring(signed), x509_cert=cert, id_attribute="AssertionID")


@pytest.mark.parametrize(
    ("what", "change"),
    [
        ("an attribute value", lambda root: root.find(".//{*}AttributeValue").__setattr__(
            "text", "mallory@fabrikam.test")),
        ("the NameID", lambda root: root.find(".//{*}NameID").__setattr__("text", "imm&2")),
        ("the SignedInfo's reference", lambda root: root.find(".//{*}Reference").set(
            "URI", "#_other")),
    ],
)  # fmt: skip
def test_a_change_after_signing_is_caught(signer_and_cert, what: str, change) -> None:
    signer, cert = signer_and_cert
    signed = signer.sign(etree.fromstring(ASSERTION), "_a1")
    change(signed)
    with pytest.raises(InvalidSignature):
        XMLVerifier().verify(_in_response(signed), x509_cert=cert)


def test_the_reference_must_be_the_elements_own_id(signer_and_cert) -> None:
    signer, _ = signer_and_cert
    with pytest.raises(ValueError, match="is not '_zz'"):
        signer.sign(etree.fromstring(ASSERTION), "_zz")


def test_the_signature_value_is_rsa_sha256_over_the_canonical_signed_info(signer_and_cert):
    signer, cert = signer_and_cert
    signed = signer.sign(etree.fromstring(ASSERTION), "_a1")
    info = signed.find(".//{*}SignedInfo")
    value = base64.b64decode(signed.findtext(".//{*}SignatureValue"))
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15

    canonical = etree.tostring(info, method="c14n", exclusive=True)
    cert.public_key().verify(value, canonical, PKCS1v15(), hashes.SHA256())  # type: ignore[union-attr,call-arg,arg-type]
