"""A directory's capture key: the OpenPGP key Samba encrypts each new password to.

Samba AD DCs store every new password encrypted to the OpenPGP keys named by smb.conf's
``password hash gpg key ids`` (the ``virtualSambaGPG`` attribute that ``samba-tool user
syncpasswords`` reads). The DC's GnuPG keyring holds only the public part
(:attr:`CaptureKey.public_key`); the secret part (:attr:`CaptureKey.secret`, the transferable
secret key's bytes) lives in the vault's key store, wrapped by the master key
(:meth:`credsync.crypto.keys.KeyEncryptionKey.wrap_capture_key`).

The key is v4 (RFC 4880) on purpose: Samba 4.17 runs GnuPG 2.2.40, which can't read v6 keys.
New keys are Curve25519 (an Ed25519 certify primary key, an Ed25519 signing subkey and a
Cv25519 encryption subkey): X25519 is ~40x cheaper to open than RSA-3072, and opening is what
bounds how fast a burst of changes is applied. Keys made before are RSA-3072 (an RSA
encryption subkey) and still open.

The Windows password-filter agent's formats use the same key's encryption subkey:
``x25519-hkdf-sha256+a256gcm`` for a Curve25519 key (:meth:`CaptureDecryptor.decrypt_x25519`,
:func:`x25519_encrypt`), ``rsa-oaep-sha256+a256gcm`` for an RSA one
(:meth:`CaptureDecryptor.decrypt_rsa_oaep`, :func:`rsa_oaep_encrypt`).

The library is Sequoia (``pysequoia``); no other module imports it.
"""

from __future__ import annotations

import base64
import binascii
import os
from typing import Literal

import pysequoia
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa, x25519
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from pysequoia.packet import PacketPile, Tag

from credsync.errors import IntegrityError, InvalidInput

__all__ = [
    "MAX_MESSAGE_BYTES",
    "CaptureDecryptor",
    "CaptureKey",
    "CaptureKeyKind",
    "decrypt_message",
    "generate_capture_key",
    "public_part",
    "rsa_oaep_encrypt",
    "x25519_encrypt",
    "x25519_recipient",
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


CaptureKeyKind = Literal["cv25519", "rsa3072"]


def generate_capture_key(user_id: str, kind: CaptureKeyKind = "cv25519") -> CaptureKey:
    """A new v4 key with ``user_id`` (``credsync capture <directory>``); no expiry (a capture
    key is replaced on purpose, not by a date). Curve25519 by default: opening a message
    (X25519) costs ~0.2 ms where RSA-3072's private operation costs ~8 ms, and that is what
    bounds the rate at which a burst of changes is applied. ``rsa3072`` is what keys made
    before were (they still open); tests make one to prove it."""
    suite = pysequoia.CipherSuite.Cv25519 if kind == "cv25519" else pysequoia.CipherSuite.RSA3k
    tsk = pysequoia.Tsk.generate(user_id, profile=pysequoia.Profile.RFC4880, cipher_suite=suite)
    cert = tsk.extract_certificate()
    return CaptureKey(cert.fingerprint.upper(), str(cert), bytes(tsk))


def public_part(secret: bytes) -> tuple[str, str]:
    """(fingerprint, armoured public key) of a stored secret key."""
    cert = pysequoia.Tsk.from_bytes(secret).extract_certificate()
    return cert.fingerprint.upper(), str(cert)


class CaptureDecryptor:
    """A capture key opened for decryption (parsed once, for a batch of messages)."""

    __slots__ = ("_decryptor", "_rsa", "_secret", "_x25519")

    def __init__(self, secret: bytes) -> None:
        try:
            self._decryptor = pysequoia.Tsk.from_bytes(secret).decryptor()
        except Exception as exc:  # the library raises plain exceptions
            raise IntegrityError("the capture key in the key store can't be read") from exc
        self._secret = secret
        self._rsa: rsa.RSAPrivateKey | None = None
        self._x25519: x25519.X25519PrivateKey | None = None

    def decrypt_rsa_oaep(self, ciphertext: str, aad: bytes) -> bytes:
        """The plaintext of a ``rsa-oaep-sha256+a256gcm`` ciphertext (base64 of the
        RSA-OAEP-wrapped AES-256 key || 12-byte nonce || AES-256-GCM ciphertext and tag, with
        ``aad``), wrapped to this key's RSA encryption subkey. InvalidInput (``ciphertext``)
        when it is not one, or not to this key, or ``aad`` is not its own."""
        if self._rsa is None:
            self._rsa = _encryption_subkey(self._secret)
            if self._rsa is None:
                raise InvalidInput(
                    "the directory's capture key is Curve25519: send x25519-hkdf-sha256+a256gcm",
                    field="ciphertext_format",
                )
        size = self._rsa.key_size // 8
        raw = _sealed_bytes(ciphertext, size)
        wrapped, nonce, sealed = raw[:size], raw[size : size + _GCM_NONCE], raw[size + _GCM_NONCE :]
        try:
            key = self._rsa.decrypt(wrapped, _OAEP)
            if len(key) != 32:
                raise ValueError("not an AES-256 key")
            return AESGCM(key).decrypt(nonce, sealed, aad)
        except (ValueError, InvalidTag):
            raise _undecryptable() from None

    def decrypt_x25519(self, ciphertext: str, aad: bytes) -> bytes:
        """The plaintext of a ``x25519-hkdf-sha256+a256gcm`` ciphertext (base64 of an
        ephemeral X25519 public key || 12-byte nonce || AES-256-GCM ciphertext and tag, with
        ``aad``; the key is HKDF-SHA256 of the X25519 shared secret, see :func:`_x25519_kek`),
        made to this key's Cv25519 encryption subkey. InvalidInput as :meth:`decrypt_rsa_oaep`."""
        if self._x25519 is None:
            self._x25519 = _x25519_subkey(self._secret)
            if self._x25519 is None:
                raise InvalidInput(
                    "the directory's capture key is RSA: send rsa-oaep-sha256+a256gcm",
                    field="ciphertext_format",
                )
        raw = _sealed_bytes(ciphertext, _X25519_LEN)
        ephemeral = raw[:_X25519_LEN]
        nonce = raw[_X25519_LEN : _X25519_LEN + _GCM_NONCE]
        sealed = raw[_X25519_LEN + _GCM_NONCE :]
        recipient = self._x25519.public_key().public_bytes_raw()
        try:
            shared = self._x25519.exchange(x25519.X25519PublicKey.from_public_bytes(ephemeral))
            key = _x25519_kek(shared, ephemeral, recipient)
            return AESGCM(key).decrypt(nonce, sealed, aad)
        except (ValueError, InvalidTag):
            raise _undecryptable() from None

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


# -- the RSA-OAEP format (for the Windows password-filter agent) ------------------------------
_GCM_NONCE = 12
_OAEP = padding.OAEP(
    mgf=padding.MGF1(algorithm=hashes.SHA256()), algorithm=hashes.SHA256(), label=None
)
_RSA_ALGORITHMS = (1, 2)  # RSA (encrypt or sign), RSA encrypt-only


def _mpi(body: bytes, pos: int) -> tuple[int, int]:
    bits = int.from_bytes(body[pos : pos + 2], "big")
    end = pos + 2 + (bits + 7) // 8
    if end > len(body):
        raise IntegrityError("the capture key's RSA subkey is malformed")
    return int.from_bytes(body[pos + 2 : end], "big"), end


def _encryption_packet(data: bytes, tag: Tag) -> bytes:
    """The body of the key packet (of ``tag``) whose binding signature says it encrypts."""
    last: bytes | None = None
    for packet in PacketPile.from_bytes(data):
        if packet.tag == tag:
            last = packet.body
        elif packet.tag == Tag.Signature and last is not None:
            flags = packet.key_flags
            if flags is not None and (flags.transport_encryption or flags.storage_encryption):
                return last
    raise IntegrityError("the capture key has no encryption subkey")


def _rsa_public(body: bytes) -> tuple[int, int, int]:
    """(n, e, where the public part ends) of a v4 RSA key packet's body."""
    if len(body) < 6 or body[0] != 4 or body[5] not in _RSA_ALGORITHMS:
        raise IntegrityError("the capture key's encryption subkey is not a v4 RSA key")
    n, pos = _mpi(body, 6)
    e, pos = _mpi(body, pos)
    return n, e, pos


def _encryption_subkey(secret: bytes) -> rsa.RSAPrivateKey | None:
    """The RSA encryption subkey's private key; None when the key is not RSA (Curve25519)."""
    body = _encryption_packet(secret, Tag.SecretSubkey)
    if len(body) > 5 and body[0] == 4 and body[5] == _ECDH:
        return None
    n, e, pos = _rsa_public(body)
    if body[pos] != 0:  # the key store's copy is never passphrase-protected
        raise IntegrityError("the capture key's secret subkey is protected")
    d, pos = _mpi(body, pos + 1)
    p, pos = _mpi(body, pos)
    q, pos = _mpi(body, pos)
    numbers = rsa.RSAPrivateNumbers(
        p,
        q,
        d,
        rsa.rsa_crt_dmp1(d, p),
        rsa.rsa_crt_dmq1(d, q),
        rsa.rsa_crt_iqmp(p, q),
        rsa.RSAPublicNumbers(e, n),
    )
    return numbers.private_key()


def rsa_oaep_encrypt(public_key: str, plaintext: bytes, aad: bytes) -> str:
    """``plaintext`` in the ``rsa-oaep-sha256+a256gcm`` format, to the RSA encryption subkey
    of the (ASCII-armoured) capture key: what the Windows password-filter agent sends."""
    cert = pysequoia.Cert.from_bytes(public_key.encode("ascii"))
    n, e, _ = _rsa_public(_encryption_packet(bytes(cert), Tag.PublicSubkey))
    key = AESGCM.generate_key(bit_length=256)
    nonce = os.urandom(_GCM_NONCE)
    wrapped = rsa.RSAPublicNumbers(e, n).public_key().encrypt(key, _OAEP)
    sealed = AESGCM(key).encrypt(nonce, plaintext, aad)
    return base64.b64encode(wrapped + nonce + sealed).decode("ascii")


def decrypt_message(secret: bytes, message: str) -> bytes:
    """:meth:`CaptureDecryptor.decrypt` with a key used once."""
    return CaptureDecryptor(secret).decrypt(message)


# -- the X25519 format (the RSA-OAEP format's sibling for a Curve25519 key) --------------------
_ECDH = 18  # OpenPGP public-key algorithm: ECDH (here always over Curve25519)
_CV25519_OID = bytes.fromhex("2b060104019755010501")  # 1.3.6.1.4.1.3029.1.5.1
_X25519_LEN = 32
_X25519_INFO = b"credsync-capture x25519-hkdf-sha256+a256gcm v1"


def _x25519_kek(shared: bytes, ephemeral: bytes, recipient: bytes) -> bytes:
    """The AES-256 key: HKDF-SHA256 (no salt) of the X25519 shared secret, its info the
    format's label, the ephemeral public key and the recipient's (binding the key to both)."""
    if shared == bytes(_X25519_LEN):  # a low-order point: no secret at all
        raise ValueError("an all-zero shared secret")
    hkdf = HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=None,
        info=_X25519_INFO + ephemeral + recipient,
    )
    return hkdf.derive(shared)


def _cv25519_public(body: bytes) -> tuple[bytes, int]:
    """(the native X25519 public key, where the public part ends) of a v4 Cv25519 ECDH key
    packet's body: version, creation time, algorithm 18, the curve's OID, the point as an MPI
    (0x40 || 32 bytes), then the KDF parameters."""
    oid_end = 7 + len(_CV25519_OID)
    if len(body) < oid_end or body[0] != 4 or body[5] != _ECDH or body[7:oid_end] != _CV25519_OID:
        raise IntegrityError("the capture key's encryption subkey is not a v4 Cv25519 key")
    point, pos = _mpi_bytes(body, oid_end)
    if len(point) != _X25519_LEN + 1 or point[0] != 0x40:
        raise IntegrityError("the capture key's Cv25519 subkey is malformed")
    kdf_len = body[pos] if pos < len(body) else 0
    return point[1:], pos + 1 + kdf_len


def _mpi_bytes(body: bytes, pos: int) -> tuple[bytes, int]:
    value, end = _mpi(body, pos)
    return value.to_bytes(end - pos - 2, "big"), end


def _x25519_subkey(secret: bytes) -> x25519.X25519PrivateKey | None:
    """The Cv25519 encryption subkey's private key; None when the key is not Curve25519. The
    secret scalar is stored as a big-endian MPI (RFC 4880bis): X25519 wants it reversed."""
    body = _encryption_packet(secret, Tag.SecretSubkey)
    if len(body) > 5 and body[0] == 4 and body[5] in _RSA_ALGORITHMS:
        return None
    public, pos = _cv25519_public(body)
    if pos >= len(body) or body[pos] != 0:  # the key store's copy is never protected
        raise IntegrityError("the capture key's secret subkey is protected")
    scalar, _ = _mpi(body, pos + 1)
    key = x25519.X25519PrivateKey.from_private_bytes(scalar.to_bytes(_X25519_LEN, "big")[::-1])
    if key.public_key().public_bytes_raw() != public:
        raise IntegrityError("the capture key's Cv25519 subkey does not match its public key")
    return key


def x25519_recipient(public_key: str) -> bytes:
    """The raw 32-byte X25519 public key of the (armoured) capture key's Cv25519 encryption
    subkey: what the Windows password filter seals to (its ``RecipientKey``, in hex).
    IntegrityError when the key is not Curve25519 (an RSA key made before)."""
    cert = pysequoia.Cert.from_bytes(public_key.encode())
    recipient, _ = _cv25519_public(_encryption_packet(bytes(cert), Tag.PublicSubkey))
    return recipient


def x25519_encrypt(public_key: str, plaintext: bytes, aad: bytes) -> str:
    """``plaintext`` in the ``x25519-hkdf-sha256+a256gcm`` format, to the Cv25519 encryption
    subkey of the armoured ``public_key`` (what the Windows agent will do; used by tests)."""
    cert = pysequoia.Cert.from_bytes(public_key.encode())
    recipient, _ = _cv25519_public(_encryption_packet(bytes(cert), Tag.PublicSubkey))
    ephemeral = x25519.X25519PrivateKey.generate()
    shared = ephemeral.exchange(x25519.X25519PublicKey.from_public_bytes(recipient))
    ephemeral_public = ephemeral.public_key().public_bytes_raw()
    key = _x25519_kek(shared, ephemeral_public, recipient)
    nonce = os.urandom(_GCM_NONCE)
    sealed = AESGCM(key).encrypt(nonce, plaintext, aad)
    return base64.b64encode(ephemeral_public + nonce + sealed).decode("ascii")


def _sealed_bytes(ciphertext: str, key_part: int) -> bytes:
    """The bytes of a base64 ciphertext of the Windows formats: ``key_part`` bytes (a wrapped
    or ephemeral key), a GCM nonce and at least a tag, else InvalidInput (``ciphertext``)."""
    try:
        raw = base64.b64decode(ciphertext, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInput("the ciphertext is not base64", field="ciphertext") from None
    if len(raw) < key_part + _GCM_NONCE + 16:
        raise InvalidInput("the ciphertext is too short", field="ciphertext")
    return raw


def _undecryptable() -> InvalidInput:
    return InvalidInput(
        "the ciphertext can't be decrypted with the directory's capture key (or it was "
        "made for another account or change)",
        field="ciphertext",
    )
