"""The identity provider's metadata for one domain: a SAML 2.0 ``EntityDescriptor`` whose
entityID is the domain's issuer URI, with an ``IDPSSODescriptor`` (the signing
certificates: the current one and, during a rotation, the next one; persistent NameIDs;
SingleSignOnService for the HTTP-Redirect and HTTP-POST bindings; SingleLogoutService,
HTTP-Redirect) and, for WS-Federation, a ``RoleDescriptor`` of type
``fed:SecurityTokenServiceType`` with the passive requestor endpoint. Entra "does not read
metadata from the identity provider" (the SAML IdP page): the federation commands give Graph
the certificates; the metadata is for people and tools that check the setup.
"""

from __future__ import annotations

from lxml import etree

from credsync.vault.federated_domains import FederatedDomain
from credsync.vault.idp_keys import SigningCertificate

__all__ = ["metadata_xml"]

MD = "urn:oasis:names:tc:SAML:2.0:metadata"
DS = "http://www.w3.org/2000/09/xmldsig#"
FED = "http://docs.oasis-open.org/wsfed/federation/200706"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
WSA = "http://www.w3.org/2005/08/addressing"
REDIRECT = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
POST = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"


def _key(parent: etree._Element, cert: SigningCertificate) -> None:
    descriptor = etree.SubElement(parent, f"{{{MD}}}KeyDescriptor", use="signing")
    info = etree.SubElement(descriptor, f"{{{DS}}}KeyInfo")
    data = etree.SubElement(info, f"{{{DS}}}X509Data")
    etree.SubElement(data, f"{{{DS}}}X509Certificate").text = cert.b64


def metadata_xml(
    domain: FederatedDomain, current: SigningCertificate, following: SigningCertificate | None
) -> bytes:
    ends = domain.endpoints
    root = etree.Element(
        f"{{{MD}}}EntityDescriptor",
        entityID=ends.issuer,
        nsmap={"md": MD, "ds": DS, "fed": FED, "xsi": XSI, "wsa": WSA},
    )
    certs = [current] if following is None else [current, following]
    if domain.protocol == "wsFed":
        role = etree.SubElement(
            root,
            f"{{{MD}}}RoleDescriptor",
            {
                f"{{{XSI}}}type": "fed:SecurityTokenServiceType",
                "protocolSupportEnumeration": FED,
            },
        )
        for cert in certs:
            _key(role, cert)
        passive = etree.SubElement(role, f"{{{FED}}}PassiveRequestorEndpoint")
        reference = etree.SubElement(passive, f"{{{WSA}}}EndpointReference")
        etree.SubElement(reference, f"{{{WSA}}}Address").text = ends.sign_in
    idp = etree.SubElement(
        root,
        f"{{{MD}}}IDPSSODescriptor",
        protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol",
        WantAuthnRequestsSigned="false",
    )
    for cert in certs:
        _key(idp, cert)
    etree.SubElement(idp, f"{{{MD}}}SingleLogoutService", Binding=REDIRECT, Location=ends.sign_out)
    etree.SubElement(
        idp, f"{{{MD}}}NameIDFormat"
    ).text = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
    for binding in (REDIRECT, POST):
        etree.SubElement(
            idp, f"{{{MD}}}SingleSignOnService", Binding=binding, Location=ends.sign_in
        )
    out: bytes = etree.tostring(root, xml_declaration=True, encoding="utf-8")
    return out
