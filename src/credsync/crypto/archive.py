"""Backup archives' encryption: one key per archive, chunks sealed in order.

An archive's key is HKDF-SHA256 of the vault's key-encryption key with the archive's own
random salt (32 bytes, in its header) and ``credsync/backup/v1`` as info: a new key for every
archive, none of which tells anything of the master key. The body is a sequence of chunks,
each sealed with AES-256-GCM under that key; chunk ``n``'s nonce is ``n`` (a key never seals
two chunks with one nonce), and its associated data binds the SHA-256 of the archive's header,
``n`` and whether it is the last chunk. So a chunk changed, dropped, moved, taken from another
archive, or an archive cut short at a chunk boundary (no last chunk) fails to open.
"""

from __future__ import annotations

import hashlib
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from credsync.errors import IntegrityError

__all__ = ["ARCHIVE_SALT_BYTES", "ArchiveKey", "new_archive_salt"]

ARCHIVE_SALT_BYTES = 32
_INFO = b"credsync/backup/v1"
_TAG_BYTES = 16


class ArchiveKey:
    """Seals and opens one archive's chunks (made by ``KeyEncryptionKey.archive_key``)."""

    __slots__ = ("_aead", "_header_digest")

    def __init__(self, kek_raw: bytes, salt: bytes, header: bytes) -> None:
        if len(salt) != ARCHIVE_SALT_BYTES:
            raise IntegrityError("backup archive: the header's salt is not 32 bytes")
        raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=_INFO).derive(kek_raw)
        self._aead = AESGCM(raw)
        self._header_digest = hashlib.sha256(header).digest()

    def __repr__(self) -> str:
        return "ArchiveKey(<hidden>)"

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("keys cannot be pickled")

    def _aad(self, index: int, final: bool) -> bytes:
        return self._header_digest + index.to_bytes(8, "big") + (b"\x01" if final else b"\x00")

    @staticmethod
    def _nonce(index: int) -> bytes:
        return b"\x00" * 4 + index.to_bytes(8, "big")

    def seal(self, index: int, data: bytes, *, final: bool) -> bytes:
        return self._aead.encrypt(self._nonce(index), data, self._aad(index, final))

    def open(self, index: int, blob: bytes, *, final: bool) -> bytes:
        if len(blob) < _TAG_BYTES:
            raise IntegrityError(f"backup archive: chunk {index} is truncated")
        try:
            return self._aead.decrypt(self._nonce(index), blob, self._aad(index, final))
        except InvalidTag:
            raise IntegrityError(
                f"backup archive: chunk {index} failed authentication (the file is damaged "
                "or was changed)"
            ) from None


def new_archive_salt() -> bytes:
    """A new archive's salt (its key is derived with it)."""
    return os.urandom(ARCHIVE_SALT_BYTES)
