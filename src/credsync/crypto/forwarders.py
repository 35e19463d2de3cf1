"""A capture forwarder's credential: an Ed25519 key whose private seed is the forwarder's
token, and the signature over each request it sends (README: Two-way sync and capture).

- The token is ``csf1.<forwarder_id>.<base64url, no padding, of the 32-byte seed>``, shown
  once at enrolment; the vault stores only the public key (:func:`new_forwarder_key`), so
  nothing it holds can forge a batch.
- A request is signed over ``b"credsync-capture-v1\\n" + path + b"\\n" + body`` (the path as
  sent, ASCII; the raw body); the header is ``Credsync-Signature: ed25519 <base64 of the
  64-byte signature>`` (:func:`sign_request`, :func:`verify_request`).
"""

from __future__ import annotations

import base64
import binascii
import re
import uuid

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from credsync.errors import InvalidInput
from credsync.types import Secret

__all__ = [
    "SIGNATURE_HEADER",
    "TOKEN_PREFIX",
    "ForwarderToken",
    "new_forwarder_key",
    "parse_token",
    "sign_request",
    "signed_bytes",
    "verify_request",
]

TOKEN_PREFIX = "csf1"  # noqa: S105 - the token format's name, not a token
SIGNATURE_HEADER = "Credsync-Signature"
_CONTEXT = b"credsync-capture-v1\n"
_SEED_BYTES = 32
_SIGNATURE_BYTES = 64
_SCHEME = "ed25519 "
_B64URL = re.compile(r"^[A-Za-z0-9_-]{43}$")


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def new_forwarder_key(forwarder_id: str) -> tuple[Secret, bytes]:
    """A new forwarder's token (shown once) and the raw 32-byte public key to store."""
    private = Ed25519PrivateKey.generate()
    seed = private.private_bytes_raw()
    public = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return Secret(f"{TOKEN_PREFIX}.{forwarder_id}.{_b64url(seed)}"), public


class ForwarderToken:
    """A parsed token: the forwarder's id and its signing key (the repr hides the key)."""

    __slots__ = ("_key", "forwarder_id")

    def __init__(self, forwarder_id: str, key: Ed25519PrivateKey) -> None:
        self.forwarder_id = forwarder_id
        self._key = key

    def __repr__(self) -> str:
        return f"ForwarderToken(forwarder_id={self.forwarder_id!r}, key=<hidden>)"

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("keys cannot be pickled")

    def sign(self, path: str, body: bytes) -> str:
        """The ``Credsync-Signature`` header's value for a request to ``path`` with ``body``."""
        return sign_request(self._key, path, body)


def parse_token(token: Secret) -> ForwarderToken:
    """A forwarder token's id and key; InvalidInput (``token``) naming what is wrong, never
    quoting it."""
    parts = token.reveal().strip().split(".")
    if len(parts) != 3 or parts[0] != TOKEN_PREFIX:
        raise InvalidInput(
            f"a forwarder token is '{TOKEN_PREFIX}.<forwarder id>.<key>'", field="token"
        )
    try:
        forwarder_id = str(uuid.UUID(parts[1]))
    except ValueError:
        raise InvalidInput("the forwarder token's id is not a UUID", field="token") from None
    if not _B64URL.match(parts[2]):
        raise InvalidInput("the forwarder token's key is malformed", field="token")
    try:
        seed = base64.urlsafe_b64decode(parts[2] + "=")
    except (binascii.Error, ValueError):  # pragma: no cover - the pattern allows none
        raise InvalidInput("the forwarder token's key is malformed", field="token") from None
    if len(seed) != _SEED_BYTES:  # pragma: no cover - 43 characters are 32 bytes
        raise InvalidInput("the forwarder token's key is malformed", field="token")
    return ForwarderToken(forwarder_id, Ed25519PrivateKey.from_private_bytes(seed))


def signed_bytes(path: str, body: bytes) -> bytes:
    """What a request's signature covers."""
    return _CONTEXT + path.encode("ascii") + b"\n" + body


def sign_request(key: Ed25519PrivateKey, path: str, body: bytes) -> str:
    signature = key.sign(signed_bytes(path, body))
    return _SCHEME + base64.b64encode(signature).decode("ascii")


def verify_request(public_key: bytes, header: str | None, path: str, body: bytes) -> str | None:
    """None when ``header`` is a good signature of (``path``, ``body``) by ``public_key``,
    else what is wrong with it (for the audit log: it holds nothing secret)."""
    if not header:
        return "no Credsync-Signature header"
    if not header.startswith(_SCHEME):
        return "the signature is not 'ed25519 <base64>'"
    try:
        signature = base64.b64decode(header[len(_SCHEME) :].strip(), validate=True)
    except (binascii.Error, ValueError):
        return "the signature is not base64"
    if len(signature) != _SIGNATURE_BYTES:
        return "the signature is not 64 bytes"
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, signed_bytes(path, body))
    except (InvalidSignature, ValueError):  # UnicodeEncodeError (a path not ASCII) is one
        return "the signature does not verify with the forwarder's key"
    return None
