"""The only package that touches key material or imports ``cryptography`` / ``argon2``.

- :mod:`.kdf`: the master passphrase -> key-encryption key (Argon2id).
- :mod:`.keys`: :class:`KeyEncryptionKey` wraps per-client :class:`DataKey`\\ s; data keys seal
  fields with AES-256-GCM bound to their record by associated data; :class:`MacKey`\\ s, derived
  from the key-encryption key per purpose, make keyed digests (HMAC-SHA256).
- :mod:`.hashing`: operator password hashes (Argon2id), API-token digests, audit-chain hashes.
- :mod:`.otp`: TOTP seeds and recovery codes (the operators' second factor).
- :mod:`.webauthn`: security keys' ceremonies (py_webauthn): options, attestation and
  assertion checks.
"""

from credsync.crypto.kdf import KdfParams, derive_kek
from credsync.crypto.keys import DataKey, KeyEncryptionKey, MacKey, SessionKey

__all__ = ["DataKey", "KdfParams", "KeyEncryptionKey", "MacKey", "SessionKey", "derive_kek"]
