"""People's security keys and passkeys (WebAuthn) as a second factor, beside their TOTP app
(:mod:`credsync.vault.person_auth`). The ceremonies are those of operators' keys
(:mod:`credsync.vault.webauthn`, the same :mod:`credsync.crypto.webauthn`), run from the person
portal; the relying party (the portal's host name and origin) is the caller's to give.

- **Adding a key** (:meth:`PersonKeys.registration_options`, :meth:`PersonKeys.register`): by a
  person whose sign-in passed the second factor, or who has none yet (then the key completes
  their enrolment). Audited ``person.security_key_added``.
- **Signing in** (:meth:`PersonKeys.sign_in_options`, :meth:`PersonKeys.check`): the answer
  must be signed by one of the person's keys over a live challenge of their sign-in (taken
  once), and the sign count must go up when either count is non-zero (a cloned key). A refused
  answer counts against the sign-in limits like a wrong code.
- **Removing a key** (:meth:`PersonKeys.remove`), from a session that passed the second factor.

Credential ids and public keys stay out of audit details, errors and what is shown.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from credsync.crypto.webauthn import (
    RelyingParty,
    authentication_options,
    new_challenge,
    registration_options,
)
from credsync.errors import Conflict, NotFound, PermissionDenied
from credsync.storage import Database
from credsync.storage import people as people_rows
from credsync.storage import person_mfa as rows
from credsync.types import new_id
from credsync.vault._key_ceremony import (
    check_assertion,
    key_name,
    new_key_free,
    registered_key,
    transports_of,
)
from credsync.vault._time import utcnow
from credsync.vault.audit import AuditLog
from credsync.vault.mfa import SecurityKey, SecurityKeyJson

if TYPE_CHECKING:
    from credsync.vault.person_auth import PersonAuth, PersonSignIn

__all__ = ["CHALLENGE_TTL", "MAX_KEYS", "PersonKey", "PersonKeyJson", "PersonKeys"]

CHALLENGE_TTL = dt.timedelta(minutes=5)
MAX_KEYS = 10
_REGISTER = "register"
_SIGN_IN = "sign_in"


# A person's key is shown as an operator's is: its name and times, never its credential.
PersonKey = SecurityKey
PersonKeyJson = SecurityKeyJson


class PersonKeys:
    def __init__(self, db: Database, audit: AuditLog, auth: PersonAuth) -> None:
        self._db = db
        self._audit = audit
        self._auth = auth

    def _person(self, sign_in: PersonSignIn) -> people_rows.PersonRow:
        """The sign-in's person, provided it may change their keys: it passed the second
        factor, or the person has none yet."""
        with self._db.read() as conn:
            person = people_rows.get(conn, sign_in.person_id)
            enrolled = self._auth._status(conn, sign_in.person_id).enrolled
        if person is None or person.deleted_at is not None or not person.enabled:
            raise NotFound("no such person")
        if enrolled and not sign_in.mfa:
            raise PermissionDenied("sign in again with your second factor to change your keys")
        return person

    def list(self, person_id: str) -> list[PersonKey]:
        with self._db.read() as conn:
            return [PersonKey.of(k) for k in rows.keys_of(conn, person_id)]

    def registration_options(self, sign_in: PersonSignIn, rp: RelyingParty) -> str:
        """The JSON for ``navigator.credentials.create()``, its challenge kept."""
        person = self._person(sign_in)
        challenge = new_challenge()
        now = utcnow()
        with self._db.write() as conn:
            mine = rows.keys_of(conn, person.id)
            if len(mine) >= MAX_KEYS:
                raise Conflict(f"you have {MAX_KEYS} security keys: remove one first")
            rows.add_challenge(
                conn, challenge, person.id, _REGISTER, now=now, expires_at=now + CHALLENGE_TTL
            )
        return registration_options(
            rp,
            challenge=challenge,
            user_id=person.id,
            user_name=person.username,
            exclude=[(k.credential_id, transports_of(k)) for k in mine],
        )

    def register(
        self, sign_in: PersonSignIn, rp: RelyingParty, name: str, answer: str
    ) -> PersonKey:
        """Add the key of the browser's ``answer`` under ``name``; InvalidInput naming
        ``name`` or ``credential``."""
        name = key_name(name)
        person = self._person(sign_in)
        now = utcnow()

        def take(challenge: str) -> bool:
            with self._db.write() as conn:
                return rows.take_challenge(conn, challenge, person.id, _REGISTER, now)

        made = registered_key(rp, answer, take)
        with self._db.write() as conn:
            new_key_free(
                (k.name for k in rows.keys_of(conn, person.id)), name,
                registered=rows.by_credential_id(conn, made.credential_id) is not None,
            )  # fmt: skip
            key = rows.KeyRow(
                new_id(), person.id, made.credential_id, made.public_key, made.sign_count,
                " ".join(made.transports), name, now, None,
            )  # fmt: skip
            rows.add_key(conn, key)
            self._auth._audit_in(
                conn, "person.security_key_added", person, person.client_id,
                {"key": key.id, "key_name": name},
            )  # fmt: skip
        return PersonKey.of(key)

    def remove(self, sign_in: PersonSignIn, key_id: str) -> PersonKey:
        if not sign_in.mfa:
            raise PermissionDenied("sign in again with your second factor to change your keys")
        person = self._person(sign_in)
        with self._db.write() as conn:
            key = next((k for k in rows.keys_of(conn, person.id) if k.id == key_id), None)
            if key is None:
                raise NotFound("you have no such security key")
            rows.remove_key(conn, person.id, key.id)
            self._auth._audit_in(
                conn, "person.security_key_removed", person, person.client_id,
                {"key": key.id, "key_name": key.name},
            )  # fmt: skip
        return PersonKey.of(key)

    # -- signing in --------------------------------------------------------------------------
    def sign_in_options(self, sign_in: PersonSignIn, rp: RelyingParty) -> str | None:
        """The JSON for ``navigator.credentials.get()`` in the sign-in; None without keys."""
        challenge = new_challenge()
        now = utcnow()
        with self._db.write() as conn:
            mine = rows.keys_of(conn, sign_in.person_id)
            if not mine:
                return None
            rows.add_challenge(
                conn, challenge, sign_in.person_id, _SIGN_IN, now=now,
                expires_at=now + CHALLENGE_TTL,
            )  # fmt: skip
        allow = [(k.credential_id, transports_of(k)) for k in mine]
        return authentication_options(rp, challenge=challenge, allow=allow)

    def check(
        self, sign_in: PersonSignIn, rp: RelyingParty, answer: str, *, address: str
    ) -> PersonSignIn:
        """``sign_in`` past its second factor by a security key's ``answer``; else
        SignInRefused (counted like a wrong code)."""
        auth = self._auth
        person = auth._live(sign_in.person_id)
        auth._limit(person, sign_in.client_id, address)
        if person is None:
            raise auth._refuse(None, sign_in.client_id, address, "person gone or disabled")
        why = self._verify(person, rp, answer)
        if why is not None:
            raise auth._refuse(
                person, sign_in.client_id, address, why,
                message="the security key's answer was refused: try again, or use a code",
            )  # fmt: skip
        return auth.passed(person, sign_in, address, "security_key")

    def _verify(self, person: people_rows.PersonRow, rp: RelyingParty, answer: str) -> str | None:
        """Why the answer is refused (None: accepted, the key's count recorded)."""
        now = utcnow()

        def take(challenge: str, credential_id: str) -> tuple[bool, rows.KeyRow | None]:
            with self._db.write() as conn:
                taken = rows.take_challenge(conn, challenge, person.id, _SIGN_IN, now)
                return taken, rows.by_credential_id(conn, credential_id)

        found = check_assertion(
            rp, answer, take=take, is_theirs=lambda k: k.person_id == person.id, whose="person"
        )
        key, count = found.key, found.count
        if found.refused is not None or key is None:
            return found.refused or "security key: refused"
        with self._db.write() as conn:
            if not rows.record_use(
                conn, key.id, old_count=key.sign_count, new_count=count, now=now
            ):
                return "security key: used by another sign-in meanwhile"
        return None
