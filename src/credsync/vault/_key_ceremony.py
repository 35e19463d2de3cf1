"""The steps of a WebAuthn ceremony that operators' keys (:mod:`credsync.vault.webauthn`) and
people's keys (:mod:`credsync.vault.person_keys`) share. Each side keeps its own tables,
limits, audit events and errors; what they hand in is how to take a challenge of theirs
(a conditional delete) and whose a key is.

- :func:`key_name`: the name a key is added under (InvalidInput naming ``name``);
- :func:`registered_key`: the new key of a browser's ``navigator.credentials.create()``
  answer, over a live challenge taken once (InvalidInput naming ``credential``);
- :func:`check_assertion`: why a ``navigator.credentials.get()`` answer is refused, or the
  key and its new sign count (the caller records the count by a conditional update).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from credsync.crypto.webauthn import (
    NewKey,
    RelyingParty,
    WebAuthnRejected,
    challenge_of,
    credential_id_of,
    verify_assertion,
    verify_registration,
)
from credsync.errors import Conflict, InvalidInput

__all__ = [
    "NAME_LENGTH",
    "Assertion",
    "check_assertion",
    "key_name",
    "new_key_free",
    "registered_key",
    "transports_of",
]

NAME_LENGTH = 64


class StoredKey(Protocol):
    @property
    def public_key(self) -> bytes: ...
    @property
    def sign_count(self) -> int: ...
    @property
    def transports(self) -> str: ...


K = TypeVar("K", bound=StoredKey)


def transports_of(key: StoredKey) -> tuple[str, ...]:
    return tuple(key.transports.split())


def key_name(name: str) -> str:
    """``name`` with its blanks folded; InvalidInput (``name``) when empty, too long or not
    printable."""
    name = " ".join(name.split())
    if not name or len(name) > NAME_LENGTH or not name.isprintable():
        raise InvalidInput(
            f"a security key needs a name of 1 to {NAME_LENGTH} printable characters",
            field="name",
        )
    return name


def registered_key(rp: RelyingParty, answer: str, take: Callable[[str], bool]) -> NewKey:
    """The key of the browser's ``answer``, provided ``take`` takes its challenge (a live one
    of the registering party's, once); else InvalidInput naming ``credential``."""
    try:
        challenge = challenge_of(answer)
    except WebAuthnRejected as exc:
        raise InvalidInput(str(exc), field="credential") from exc
    if not take(challenge):
        raise InvalidInput(
            "the security key answered a challenge that is unknown, used or expired: "
            "add the key again",
            field="credential",
        )
    try:
        return verify_registration(rp, answer, challenge)
    except WebAuthnRejected as exc:
        raise InvalidInput(str(exc), field="credential") from exc


def new_key_free(names: Iterable[str], name: str, *, registered: bool) -> None:
    """Refuse a key named like one of ``names`` (InvalidInput, ``name``) or one whose
    credential is ``registered`` already (Conflict)."""
    if any(k.casefold() == name.casefold() for k in names):
        raise InvalidInput(f"you have a security key named {name!r} already", field="name")
    if registered:
        raise Conflict("that security key is registered already")


@dataclass(frozen=True)
class Assertion(Generic[K]):
    """What :func:`check_assertion` found: ``refused`` says why (None: accepted); ``key`` and
    ``count`` are the key that signed and its new sign count, once known."""

    refused: str | None
    key: K | None = None
    count: int = 0
    cloned: bool = False  # refused because the sign count did not go up


def check_assertion(
    rp: RelyingParty,
    answer: str,
    *,
    take: Callable[[str, str], tuple[bool, K | None]],
    is_theirs: Callable[[K], bool],
    whose: str,
) -> Assertion[K]:
    """Check the browser's ``answer`` in a sign-in: ``take(challenge, credential_id)`` takes
    the live challenge of the sign-in (whatever the outcome) and finds the key;
    ``is_theirs`` says whether it is one of the signing-in party's (``whose`` keys, in the
    reason). The sign count must go up when either count is non-zero (a cloned key)."""
    try:
        challenge = challenge_of(answer)
        credential_id = credential_id_of(answer)
    except WebAuthnRejected as exc:
        return Assertion(str(exc)[:300])
    taken, key = take(challenge, credential_id)
    if not taken:
        return Assertion("security key: unknown, used or expired challenge")
    if key is None or not is_theirs(key):
        return Assertion(f"security key: not one of the {whose}'s keys")
    try:
        count = verify_assertion(rp, answer, challenge, key.public_key)
    except WebAuthnRejected as exc:
        return Assertion(str(exc)[:300], key)
    if (count or key.sign_count) and count <= key.sign_count:
        return Assertion("security key: sign count did not go up (a cloned key?)", key, count, True)
    return Assertion(None, key, count)
