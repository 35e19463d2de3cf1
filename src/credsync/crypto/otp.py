"""One-time codes for operators' second factor: TOTP (RFC 6238) seeds sealed under the vault's
MFA key, and recovery codes kept only as digests.

- :class:`MfaKey`: a random 256-bit key of the vault's, stored in the database (``vault_meta``)
  because password sign-in has no master key; it seals each operator's TOTP seed with
  AES-256-GCM bound (associated data) to the operator's id, so a seed copied to another
  operator's row fails to open. It protects the seeds from whoever reads a backup of the
  ``operator_mfa`` table alone, not from whoever has the whole database.
- :class:`Totp`: a seed (never shown by its repr); codes of 6 digits, 30-second steps,
  HMAC-SHA1 as authenticator apps expect; :meth:`Totp.match` says which time step a code
  belongs to, one step of clock skew either side accepted.
- Recovery codes: 16 characters of a 32-letter alphabet (80 random bits), shown once; only
  their SHA-256 is kept (:func:`recovery_digest`).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets

import pyotp
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from credsync.crypto.keys import KEY_BYTES, _open, _seal
from credsync.types import Secret

__all__ = [
    "RECOVERY_CODES",
    "STEP_SECONDS",
    "MfaKey",
    "Totp",
    "new_recovery_code",
    "normal_recovery_code",
    "recovery_digest",
]

STEP_SECONDS = 30
DIGITS = 6
SKEW_STEPS = 1
RECOVERY_CODES = 10
_RECOVERY_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # 32 letters: no 0/O, 1/I


class MfaKey:
    """The vault's key for sealing TOTP seeds (see the module's docstring)."""

    __slots__ = ("_aead",)

    def __init__(self, raw: bytes) -> None:
        if len(raw) != KEY_BYTES:
            raise ValueError("an MFA key is 32 bytes")
        self._aead = AESGCM(raw)

    @staticmethod
    def generate_raw() -> bytes:
        return os.urandom(KEY_BYTES)

    def __repr__(self) -> str:
        return "MfaKey(<hidden>)"

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("MfaKey cannot be pickled")

    @staticmethod
    def _aad(operator_id: str) -> bytes:
        return b"credsync/totp-seed/v1|" + operator_id.encode()

    def seal(self, operator_id: str, totp: Totp) -> bytes:
        return _seal(self._aead, totp.secret.reveal().encode(), self._aad(operator_id))

    def open(self, operator_id: str, blob: bytes) -> Totp:
        raw = _open(self._aead, blob, self._aad(operator_id), "TOTP seed")
        return Totp(Secret(raw.decode("ascii")))


class Totp:
    """A TOTP seed (base32); its repr never shows it."""

    __slots__ = ("secret",)

    def __init__(self, secret: Secret) -> None:
        self.secret = secret

    @classmethod
    def generate(cls) -> Totp:
        return cls(Secret(pyotp.random_base32(32)))  # 160 bits, as RFC 4226 recommends

    def __repr__(self) -> str:
        return "Totp(<hidden>)"

    def _otp(self) -> pyotp.TOTP:
        return pyotp.TOTP(self.secret.reveal(), digits=DIGITS, interval=STEP_SECONDS)

    def uri(self, account: str, issuer: str) -> Secret:
        """The ``otpauth://`` URI an authenticator app reads (it holds the seed)."""
        return Secret(self._otp().provisioning_uri(name=account, issuer_name=issuer))

    def code_at(self, unix_time: float) -> str:
        return self._otp().at(int(unix_time))

    def match(self, code: str, unix_time: float) -> int | None:
        """The time step (``unix_time // 30``) whose code ``code`` is, within one step either
        side of ``unix_time``; None if none."""
        code = code.strip().replace(" ", "")
        if len(code) != DIGITS or not code.isdigit():
            return None
        now_step = int(unix_time) // STEP_SECONDS
        otp = self._otp()
        found = None
        for step in range(now_step - SKEW_STEPS, now_step + SKEW_STEPS + 1):
            if hmac.compare_digest(otp.at(step * STEP_SECONDS), code):
                found = step
        return found


def new_recovery_code() -> Secret:
    """16 characters from a 32-letter alphabet (80 random bits), in four groups
    (``ABCD-EFGH-JKMN-PQRS``)."""
    chars = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(16))
    return Secret("-".join(chars[i : i + 4] for i in range(0, 16, 4)))


def normal_recovery_code(code: str) -> str:
    """A recovery code as typed, without dashes or spaces, in capitals."""
    return "".join(c for c in code.upper() if c.isalnum())


def recovery_digest(code: str) -> str:
    """What is stored of a recovery code: SHA-256 of its normal form (80+ random bits: no
    salt or slow hash needed)."""
    return hashlib.sha256(
        b"credsync/recovery/v1|" + normal_recovery_code(code).encode()
    ).hexdigest()
