"""A directory's capture key: the OpenPGP key Samba encrypts each new password to.

Samba AD DCs store every new password encrypted to the OpenPGP keys named by smb.conf's
``password hash gpg key ids`` (the ``virtualSambaGPG`` attribute that ``samba-tool user
syncpasswords`` reads). The DC's GnuPG keyring holds only the public part
(:attr:`CaptureKey.public_key`); the secret part (:attr:`CaptureKey.secret`, the transferable
secret key's bytes) lives in the vault's key store, wrapped by the master key
(:meth:`credsync.crypto.keys.KeyEncryptionKey.wrap_capture_key`).

The key is RSA-3072, v4 (RFC 4880): a certify+sign primary key with an RSA encryption subkey
(Sequoia also adds a signing subkey). v4 on purpose: Samba 4.17 runs GnuPG 2.2.40, which can't
read v6 keys. The library is Sequoia (``pysequoia``); no other module imports it.
"""

from __future__ import annotations

import pysequoia

from credsync.errors import IntegrityError, InvalidInput

__all__ = [
    "MAX_MESSAGE_BYTES",
    "CaptureDecryptor",
    "CaptureKey",
    "decrypt_message",
    "generate_capture_key",
    "public_part",
]

_ARMOURED_MESSAGE = "-----BEGIN PGP MESSAGE-----"
MAX_MESSAGE_BYTES = 64 * 1024  # far more than any password's message


class CaptureKey:
    """A capture key just made or unwrapped: its fingerprint (40 upper-case hex digits, as
    GnuPG prints it), its ASCII-armoured public key, and its secret key's bytes (only for the
    key store: never shown, never logged; the repr hides them)."""

    __slots__ = ("_secret", "fingerprint", "public_key")

    def __init__(self, fingerprint: str, public_key: str, secret: bytes) -> None:
        self.fingerprint = fingerprint
        self.public_key = public_key
        self._secret = secret

    @property
    def secret(self) -> bytes:
        return self._secret

    def __repr__(self) -> str:
        return f"CaptureKey(fingerprint={self.fingerprint!r}, secret=<hidden>)"

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("keys cannot be pickled")


def generate_capture_key(user_id: str) -> CaptureKey:
    """A new RSA-3072 v4 key with ``user_id`` (``credsync capture <directory>``); no expiry
    (a capture key is replaced on purpose, not by a date)."""
    tsk = pysequoia.Tsk.generate(
        user_id,
        profile=pysequoia.Profile.RFC4880,
        cipher_suite=pysequoia.CipherSuite.RSA3k,
    )
    cert = tsk.extract_certificate()
    return CaptureKey(cert.fingerprint.upper(), str(cert), bytes(tsk))


def public_part(secret: bytes) -> tuple[str, str]:
    """(fingerprint, armoured public key) of a stored secret key."""
    cert = pysequoia.Tsk.from_bytes(secret).extract_certificate()
    return cert.fingerprint.upper(), str(cert)


class CaptureDecryptor:
    """A capture key opened for decryption (parsed once, for a batch of messages)."""

    __slots__ = ("_decryptor",)

    def __init__(self, secret: bytes) -> None:
        try:
            self._decryptor = pysequoia.Tsk.from_bytes(secret).decryptor()
        except Exception as exc:  # the library raises plain exceptions
            raise IntegrityError("the capture key in the key store can't be read") from exc

    def __repr__(self) -> str:
        return "CaptureDecryptor(<hidden>)"

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("keys cannot be pickled")

    def decrypt(self, message: str) -> bytes:
        """The plaintext of an ASCII-armoured OpenPGP message encrypted to this key. A message
        that is not one, or not to this key, is InvalidInput (``ciphertext``); the library's
        own error text is left out (it may quote the input)."""
        if not message.lstrip().startswith(_ARMOURED_MESSAGE):
            raise InvalidInput("not an ASCII-armoured OpenPGP message", field="ciphertext")
        data = message.encode("ascii", errors="replace")
        if len(data) > MAX_MESSAGE_BYTES:
            raise InvalidInput("the OpenPGP message is too large", field="ciphertext")
        try:
            plain = pysequoia.decrypt(data, decryptor=self._decryptor).bytes
        except Exception:  # undecryptable is an answer; the library's text may quote the input
            raise InvalidInput(
                "the OpenPGP message can't be decrypted with the directory's capture key",
                field="ciphertext",
            ) from None
        if plain is None:  # pragma: no cover - only file-based decryption gives None
            raise InvalidInput("the OpenPGP message holds nothing", field="ciphertext")
        return plain


def decrypt_message(secret: bytes, message: str) -> bytes:
    """:meth:`CaptureDecryptor.decrypt` with a key used once."""
    return CaptureDecryptor(secret).decrypt(message)
