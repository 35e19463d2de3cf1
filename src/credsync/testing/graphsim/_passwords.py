"""Entra's password rules and the simulator's password store: only salted hashes are kept."""

from __future__ import annotations

import hashlib
import hmac
import os
import random
import string
import threading

__all__ = ["PasswordWrites", "complies", "hash_password", "matches", "strong_password"]

# Characters Entra accepts in a password; anything else (Unicode, control characters) is refused.
# https://learn.microsoft.com/en-us/entra/identity/authentication/concept-sspr-policy: "A - Z,
# a - z, 0 - 9, @ # $ % ^ & * - _ ! + = [ ] { } | \ : ' , . ? / ` ~ " ( ) ; < > blank space";
# "Characters not allowed: Unicode characters"; 8 to 256 characters; 3 of 4 classes (lower,
# upper, digit, symbol) unless passwordPolicies holds DisableStrongPassword. Whether that also
# lifts the length and character rules is not documented: here it waives the classes only.
SYMBOLS = "@#$%^&*-_!+=[]{}|\\:',.?/`~\"();<> "
_ALLOWED = frozenset(string.ascii_letters + string.digits + SYMBOLS)
_ITERATIONS = 1000  # a simulator: cheap, but never the password itself


def complies(password: str, *, strong: bool = True) -> bool:
    """8-256 allowed characters; with ``strong`` at least 3 of lower, upper, digit, symbol."""
    if not 8 <= len(password) <= 256 or not set(password) <= _ALLOWED:
        return False
    if not strong:
        return True
    classes = (
        any(c.islower() for c in password),
        any(c.isupper() for c in password),
        any(c.isdigit() for c in password),
        any(c in SYMBOLS for c in password),
    )
    return sum(classes) >= 3


def hash_password(password: str) -> bytes:
    salt = os.urandom(16)
    return salt + hashlib.pbkdf2_hmac("sha256", password.encode(), salt, _ITERATIONS)


def matches(stored: bytes | None, password: str) -> bool:
    if stored is None:
        return False
    salt, digest = stored[:16], stored[16:]
    return hmac.compare_digest(
        digest, hashlib.pbkdf2_hmac("sha256", password.encode(), salt, _ITERATIONS)
    )


def strong_password(rng: random.Random) -> str:
    """A password that meets the complexity rule (for users made without one)."""
    body = "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(12))
    return f"Sim{body}-{rng.randint(10, 99)}!"


class PasswordWrites:
    """Every password an app wrote to each user (a PATCH with a passwordProfile that took),
    kept as salted hashes like the store's, for tests: how often a user's password was
    written, and how often with a given password (``tenant.password_log``). Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_user: dict[str, list[bytes]] = {}

    def record(self, user_id: str, password: str) -> None:
        hashed = hash_password(password)
        with self._lock:
            self._by_user.setdefault(user_id, []).append(hashed)

    def count(self, user_id: str, password: str | None = None) -> int:
        """How many times the user's password was written (with ``password``: that one)."""
        with self._lock:
            written = list(self._by_user.get(user_id, ()))
        if password is None:
            return len(written)
        return sum(matches(h, password) for h in written)
