"""The only package that touches key material or imports ``cryptography`` / ``argon2``.

- :mod:`.kdf`: the master passphrase -> key-encryption key (Argon2id).
- :mod:`.keys`: :class:`KeyEncryptionKey` wraps per-client :class:`DataKey`\\ s; data keys seal
  fields with AES-256-GCM bound to their record by associated data.
- :mod:`.hashing`: operator password hashes (Argon2id), API-token digests, audit-chain hashes.
"""

from credsync.crypto.kdf import KdfParams, derive_kek
from credsync.crypto.keys import DataKey, KeyEncryptionKey, SessionKey

__all__ = ["DataKey", "KdfParams", "KeyEncryptionKey", "SessionKey", "derive_kek"]
