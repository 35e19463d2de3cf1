"""A remote agent's keys (docs/remote-agent.md): made on the agent's host, never on the server.

- **Signing** (Ed25519): every request the agent sends is signed over
  ``b"credsync-agent-v1\\n" + agent_id + "\\n" + time + "\\n" + path + "\\n" + body``; the
  header is ``Credsync-Agent-Signature: ed25519 <base64>`` with ``Credsync-Agent-Time:
  <unix seconds>`` (:func:`sign_request`, :func:`verify_request`). The server keeps only the
  public key.
- **Sealing** (X25519 + HKDF-SHA256 + AES-256-GCM): what the server sends the agent that is
  secret (a directory's bind password, a password to push or verify) is sealed to the agent's
  public box key with associated data naming the agent and the call it belongs to
  (:func:`seal`, :meth:`AgentKeys.open`): a sealed value replayed to another call or another
  agent does not open. The sealed form is ``base64(ephemeral public key || nonce ||
  ciphertext)``.
- The agent's credential file holds both private keys (:meth:`AgentKeys.to_json`); its repr
  hides them.
"""

from __future__ import annotations

import base64
import binascii
import os
from typing import Any

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from credsync.errors import InvalidInput

__all__ = [
    "SIGNATURE_HEADER",
    "TIME_HEADER",
    "AgentKeys",
    "SealError",
    "public_key_bytes",
    "seal",
    "sign_request",
    "verify_request",
]

SIGNATURE_HEADER = "Credsync-Agent-Signature"
TIME_HEADER = "Credsync-Agent-Time"
_CONTEXT = b"credsync-agent-v1\n"
_SEAL_INFO = b"credsync-agent-seal-v1"
_SCHEME = "ed25519 "
_KEY_BYTES = 32
_NONCE_BYTES = 12


class SealError(Exception):
    """A sealed value that does not open: another agent's, another call's, or altered."""


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _unb64(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInput(f"{what} is not base64", field=what) from None


def public_key_bytes(text: str, what: str) -> bytes:
    """A 32-byte public key given as base64; InvalidInput naming ``what`` otherwise."""
    raw = _unb64(text, what)
    if len(raw) != _KEY_BYTES:
        raise InvalidInput(f"{what} is not a 32-byte key", field=what)
    return raw


def _derive(shared: bytes, ephemeral: bytes, recipient: bytes) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=ephemeral + recipient, info=_SEAL_INFO
    ).derive(shared)


def seal(box_public: bytes, plaintext: bytes, aad: bytes) -> str:
    """``plaintext`` sealed to the agent whose public box key is ``box_public``, bound to
    ``aad`` (which the agent must give back to open it)."""
    ephemeral = X25519PrivateKey.generate()
    epub = ephemeral.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    key = _derive(
        ephemeral.exchange(X25519PublicKey.from_public_bytes(box_public)), epub, box_public
    )
    nonce = os.urandom(_NONCE_BYTES)
    return _b64(epub + nonce + AESGCM(key).encrypt(nonce, plaintext, aad))


def signed_bytes(agent_id: str, when: str, path: str, body: bytes) -> bytes:
    return _CONTEXT + f"{agent_id}\n{when}\n{path}\n".encode("ascii") + body


def verify_request(
    sign_public: bytes, header: str | None, agent_id: str, when: str, path: str, body: bytes
) -> str | None:
    """None when ``header`` is a good signature, else what is wrong with it (nothing secret)."""
    if not header or not header.startswith(_SCHEME):
        return f"no '{SIGNATURE_HEADER}: ed25519 <base64>' header"
    try:
        signature = base64.b64decode(header[len(_SCHEME) :].strip(), validate=True)
        Ed25519PublicKey.from_public_bytes(sign_public).verify(
            signature, signed_bytes(agent_id, when, path, body)
        )
    except (binascii.Error, ValueError, InvalidSignature):
        return "the signature does not verify with the agent's key"
    return None


def sign_request(key: Ed25519PrivateKey, agent_id: str, when: str, path: str, body: bytes) -> str:
    return _SCHEME + _b64(key.sign(signed_bytes(agent_id, when, path, body)))


class AgentKeys:
    """An agent's two private keys (the repr hides them)."""

    __slots__ = ("_box", "_sign")

    def __init__(self, sign: Ed25519PrivateKey, box: X25519PrivateKey) -> None:
        self._sign = sign
        self._box = box

    @classmethod
    def generate(cls) -> AgentKeys:
        return cls(Ed25519PrivateKey.generate(), X25519PrivateKey.generate())

    def __repr__(self) -> str:
        return "AgentKeys(<hidden>)"

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("keys cannot be pickled")

    @property
    def sign_public(self) -> str:
        return _b64(self._sign.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))

    @property
    def box_public(self) -> str:
        return _b64(self._box.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))

    def sign(self, agent_id: str, when: str, path: str, body: bytes) -> str:
        return sign_request(self._sign, agent_id, when, path, body)

    def open(self, sealed: str, aad: bytes) -> bytes:
        """What :func:`seal` sealed to this agent with ``aad``; SealError otherwise."""
        try:
            raw = base64.b64decode(sealed, validate=True)
        except (binascii.Error, ValueError):
            raise SealError("a sealed value is not base64") from None
        if len(raw) < _KEY_BYTES + _NONCE_BYTES + 16:
            raise SealError("a sealed value is too short")
        epub, nonce, body = raw[:_KEY_BYTES], raw[_KEY_BYTES : _KEY_BYTES + _NONCE_BYTES], raw[44:]
        mine = self._box.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        key = _derive(self._box.exchange(X25519PublicKey.from_public_bytes(epub)), epub, mine)
        try:
            return AESGCM(key).decrypt(nonce, body, aad)
        except InvalidTag:
            raise SealError(
                "a sealed value does not open: not for this agent or this call"
            ) from None

    def to_json(self) -> dict[str, str]:
        """Both private keys, for the agent's credential file (mode 0600)."""
        return {
            "sign_key": _b64(self._sign.private_bytes_raw()),
            "box_key": _b64(self._box.private_bytes_raw()),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AgentKeys:
        try:
            sign = base64.b64decode(str(data["sign_key"]), validate=True)
            box = base64.b64decode(str(data["box_key"]), validate=True)
            return cls(
                Ed25519PrivateKey.from_private_bytes(sign), X25519PrivateKey.from_private_bytes(box)
            )
        except (KeyError, binascii.Error, ValueError):
            raise InvalidInput(
                "the agent credential's keys are missing or malformed", field="credential"
            ) from None
