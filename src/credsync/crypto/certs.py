"""Checks on certificates given by users (a directory's CA file)."""

from __future__ import annotations

from cryptography import x509

from credsync.errors import InvalidInput

__all__ = ["check_ca_pem"]


def check_ca_pem(pem: str) -> list[str]:
    """The subjects of the certificates in ``pem``; InvalidInput naming the problem when the
    text holds no readable certificate."""
    try:
        certs = x509.load_pem_x509_certificates(pem.encode("utf-8"))
    except (ValueError, UnicodeEncodeError) as exc:
        raise InvalidInput(f"the CA file could not be read as PEM certificates: {exc}") from None
    return [cert.subject.rfc4514_string() for cert in certs]
