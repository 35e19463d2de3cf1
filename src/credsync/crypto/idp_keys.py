"""The identity provider's token-signing keys: an RSA key pair and its self-signed X.509
certificate per client (Office 365's ``signingCertificate`` is the certificate's DER in
base64), and :class:`XmlSigner`, the only holder of an unwrapped private key.

- RSA, SHA-256, self-signed, valid :data:`VALIDITY`. The size (:func:`key_bits`): 2048 bits
  for a key whose certificate expires by the end of :data:`RSA_2048_LAST_YEAR`, 3072 after.
  2048 bits is AD FS's own default for its self-signed token-signing certificate, the one
  Microsoft's federation with Entra is made for
  (https://learn.microsoft.com/en-us/windows-server/identity/ad-fs/overview/ad-fs-requirements),
  and the least Entra takes of an RSA key (it refuses a smaller application certificate
  with AADSTS700027, "RSA key size 1024 is less than the minimum required 2048 bits");
  NIST SP 800-57 Part 1 Rev. 5 (table 4) holds RSA-2048 (112-bit security) acceptable
  through 2030 and asks for 128-bit security (RSA-3072) after. A 2048-bit signature costs
  about a third of a 3072-bit one (~0.3 ms against ~0.9 ms: bench/README.md,
  "federated_sign_in.py"), once for each federated sign-in. Keys made before (3072) are
  kept as they are and sign until rotated.
- The private key leaves this module only as PKCS#8 DER handed straight to
  :meth:`credsync.crypto.keys.KeyEncryptionKey.wrap_idp_key`; back from the key store it
  becomes an :class:`XmlSigner` whose repr shows the key id and thumbprint only, and which
  cannot be pickled.
- Signatures: XML-DSig enveloped, RSA-SHA256, SHA-256 digests, exclusive c14n (what
  Microsoft's SAML 2.0 IdP page asks for), with the certificate in KeyInfo. Made here with
  lxml's canonicalisation and ``cryptography``'s RSA (the signature's few fixed elements need
  no more): signxml, which made them before, re-serialised and re-parsed the assertion twice
  and re-read the certificate on every signature, a tenth of a federated sign-in's CPU.
  The tests and the Graph simulator check every signature with signxml's verifier.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import uuid
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.x509.oid import NameOID
from lxml import etree

from credsync.errors import IntegrityError

__all__ = [
    "KEY_BITS",
    "RSA_2048_LAST_YEAR",
    "VALIDITY",
    "NewIdpKey",
    "XmlSigner",
    "certificate_facts",
    "key_bits",
    "new_idp_key",
    "thumbprint",
]

KEY_BITS = 3072  # the size of a key that outlives RSA_2048_LAST_YEAR
RSA_2048_LAST_YEAR = 2030  # NIST SP 800-57 Part 1 Rev. 5: 112-bit security through 2030
VALIDITY = dt.timedelta(days=3 * 365)
_DS = "http://www.w3.org/2000/09/xmldsig#"


@dataclass(frozen=True)
class NewIdpKey:
    """A fresh key pair: ``private_der`` (PKCS#8, to be wrapped at once) and its certificate."""

    private_der: bytes
    cert_der: bytes
    not_before: dt.datetime
    not_after: dt.datetime

    def __repr__(self) -> str:
        return f"NewIdpKey(thumbprint={thumbprint(self.cert_der)!r})"


def thumbprint(cert_der: bytes) -> str:
    return hashlib.sha256(cert_der).hexdigest()


def key_bits(not_after: dt.datetime) -> int:
    """The RSA size of a key whose certificate expires at ``not_after``: 2048 bits while
    that is within :data:`RSA_2048_LAST_YEAR`, :data:`KEY_BITS` (3072) after."""
    return 2048 if not_after.year <= RSA_2048_LAST_YEAR else KEY_BITS


def new_idp_key(common_name: str, now: dt.datetime, *, bits: int | None = None) -> NewIdpKey:
    """An RSA key pair (``bits``, by default :func:`key_bits`) and its self-signed
    certificate (CN = ``common_name``), valid from a minute before ``now`` (clock skew) for
    :data:`VALIDITY`."""
    not_before = (now - dt.timedelta(minutes=1)).replace(microsecond=0)
    not_after = not_before + VALIDITY
    size = key_bits(not_after) if bits is None else bits
    if size < 2048:
        raise ValueError("an identity-provider key has at least 2048 bits")
    key = rsa.generate_private_key(public_exponent=65537, key_size=size)
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name[:64]),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "credsync identity provider"),
        ]
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(int(uuid.uuid4().hex, 16) >> 1)
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    private_der = key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return NewIdpKey(
        private_der, cert.public_bytes(serialization.Encoding.DER), not_before, not_after
    )


def certificate_facts(cert_der: bytes) -> tuple[dt.datetime, dt.datetime]:
    """(not_before, not_after) of a DER certificate, UTC."""
    cert = x509.load_der_x509_certificate(cert_der)
    return cert.not_valid_before_utc, cert.not_valid_after_utc


class XmlSigner:
    """Signs XML with one client's current identity-provider key. Made by the vault from the
    wrapped key (:meth:`credsync.vault.idp_keys.IdpKeys.signer`); the key never leaves it."""

    __slots__ = ("_key", "cert_b64", "key_id", "thumbprint")

    def __init__(self, key_id: str, private_der: bytes, cert_der: bytes) -> None:
        loaded = serialization.load_der_private_key(private_der, password=None)
        if not isinstance(loaded, rsa.RSAPrivateKey):
            raise IntegrityError(f"identity-provider key {key_id}: not an RSA key")
        self._key = loaded
        try:
            x509.load_der_x509_certificate(cert_der)
        except ValueError:
            raise IntegrityError(f"identity-provider key {key_id}: not a certificate") from None
        self.key_id = key_id
        self.thumbprint = thumbprint(cert_der)
        self.cert_b64 = base64.b64encode(cert_der).decode("ascii")

    def __repr__(self) -> str:
        return f"XmlSigner(key_id={self.key_id!r}, thumbprint={self.thumbprint!r})"

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("signing keys cannot be pickled")

    def sign(
        self, element: etree._Element, reference_id: str, *, id_attribute: str = "ID"
    ) -> etree._Element:
        """``element`` (whose ``id_attribute``, ``ID`` or SAML 1.1's ``AssertionID``, is
        ``reference_id``) signed enveloped, in place, and returned; the ``ds:Signature`` is
        placed right after the element's first child when that child is its ``Issuer``
        (SAML 2.0's schema order), else appended."""
        if element.get(id_attribute) != reference_id:
            raise ValueError(f"the element's {id_attribute} is not {reference_id!r}")
        ds = f"{{{_DS}}}"
        # the enveloped-signature transform takes the Signature out again: the digest of
        # the element before it goes in is the digest a verifier computes
        digest = hashlib.sha256(_exc_c14n(element)).digest()
        sig = etree.Element(ds + "Signature", nsmap={"ds": _DS})
        info = etree.SubElement(sig, ds + "SignedInfo")
        etree.SubElement(info, ds + "CanonicalizationMethod", Algorithm=_EXC_C14N)
        etree.SubElement(info, ds + "SignatureMethod", Algorithm=_RSA_SHA256)
        ref = etree.SubElement(info, ds + "Reference", URI=f"#{reference_id}")
        transforms = etree.SubElement(ref, ds + "Transforms")
        etree.SubElement(transforms, ds + "Transform", Algorithm=_ENVELOPED)
        etree.SubElement(transforms, ds + "Transform", Algorithm=_EXC_C14N)
        etree.SubElement(ref, ds + "DigestMethod", Algorithm=_SHA256)
        etree.SubElement(ref, ds + "DigestValue").text = base64.b64encode(digest).decode()
        value = etree.SubElement(sig, ds + "SignatureValue")
        key_info = etree.SubElement(sig, ds + "KeyInfo")
        x509_data = etree.SubElement(key_info, ds + "X509Data")
        etree.SubElement(x509_data, ds + "X509Certificate").text = self.cert_b64
        first = element[0] if len(element) else None
        if first is not None and etree.QName(first).localname == "Issuer":
            first.addnext(sig)  # enveloped: where it sits doesn't change what it covers
        else:
            element.append(sig)
        signed_info = _exc_c14n(info)  # in place, as a verifier reads it
        value.text = base64.b64encode(
            self._key.sign(signed_info, PKCS1v15(), hashes.SHA256())
        ).decode()
        return element


_EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"
_RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
_SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"
_ENVELOPED = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"


def _exc_c14n(element: etree._Element) -> bytes:
    """Exclusive XML canonicalisation 1.0 without comments of ``element``'s subtree."""
    out: bytes = etree.tostring(element, method="c14n", exclusive=True, with_comments=False)
    return out
