"""Operator password hashes, API-token digests and the audit-chain hash."""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from credsync.types import Secret

__all__ = [
    "chain_hash",
    "hash_password",
    "new_token_secret",
    "token_digest",
    "verify_password",
]

_HASHER = PasswordHasher()  # Argon2id, t=3, m=64 MiB, p=4


@functools.cache
def _dummy_hash() -> str:
    """A fixed hash, so that an unknown operator name costs as much as a wrong password."""
    return _HASHER.hash("credsync-timing-equaliser")


def hash_password(password: Secret) -> str:
    return _HASHER.hash(password.reveal())


def verify_password(stored_hash: str | None, password: Secret) -> bool:
    try:
        return _HASHER.verify(stored_hash or _dummy_hash(), password.reveal()) and (
            stored_hash is not None
        )
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    return _HASHER.check_needs_rehash(stored_hash)


def new_token_secret(nbytes: int = 32) -> str:
    return secrets.token_urlsafe(nbytes)


def token_digest(token: Secret) -> str:
    """Tokens carry 256 random bits, so a plain SHA-256 is a safe, fast lookup key."""
    return hashlib.sha256(token.reveal().encode("utf-8")).hexdigest()


def digests_equal(a: str, b: str) -> bool:
    return hmac.compare_digest(a, b)


def chain_hash(previous: str, payload: bytes) -> str:
    return hashlib.sha256(previous.encode("ascii") + b"\n" + payload).hexdigest()
