"""Operators' security keys and passkeys (WebAuthn) as a second factor, beside the TOTP app of
:mod:`credsync.vault.mfa`. The ceremonies run in a browser (the dashboard); the relying party
(:class:`~credsync.crypto.webauthn.RelyingParty`: the host name and origin the dashboard is
served on) is the caller's to give.

- **Adding a key** (:meth:`SecurityKeys.registration_options`, :meth:`SecurityKeys.register`):
  an operator, from a session that passed their second factor (or one of an operator who has
  none yet), names the key; the browser answers a challenge of ours (kept server-side, taken
  once, good for :data:`CHALLENGE_TTL`); attestation is not asked for (``none``: the key's make
  is not checked). The key counts as a second factor at once. Audited ``mfa.webauthn_added``.
- **Removing a key** (:meth:`SecurityKeys.remove`, one's own, from a session that passed the
  second factor): refused when it is the operator's last second factor and one is required of
  them. Audited ``mfa.webauthn_removed``. An admin's reset (:meth:`credsync.vault.mfa.Mfa.reset`)
  removes them all.
- **Signing in** (:meth:`SecurityKeys.sign_in_options`, :meth:`SecurityKeys.check`): the options
  list the operator's keys (``allowCredentials``), user verification preferred; the answer must
  be signed by one of their keys over a live challenge made for their sign-in (taken once,
  whatever the outcome), and the key's sign count must go up when either count is non-zero (a
  count that does not is refused and audited ``mfa.webauthn_sign_count``: a cloned key). A
  good answer is audited ``mfa.webauthn_used``; a refused one ``auth.failed``, and raises
  MfaFailed, which the sign-in limiter counts like a wrong code.

Public keys and credential ids are no secrets, but they stay out of audit details, errors and
the status shown (names and times only).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.engine import Connection

from credsync.crypto.webauthn import (
    NewKey,
    RelyingParty,
    authentication_options,
    new_challenge,
    registration_options,
)
from credsync.errors import Conflict, InvalidInput, MfaFailed, NotFound, PermissionDenied
from credsync.storage import Database
from credsync.storage import mfa as totp_rows
from credsync.storage import operators as operator_rows
from credsync.storage import webauthn as rows
from credsync.storage.operators import OperatorRow
from credsync.types import new_id
from credsync.vault._key_ceremony import (
    NAME_LENGTH,
    check_assertion,
    key_name,
    new_key_free,
    registered_key,
    transports_of,
)
from credsync.vault._time import utcnow
from credsync.vault.audit import AuditLog
from credsync.vault.auth import SYSTEM, Actor
from credsync.vault.mfa import Mfa, SecurityKey

__all__ = ["CHALLENGE_TTL", "MAX_KEYS", "NAME_LENGTH", "SecurityKeys"]

CHALLENGE_TTL = dt.timedelta(minutes=5)
MAX_KEYS = 20
_REGISTER = "register"
_SIGN_IN = "sign_in"
_FAILED = "the security key's answer was refused: try again, or use a code"


class SecurityKeys:
    def __init__(self, db: Database, audit: AuditLog, mfa: Mfa) -> None:
        self._db = db
        self._audit = audit
        self._mfa = mfa

    # -- adding ------------------------------------------------------------------------------
    def _own(self, conn: Connection, actor: Actor) -> OperatorRow:
        """The actor's operator row, provided the session may change their second factors:
        it passed one, or the operator has none yet."""
        if actor.operator_id is None:
            raise InvalidInput("only an operator can have a security key")
        row = operator_rows.get(conn, actor.operator_id)
        if not actor.mfa and self._mfa.enrolled(conn, row.id):
            raise PermissionDenied(
                "sign in again with your second factor to change your security keys",
                operator=actor.name,
            )
        return row

    def registration_options(self, actor: Actor, rp: RelyingParty) -> str:
        """The options (JSON) for the browser's ``navigator.credentials.create()``, with a new
        challenge kept for :meth:`register`."""
        challenge = new_challenge()
        now = utcnow()
        with self._db.write() as conn:
            row = self._own(conn, actor)
            mine = rows.list_for(conn, row.id)
            if len(mine) >= MAX_KEYS:
                raise Conflict(f"operator {row.name!r} has {MAX_KEYS} security keys: remove one")
            rows.add_challenge(
                conn, challenge, row.id, _REGISTER, now=now, expires_at=now + CHALLENGE_TTL
            )
        return registration_options(
            rp,
            challenge=challenge,
            user_id=row.id,
            user_name=row.name,
            exclude=[(k.credential_id, transports_of(k)) for k in mine],
        )

    def register(self, actor: Actor, rp: RelyingParty, name: str, answer: str) -> SecurityKey:
        """Add the key of the browser's ``answer`` (the JSON of its
        ``navigator.credentials.create()``) under ``name``. Bad input: InvalidInput naming
        ``name`` or ``credential``."""
        name = key_name(name)
        now = utcnow()
        with self._db.read() as conn:
            row = self._own(conn, actor)

        def take(challenge: str) -> bool:
            with self._db.write() as conn:
                return rows.take_challenge(conn, challenge, row.id, _REGISTER, now)

        return self._add(actor, row, name, registered_key(rp, answer, take), now)

    def _add(
        self, actor: Actor, row: OperatorRow, name: str, made: NewKey, now: dt.datetime
    ) -> SecurityKey:
        with self._db.write() as conn:
            new_key_free(
                (k.name for k in rows.list_for(conn, row.id)), name,
                registered=rows.by_credential_id(conn, made.credential_id) is not None,
            )  # fmt: skip
            key = rows.KeyRow(
                new_id(), row.id, made.credential_id, made.public_key, made.sign_count,
                " ".join(made.transports), name, now, None,
            )  # fmt: skip
            rows.add(conn, key)
            self._audit.append(
                conn, actor, "mfa.webauthn_added", target_type="operator", target_id=row.id,
                details={"name": row.name, "key": key.id, "key_name": name},
            )  # fmt: skip
        return SecurityKey.of(key)

    # -- listing and removing ----------------------------------------------------------------
    def list(self, actor: Actor) -> list[SecurityKey]:
        """The actor's own keys."""
        if actor.operator_id is None:
            return []
        with self._db.read() as conn:
            return [SecurityKey.of(k) for k in rows.list_for(conn, actor.operator_id)]

    def remove(self, actor: Actor, key_id: str) -> SecurityKey:
        """Remove one of one's own keys (from a session that passed the second factor);
        refused when it is the last second factor and one is required."""
        with self._db.write() as conn:
            row = self._own(conn, actor)
            mine = {k.id: k for k in rows.list_for(conn, row.id)}
            key = mine.get(key_id)
            if key is None:
                raise NotFound("you have no such security key")
            app = totp_rows.get(conn, row.id)
            others = len(mine) - 1 + (app is not None and app.confirmed_at is not None)
            if not others and self._mfa.required_in(conn, row):
                raise InvalidInput(
                    f"a second factor is required of operator {row.name!r} and this key is "
                    "their last: add another key or an authenticator app first",
                    field="key",
                )
            rows.remove(conn, row.id, key.id)
            self._audit.append(
                conn, actor, "mfa.webauthn_removed", target_type="operator", target_id=row.id,
                details={"name": row.name, "key": key.id, "key_name": key.name},
            )  # fmt: skip
        return SecurityKey.of(key)

    # -- signing in --------------------------------------------------------------------------
    def sign_in_options(self, row: OperatorRow, rp: RelyingParty) -> str | None:
        """The options (JSON) for the browser's ``navigator.credentials.get()`` in ``row``'s
        sign-in, with a new challenge kept for :meth:`check`; None without keys."""
        challenge = new_challenge()
        now = utcnow()
        with self._db.write() as conn:
            mine = rows.list_for(conn, row.id)
            if not mine:
                return None
            rows.add_challenge(
                conn, challenge, row.id, _SIGN_IN, now=now, expires_at=now + CHALLENGE_TTL
            )
        allow = [(k.credential_id, transports_of(k)) for k in mine]
        return authentication_options(rp, challenge=challenge, allow=allow)

    def has_keys(self, row: OperatorRow) -> bool:
        with self._db.read() as conn:
            return rows.count(conn, row.id) > 0

    def check(self, row: OperatorRow, rp: RelyingParty, answer: str) -> None:
        """Accept ``answer`` (the JSON of the browser's ``navigator.credentials.get()``) as
        ``row``'s second factor; else MfaFailed (audited ``auth.failed``)."""
        now = utcnow()

        def take(challenge: str, credential_id: str) -> tuple[bool, rows.KeyRow | None]:
            with self._db.write() as conn:
                taken = rows.take_challenge(conn, challenge, row.id, _SIGN_IN, now)
                return taken, rows.by_credential_id(conn, credential_id)

        found = check_assertion(
            rp, answer, take=take, is_theirs=lambda k: k.operator_id == row.id, whose="operator"
        )
        key, count = found.key, found.count
        if found.cloned and key is not None:
            with self._db.write() as conn:
                self._audit.append(
                    conn, SYSTEM, "mfa.webauthn_sign_count", target_type="operator",
                    target_id=row.id,
                    details={
                        "name": row.name, "key": key.id, "key_name": key.name,
                        "stored": key.sign_count, "given": count,
                    },
                )  # fmt: skip
        if found.refused is not None or key is None:
            self._failed(row, found.refused or "security key: refused")
            raise MfaFailed(_FAILED)
        with self._db.write() as conn:
            if not rows.record_use(
                conn, key.id, old_count=key.sign_count, new_count=count, now=now
            ):
                raise MfaFailed(_FAILED)  # another sign-in used the key meanwhile
            self._audit.append(
                conn, SYSTEM, "mfa.webauthn_used", target_type="operator", target_id=row.id,
                details={"name": row.name, "key": key.id, "key_name": key.name},
            )  # fmt: skip

    def _failed(self, row: OperatorRow, why: str) -> None:
        with self._db.write() as conn:
            self._audit.append(
                conn, SYSTEM, "auth.failed", target_type="operator", target_id=row.name[:64],
                details={"reason": why},
            )  # fmt: skip
