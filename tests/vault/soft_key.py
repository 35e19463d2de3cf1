"""A software WebAuthn authenticator for the tests: an ES256 key pair made with
``cryptography``, answering ``navigator.credentials.create()`` (attestation ``none``) and
``.get()`` options as a browser would hand them to the server (JSON, base64url), with real
signatures that the server verifies for real."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import struct
from dataclasses import dataclass, field
from typing import Any

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

__all__ = ["SoftKey", "b64u", "challenge_in"]

_UP, _UV, _AT = 0x01, 0x04, 0x40


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64u(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def challenge_in(options: str) -> str:
    return str(json.loads(options)["challenge"])


@dataclass
class SoftKey:
    rp_id: str = "localhost"
    origin: str = "http://localhost"
    sign_count: int = 0
    count_step: int = 1  # 0: a key without a counter (always 0)
    credential_id: bytes = field(default_factory=lambda: os.urandom(32))
    private: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )

    def _cose(self) -> bytes:
        numbers = self.private.public_key().public_numbers()
        return cbor2.dumps({
            1: 2, 3: -7, -1: 1,
            -2: numbers.x.to_bytes(32, "big"), -3: numbers.y.to_bytes(32, "big"),
        })  # fmt: skip

    def _auth_data(self, flags: int, attested: bytes = b"", rp_id: str | None = None) -> bytes:
        rp_hash = hashlib.sha256((rp_id or self.rp_id).encode()).digest()
        return rp_hash + bytes([flags]) + struct.pack(">I", self.sign_count) + attested

    def _client_data(self, kind: str, challenge: str, origin: str | None) -> bytes:
        body = {"type": kind, "challenge": challenge, "origin": origin or self.origin}
        return json.dumps(body, separators=(",", ":")).encode()

    def create(
        self,
        options: str,
        *,
        origin: str | None = None,
        rp_id: str | None = None,
        self_attested: bool = False,
    ) -> str:
        """The browser's JSON for a registration answering ``options``: attestation ``none``,
        or (``self_attested``) ``packed`` self attestation, signed by the new key itself."""
        challenge = challenge_in(options)
        cid = self.credential_id
        attested = bytes(16) + struct.pack(">H", len(cid)) + cid + self._cose()
        auth_data = self._auth_data(_UP | _UV | _AT, attested, rp_id)
        client_data = self._client_data("webauthn.create", challenge, origin)
        statement: dict[str, Any] = {}
        if self_attested:
            signed = auth_data + hashlib.sha256(client_data).digest()
            statement = {"alg": -7, "sig": self.private.sign(signed, ec.ECDSA(hashes.SHA256()))}
        attestation = cbor2.dumps({
            "fmt": "packed" if self_attested else "none", "attStmt": statement,
            "authData": auth_data,
        })  # fmt: skip
        return json.dumps({
            "id": b64u(cid), "rawId": b64u(cid), "type": "public-key",
            "response": {
                "clientDataJSON": b64u(client_data),
                "attestationObject": b64u(attestation),
                "transports": ["usb"],
            },
            "clientExtensionResults": {},
        })  # fmt: skip

    def get(
        self,
        options: str,
        *,
        origin: str | None = None,
        rp_id: str | None = None,
        challenge: str | None = None,
        tamper: bool = False,
    ) -> str:
        """The browser's JSON for an assertion answering ``options`` (signed for real)."""
        self.sign_count += self.count_step
        client_data = self._client_data("webauthn.get", challenge or challenge_in(options), origin)
        auth_data = self._auth_data(_UP | _UV, rp_id=rp_id)
        signed = auth_data + hashlib.sha256(client_data).digest()
        signature = self.private.sign(signed, ec.ECDSA(hashes.SHA256()))
        if tamper:
            client_data = client_data.replace(b'"webauthn.get"', b'"webauthn.get" ')
        return json.dumps({
            "id": b64u(self.credential_id), "rawId": b64u(self.credential_id),
            "type": "public-key",
            "response": {
                "clientDataJSON": b64u(client_data),
                "authenticatorData": b64u(auth_data),
                "signature": b64u(signature),
                "userHandle": None,
            },
            "clientExtensionResults": {},
        })  # fmt: skip

    def allowed_in(self, options: str) -> bool:
        allowed = json.loads(options).get("allowCredentials", [])
        return any(_unb64u(c["id"]) == self.credential_id for c in allowed)
