"""Capture forwarders' Ed25519 credentials and the signatures on their batches (wire format v1).

A forwarder's token is ``csf1.<forwarder_id>.<base64url, no padding, of a 32-byte Ed25519 private
seed>``. The server keeps only the public key, so a stolen server row cannot forge a batch. A
batch's signature covers exactly::

    b"credsync-capture-v1\\n" + path_bytes + b"\\n" + body_bytes

(``path_bytes`` = ``/api/v1/agents/{forwarder_id}/captures`` in ASCII, ``body_bytes`` the raw
body as sent) and travels in ``Credsync-Signature: ed25519 <standard padded base64>``. The seed
stays inside :class:`ForwarderSigner`: callers hold the token as a :class:`credsync.types.Secret`
and never see key bytes.
"""

from __future__ import annotations

import base64
import binascii
import uuid

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from credsync.errors import InvalidInput
from credsync.types import Secret

__all__ = [
    "SIGNATURE_HEADER",
    "TOKEN_PREFIX",
    "ForwarderSigner",
    "new_forwarder_token",
    "signed_bytes",
    "verify_signature",
]

TOKEN_PREFIX = "csf1"  # noqa: S105 - the format's name, not a secret
SIGNATURE_HEADER = "Credsync-Signature"
_CONTEXT = b"credsync-capture-v1\n"


def signed_bytes(path: str, body: bytes) -> bytes:
    """The exact bytes a forwarder signs for a request to ``path`` with ``body``."""
    return _CONTEXT + path.encode("ascii") + b"\n" + body


def new_forwarder_token(forwarder_id: str) -> tuple[Secret, bytes]:
    """A fresh token for ``forwarder_id`` (shown once) and the raw 32-byte public key to store."""
    key = Ed25519PrivateKey.generate()
    seed = key.private_bytes_raw()
    token = f"{TOKEN_PREFIX}.{forwarder_id}.{base64.urlsafe_b64encode(seed).rstrip(b'=').decode()}"
    return Secret(token), key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def verify_signature(public_key: bytes, path: str, body: bytes, header: str | None) -> bool:
    """Whether ``header`` (the ``Credsync-Signature`` value) signs ``path`` + ``body`` with the
    key whose raw public bytes are ``public_key``. Any malformed header is simply ``False``."""
    if not header or not header.startswith("ed25519 "):
        return False
    try:
        signature = base64.b64decode(header[len("ed25519 ") :].strip(), validate=True)
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, signed_bytes(path, body))
    except (InvalidSignature, ValueError, binascii.Error):
        return False
    return True


class ForwarderSigner:
    """Signs a forwarder's requests with the key in its token (the key never leaves)."""

    __slots__ = ("_key", "forwarder_id")

    def __init__(self, forwarder_id: str, key: Ed25519PrivateKey) -> None:
        self.forwarder_id = forwarder_id
        self._key = key

    @classmethod
    def from_token(cls, token: Secret) -> ForwarderSigner:
        """Parse ``csf1.<uuid>.<seed>``; a bad token is :class:`InvalidInput` on ``token``,
        whose message never repeats it."""
        parts = token.reveal().strip().split(".")
        if len(parts) != 3 or parts[0] != TOKEN_PREFIX:
            raise InvalidInput("not a capture forwarder token (csf1.<id>.<key>)", field="token")
        try:
            forwarder_id = str(uuid.UUID(parts[1]))
            seed = base64.urlsafe_b64decode(parts[2] + "=" * (-len(parts[2]) % 4))
        except (ValueError, binascii.Error):
            raise InvalidInput("the forwarder token is damaged", field="token") from None
        if len(seed) != 32:
            raise InvalidInput("the forwarder token is damaged", field="token")
        return cls(forwarder_id, Ed25519PrivateKey.from_private_bytes(seed))

    def public_key(self) -> bytes:
        """The raw 32-byte public key (what the server stores)."""
        return self._key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)

    def signature_header(self, path: str, body: bytes) -> str:
        """The ``Credsync-Signature`` value for a request to ``path`` with ``body``."""
        signature = self._key.sign(signed_bytes(path, body))
        return "ed25519 " + base64.b64encode(signature).decode("ascii")

    def __repr__(self) -> str:
        return f"ForwarderSigner(forwarder_id={self.forwarder_id!r})"
