"""Envelope encryption: a key-encryption key wraps one data key per client, and gives the
vault's keyed digests their keys (:class:`MacKey`, one per purpose).

Every sealed blob is ``b"\\x01" + nonce(12) + AES-256-GCM(ciphertext || tag)``; the associated
data names what the blob belongs to (a client's data key, a credential's field at a version, a
session), so a blob copied to another row fails to open.
"""

from __future__ import annotations

import hashlib
import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from credsync.crypto.archive import ArchiveKey
from credsync.errors import IntegrityError
from credsync.types import Secret

__all__ = ["KEY_BYTES", "DataKey", "KeyEncryptionKey", "MacKey", "SessionKey"]

KEY_BYTES = 32
_FORMAT = b"\x01"
_NONCE_BYTES = 12
_CHECK_PLAINTEXT = b"credsync key check v1"


def _seal(key: AESGCM, plaintext: bytes, aad: bytes) -> bytes:
    nonce = os.urandom(_NONCE_BYTES)
    return _FORMAT + nonce + key.encrypt(nonce, plaintext, aad)


def _open(key: AESGCM, blob: bytes, aad: bytes, what: str) -> bytes:
    if len(blob) < 1 + _NONCE_BYTES + 16 or blob[:1] != _FORMAT:
        raise IntegrityError(f"{what}: not a credsync ciphertext (corrupt or truncated)")
    nonce = blob[1 : 1 + _NONCE_BYTES]
    try:
        return key.decrypt(nonce, blob[1 + _NONCE_BYTES :], aad)
    except InvalidTag:
        raise IntegrityError(
            f"{what}: ciphertext failed authentication (tampered, moved or wrong key)"
        ) from None


class _Key:
    __slots__ = ("_aead",)

    def __init__(self, raw: bytes) -> None:
        if len(raw) != KEY_BYTES:
            raise ValueError("keys are 32 bytes")
        self._aead = AESGCM(raw)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(<hidden>)"

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("keys cannot be pickled")


class DataKey(_Key):
    """A client's data key: seals and opens credential fields."""

    __slots__ = ()

    @staticmethod
    def field_aad(record_id: str, version: int, field: str) -> bytes:
        return f"credsync/field/v1|{record_id}|{version}|{field}".encode()

    def seal_text(self, record_id: str, version: int, field: str, value: str) -> bytes:
        return _seal(self._aead, value.encode("utf-8"), self.field_aad(record_id, version, field))

    def open_text(self, record_id: str, version: int, field: str, blob: bytes) -> Secret:
        raw = _open(
            self._aead,
            blob,
            self.field_aad(record_id, version, field),
            f"{field} of {record_id} version {version}",
        )
        return Secret(raw.decode("utf-8"))


class MacKey:
    """A key for keyed digests (HMAC-SHA256) of values that must not be stored as a plain,
    guessable hash: what someone typed as an operator name at sign-in, say. Derived from the
    key-encryption key, one per purpose (:meth:`KeyEncryptionKey.mac_key`), so only a process
    that holds the master key can make or check a digest."""

    __slots__ = ("_raw",)

    def __init__(self, raw: bytes) -> None:
        if len(raw) != KEY_BYTES:
            raise ValueError("keys are 32 bytes")
        self._raw = raw

    def __repr__(self) -> str:
        return "MacKey(<hidden>)"

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("keys cannot be pickled")

    def digest(self, text: str) -> str:
        """HMAC-SHA256 of ``text`` (UTF-8), as 64 hex digits."""
        return hmac.new(self._raw, text.encode("utf-8"), hashlib.sha256).hexdigest()


class KeyEncryptionKey(_Key):
    """The key derived from the master passphrase; it only ever wraps other keys, and derives
    the keys of keyed digests (:meth:`mac_key`)."""

    __slots__ = ("_raw",)

    def __init__(self, raw: bytes) -> None:
        super().__init__(raw)
        self._raw = raw

    @staticmethod
    def _dek_aad(client_id: str) -> bytes:
        return f"credsync/data-key/v1|{client_id}".encode()

    def new_data_key(self, client_id: str) -> tuple[DataKey, bytes]:
        raw = AESGCM.generate_key(bit_length=256)
        return DataKey(raw), _seal(self._aead, raw, self._dek_aad(client_id))

    def unwrap_data_key(self, client_id: str, wrapped: bytes) -> DataKey:
        return DataKey(self._open_data_key(client_id, wrapped))

    def rewrap_data_key(self, client_id: str, wrapped: bytes, new_kek: KeyEncryptionKey) -> bytes:
        raw = self._open_data_key(client_id, wrapped)
        return _seal(new_kek._aead, raw, self._dek_aad(client_id))

    def _open_data_key(self, client_id: str, wrapped: bytes) -> bytes:
        return _open(self._aead, wrapped, self._dek_aad(client_id), f"data key of {client_id}")

    @staticmethod
    def _capture_aad(directory_id: str) -> bytes:
        return f"credsync/capture-key/v1|{directory_id}".encode()

    def wrap_capture_key(self, directory_id: str, secret: bytes) -> bytes:
        """A directory's capture key (its OpenPGP secret key's bytes) sealed for the key
        store, bound to the directory."""
        return _seal(self._aead, secret, self._capture_aad(directory_id))

    def unwrap_capture_key(self, directory_id: str, wrapped: bytes) -> bytes:
        return _open(
            self._aead, wrapped, self._capture_aad(directory_id), f"capture key of {directory_id}"
        )

    def rewrap_capture_key(
        self, directory_id: str, wrapped: bytes, new_kek: KeyEncryptionKey
    ) -> bytes:
        raw = self.unwrap_capture_key(directory_id, wrapped)
        return _seal(new_kek._aead, raw, self._capture_aad(directory_id))

    @staticmethod
    def _sign_in_aad(provider: str) -> bytes:
        return f"credsync/sign-in-secret/v1|{provider}".encode()

    def wrap_sign_in_secret(self, provider: str, secret: str) -> bytes:
        """An identity provider's client secret (operators' sign-in) sealed for the database,
        bound to the provider."""
        return _seal(self._aead, secret.encode("utf-8"), self._sign_in_aad(provider))

    def unwrap_sign_in_secret(self, provider: str, wrapped: bytes) -> Secret:
        raw = _open(self._aead, wrapped, self._sign_in_aad(provider), f"secret of {provider}")
        return Secret(raw.decode("utf-8"))

    def rewrap_sign_in_secret(
        self, provider: str, wrapped: bytes, new_kek: KeyEncryptionKey
    ) -> bytes:
        secret = self.unwrap_sign_in_secret(provider, wrapped)
        return new_kek.wrap_sign_in_secret(provider, secret.reveal())

    @staticmethod
    def _idp_aad(client_id: str, key_id: str) -> bytes:
        return f"credsync/idp-key/v1|{client_id}|{key_id}".encode()

    def wrap_idp_key(self, client_id: str, key_id: str, private_der: bytes) -> bytes:
        """A client's identity-provider signing key (PKCS#8 DER) sealed for the key store,
        bound to the client and the key's id."""
        return _seal(self._aead, private_der, self._idp_aad(client_id, key_id))

    def unwrap_idp_key(self, client_id: str, key_id: str, wrapped: bytes) -> bytes:
        return _open(
            self._aead,
            wrapped,
            self._idp_aad(client_id, key_id),
            f"identity-provider key {key_id}",
        )

    def rewrap_idp_key(
        self, client_id: str, key_id: str, wrapped: bytes, new_kek: KeyEncryptionKey
    ) -> bytes:
        raw = self.unwrap_idp_key(client_id, key_id, wrapped)
        return _seal(new_kek._aead, raw, self._idp_aad(client_id, key_id))

    def make_check(self) -> bytes:
        """A blob only this key opens; stored so a wrong passphrase is told apart at once."""
        return _seal(self._aead, _CHECK_PLAINTEXT, b"credsync/kek-check/v1")

    def matches_check(self, blob: bytes) -> bool:
        try:
            return _open(self._aead, blob, b"credsync/kek-check/v1", "key check") == (
                _CHECK_PLAINTEXT
            )
        except IntegrityError:
            return False

    def archive_key(self, salt: bytes, header: bytes) -> ArchiveKey:
        """The key of one backup archive (see :mod:`credsync.crypto.archive`)."""
        return ArchiveKey(self._raw, salt, header)

    def mac_key(self, purpose: str) -> MacKey:
        """The vault's key for the keyed digests of ``purpose``: HKDF-SHA256 of this key with
        the purpose in its info, so each purpose has a key of its own and none tells anything
        of this one. It changes when the master key is rotated."""
        derived = HKDF(
            algorithm=hashes.SHA256(),
            length=KEY_BYTES,
            salt=None,
            info=b"credsync/mac-key/v1|" + purpose.encode("utf-8"),
        ).derive(self._raw)
        return MacKey(derived)

    def seal_for_session(self, session_key: SessionKey, aad: bytes) -> bytes:
        return _seal(session_key._aead, self._raw, b"credsync/session/v1|" + aad)


class SessionKey(_Key):
    """A random key handed to the operator (``CREDSYNC_SESSION``); it never touches the disk.

    The key-encryption key is stored sealed under it, so a session opens the vault without the
    Argon2id derivation and without the key ever being written in plaintext.
    """

    __slots__ = ("_raw",)

    def __init__(self, raw: bytes) -> None:
        super().__init__(raw)
        self._raw = raw

    @classmethod
    def generate(cls) -> SessionKey:
        return cls(AESGCM.generate_key(bit_length=256))

    def export(self) -> bytes:
        return self._raw

    def open_kek(self, sealed: bytes, aad: bytes) -> KeyEncryptionKey:
        raw = _open(self._aead, sealed, b"credsync/session/v1|" + aad, "session")
        return KeyEncryptionKey(raw)
