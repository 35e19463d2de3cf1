"""Checks on certificates given by users (a directory's CA file)."""

from __future__ import annotations

import warnings

from cryptography import x509
from cryptography.utils import CryptographyDeprecationWarning

from credsync.errors import InvalidInput

__all__ = ["check_ca_pem"]


def check_ca_pem(pem: str) -> list[str]:
    """The subjects of the certificates in ``pem``; InvalidInput naming the problem when the
    text holds no readable certificate."""
    try:
        with warnings.catch_warnings():
            # Samba's self-signed certificates (made by GnuTLS at provisioning) may carry a
            # serial number with its high bit set, which DER reads as negative. TLS libraries
            # (OpenSSL, which verifies the DC's certificate) accept them; only reading them
            # here would warn.
            warnings.filterwarnings("ignore", r".*serial number", CryptographyDeprecationWarning)
            certs = x509.load_pem_x509_certificates(pem.encode("utf-8"))
    except (ValueError, UnicodeEncodeError) as exc:
        raise InvalidInput(f"the CA file could not be read as PEM certificates: {exc}") from None
    return [cert.subject.rfc4514_string() for cert in certs]
