"""Throwaway key material: the simulator's test CA and server certificate (127.0.0.1 and
localhost), made with trustme, and the apps' self-signed certificates for certificate
credentials. Nothing here is meant to protect anything real.

The apps' certificates are made here with ``cryptography``, not with trustme: an app's
certificate is a self-signed end-entity certificate with an RSA key (what
``New-SelfSignedCertificate`` makes, and what msal signs its client assertions with), and
trustme makes only CA certificates and leaves that a CA issues for a host, IP or e-mail name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

__all__ = ["AppCertificate", "ServerTls", "make_app_certificate", "make_server_tls", "pem_key"]

ORGANIZATION = "credsync"
CA_UNIT = "Graph simulator test CA"


def pem_key(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


@dataclass(frozen=True)
class ServerTls:
    ca_pem: str
    cert_pem: str
    key_pem: str = field(repr=False)


def make_server_tls() -> ServerTls:
    """A new test CA (ECDSA P-256) and the server's certificate from it, for 127.0.0.1 and
    localhost (clients trust the CA's file)."""
    ca = trustme.CA(organization_name=ORGANIZATION, organization_unit_name=CA_UNIT)
    leaf = ca.issue_cert(
        "127.0.0.1", "localhost", common_name="127.0.0.1", organization_name=ORGANIZATION
    )
    return ServerTls(
        ca_pem=ca.cert_pem.bytes().decode(),
        cert_pem=leaf.cert_chain_pems[0].bytes().decode(),
        key_pem=leaf.private_key_pem.bytes().decode(),
    )


@dataclass(frozen=True)
class AppCertificate:
    certificate: x509.Certificate
    certificate_pem: str
    private_key_pem: str = field(repr=False)

    @property
    def sha1_hex(self) -> str:
        return self.certificate.fingerprint(hashes.SHA1()).hex()  # noqa: S303 - x5t is SHA-1

    @property
    def sha256_hex(self) -> str:
        return self.certificate.fingerprint(hashes.SHA256()).hex()


def make_app_certificate(common_name: str) -> AppCertificate:
    """A self-signed RSA certificate, as ``New-SelfSignedCertificate`` would make for an app."""
    now = datetime.now(UTC)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=730))
        .sign(key, hashes.SHA256())
    )
    pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    return AppCertificate(cert, pem, pem_key(key))
