"""The password blobs of an administrator's reset over SAMR (MS-SAMR 2.2.6.32, 3.2.2.4):
the only place the local-accounts connector's key material (the SMB session key) is used.

- :func:`aes_password_blob` (``UserInternal7Information``, level 31): the 514-byte plaintext
  ``u16le(len) ‖ password in UTF-16LE ‖ random fill``, encrypted with AES-256-CBC (PKCS#7)
  under ``HMAC-SHA512(session key, "Microsoft SAM encryption key AEAD-AES-256-CBC-HMAC-SHA512
  16\\0")[:32]`` with the 16-byte salt as IV, and authenticated by ``HMAC-SHA512(mac key,
  0x01 ‖ iv ‖ ciphertext ‖ 0x01)`` with the MAC key derived alike ("...SAM MAC key...").
  Checked against Samba's ``gnutls_aead_aes_256_cbc_hmac_sha512.c``.
- :func:`rc4_password_blob` (``UserInternal5InformationNew``, level 26): a 512-byte buffer
  with the password at its end, then its length (ULONG), RC4-encrypted under
  ``MD5(salt16 ‖ session key)``, the salt appended (532 bytes).

Neither blob, the session key nor the password is ever logged or shown.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import struct

from cryptography.hazmat.decrepit.ciphers.algorithms import ARC4
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

__all__ = ["AesBlob", "aes_password_blob", "rc4_password_blob"]

_ENC_LABEL = b"Microsoft SAM encryption key AEAD-AES-256-CBC-HMAC-SHA512 16\x00"
_MAC_LABEL = b"Microsoft SAM MAC key AEAD-AES-256-CBC-HMAC-SHA512 16\x00"
_MAX_BYTES = 512  # 256 UTF-16 code units: SAMR's longest password


def _password_bytes(password: str) -> bytes:
    data = password.encode("utf-16-le")
    if len(data) > _MAX_BYTES:
        raise ValueError("the password is longer than SAMR takes (256 characters)")
    return data


class AesBlob:
    """A level-31 password: ``auth_data`` (64 bytes), ``salt`` (16), ``cipher``; no repr of
    its bytes."""

    __slots__ = ("auth_data", "cipher", "salt")

    def __init__(self, auth_data: bytes, salt: bytes, cipher: bytes) -> None:
        self.auth_data = auth_data
        self.salt = salt
        self.cipher = cipher

    def __repr__(self) -> str:
        return f"AesBlob(<{len(self.cipher)} bytes>)"


def aes_password_blob(session_key: bytes, password: str, salt: bytes | None = None) -> AesBlob:
    """The AES-256-CBC-HMAC-SHA512 blob of ``password`` for a session keyed ``session_key``
    (the 16-byte SMB session key)."""
    data = _password_bytes(password)
    plain = struct.pack("<H", len(data)) + data + os.urandom(_MAX_BYTES - len(data))
    iv = salt if salt is not None else os.urandom(16)
    enc_key = hmac.digest(session_key, _ENC_LABEL, "sha512")[:32]
    mac_key = hmac.digest(session_key, _MAC_LABEL, "sha512")
    padder = padding.PKCS7(128).padder()
    padded = padder.update(plain) + padder.finalize()
    encryptor = Cipher(algorithms.AES(enc_key), modes.CBC(iv)).encryptor()
    cipher = encryptor.update(padded) + encryptor.finalize()
    auth = hmac.digest(mac_key, b"\x01" + iv + cipher + b"\x01", "sha512")
    return AesBlob(auth, iv, cipher)


def rc4_password_blob(session_key: bytes, password: str, salt: bytes | None = None) -> bytes:
    """The 532-byte RC4 blob of ``password`` (level 26) for a session keyed ``session_key``."""
    data = _password_bytes(password)
    buffer = os.urandom(_MAX_BYTES - len(data)) + data + struct.pack("<I", len(data))
    salt16 = salt if salt is not None else os.urandom(16)
    key = hashlib.md5(salt16 + session_key).digest()  # noqa: S324 - MS-SAMR's key derivation
    encryptor = Cipher(ARC4(key), mode=None).encryptor()
    return encryptor.update(buffer) + encryptor.finalize() + salt16
