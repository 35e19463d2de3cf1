"""Authentication (operator password, API token, CLI session) and token/session management.

- API tokens (``cst_...``) carry 256 random bits; only their SHA-256 is stored. An operator may
  revoke one, or all of theirs at once (an admin: anyone's).
- Sessions (``css_<id>_<key>``) are what ``credsync unlock`` prints. The session key never
  touches the disk: the database keeps only the master key sealed under it (AES-256-GCM bound
  to the session id, operator, expiry and key generation). Key rotation ends every session; a
  password change or disabling the operator ends theirs (:mod:`credsync.vault.operators`).
- A sign-in by password is checked in two steps: the password (slow, outside any transaction:
  :meth:`Access.check_password`), then, in the transaction that records the sign-in and starts
  its session, that the operator still has that password and is still enabled
  (:meth:`Access.signed_in`): a change committed in between ended their sessions, and one
  started with the old password must not outlive it.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import datetime as dt
from collections.abc import Callable

from sqlalchemy.engine import Connection

from credsync.crypto import KeyEncryptionKey, SessionKey
from credsync.crypto.hashing import new_token_secret, token_digest, verify_password
from credsync.errors import (
    AuthenticationFailed,
    IntegrityError,
    InvalidInput,
    MfaEnrolmentRequired,
    MfaRequired,
    NotFound,
)
from credsync.storage import Database, meta, sessions
from credsync.storage import mfa as mfa_rows
from credsync.storage import operators as operator_rows
from credsync.storage.operators import OperatorRow, TokenRow
from credsync.types import Secret, new_id
from credsync.vault._time import as_utc, as_utc_opt, utcnow
from credsync.vault.audit import AuditLog
from credsync.vault.auth import Actor, Permission
from credsync.vault.mfa import Mfa, totp_state
from credsync.vault.models import ApiToken, TokensRevoked
from credsync.vault.operators import Operators
from credsync.vault.validate import clean_name, name_key
from credsync.vault.webauthn import SecurityKeys

__all__ = ["Access", "SessionInfo"]

TOKEN_PREFIX = "cst_"  # noqa: S105 - a prefix, not a password
SESSION_PREFIX = "css_"
MAX_SESSION_TTL = dt.timedelta(days=7)


class SessionInfo:
    __slots__ = ("expires_at", "id", "token")

    def __init__(self, session_id: str, token: Secret, expires_at: dt.datetime) -> None:
        self.id = session_id
        self.token = token
        self.expires_at = expires_at

    def __repr__(self) -> str:
        return f"SessionInfo(id={self.id!r}, expires_at={self.expires_at.isoformat()})"


def _session_aad(session_id: str, operator_id: str, expires_at: dt.datetime, gen: int) -> bytes:
    return f"{session_id}|{operator_id}|{as_utc(expires_at).isoformat()}|{gen}".encode()


def _token_model(row: TokenRow) -> ApiToken:
    return ApiToken(
        id=row.id,
        operator=row.operator_name,
        name=row.name,
        created_at=as_utc(row.created_at),
        expires_at=as_utc_opt(row.expires_at),
        last_used_at=as_utc_opt(row.last_used_at),
        revoked_at=as_utc_opt(row.revoked_at),
    )


class Access:
    def __init__(self, db: Database, audit: AuditLog, operators_: Operators) -> None:
        self._db = db
        self._audit = audit
        self._operators = operators_
        self.mfa = Mfa(db, audit)
        self.security_keys = SecurityKeys(db, audit, self.mfa)

    # -- logging in --------------------------------------------------------------------------
    def login_password(
        self,
        name: str,
        password: Secret,
        otp: str | None = None,
        *,
        enrolling: bool = False,
        ask_code: Callable[[str], str] | None = None,
    ) -> Actor:
        """Sign in with a password, and with ``otp`` (a one-time or recovery code) when the
        operator has a second factor (:meth:`second_factor`); ``enrolling``: the sign-in is
        only to set one up, which an operator required to use MFA may do without one.
        ``ask_code``: asked (with the operator's name) for the code when one is needed and
        ``otp`` is None (a prompt)."""
        row = self.check_password(name, password)
        try:
            passed = self.second_factor(row, otp, enrolling=enrolling)
        except MfaRequired:
            if otp is not None or ask_code is None:
                raise
            passed = self.second_factor(row, ask_code(row.name), enrolling=enrolling)
        with self._db.write() as conn:
            actor = self.signed_in(conn, row)
        return dataclasses.replace(actor, mfa=passed)

    def second_factor(self, row: OperatorRow, otp: str | None, *, enrolling: bool = False) -> bool:
        """After the password: whether the sign-in passed a second factor. An operator with
        one needs ``otp`` (MfaRequired without, MfaFailed when wrong); one required to have one
        but without may only go on to enrol (``enrolling``; else MfaEnrolmentRequired)."""
        with self._db.read() as conn:
            need = self.mfa.sign_in_need(conn, row)
        if need == "code":
            if not otp:
                if not self._has_app(row):
                    raise MfaRequired(
                        f"operator {row.name!r} signs in with a security key: sign in on the "
                        "dashboard (or set up an authenticator app there for the command line)"
                    )
                raise MfaRequired(
                    f"operator {row.name!r} signs in with a second factor: give the code of "
                    "the authenticator app (or a recovery code)"
                )
            self.mfa.check(row, otp)
            return True
        if need == "enrol" and not enrolling:
            raise MfaEnrolmentRequired(
                f"MFA is required of operator {row.name!r}, who has not set it up: run "
                "`credsync operator mfa enroll` (or sign in to the dashboard) first"
            )
        return False

    def _has_app(self, row: OperatorRow) -> bool:
        with self._db.read() as conn:
            return totp_state(mfa_rows.get(conn, row.id)) == "on"

    def check_password(self, name: str, password: Secret) -> OperatorRow:
        """The enabled operator named ``name`` whose password is ``password``; else
        AuthenticationFailed, audited as ``auth.failed``. Signing in then goes on with
        :meth:`signed_in`."""
        with self._db.read() as conn:
            row = operator_rows.by_key(conn, name_key(name.strip()))
        ok = verify_password(row.password_hash if row else None, password)
        if row is None or not ok:
            # An unknown name is not recorded: people type passwords into name prompts.
            self._record_failure(
                row.name if row else "(unknown operator)", "wrong name or password"
            )
            raise AuthenticationFailed("wrong operator name or password")
        if row.disabled_at is not None:
            self._record_failure(row.name, "operator is disabled")
            raise AuthenticationFailed(f"operator {row.name!r} is disabled")
        return row

    def signed_in(self, conn: Connection, checked: OperatorRow) -> Actor:
        """In the transaction that records a sign-in (and starts its session): the operator
        :meth:`check_password` found, provided their password is still the one checked and
        they are still enabled (the operator's row stays locked until the transaction ends)."""
        row = self._operators.find_row(conn, checked.id, lock=True)
        if row.password_hash != checked.password_hash:
            raise AuthenticationFailed("wrong operator name or password")
        if row.disabled_at is not None:
            raise AuthenticationFailed(f"operator {row.name!r} is disabled")
        operator_rows.set_last_login(conn, row.id, utcnow())
        return self._operators.actor_for(conn, row, "password")

    def signed_in_with(self, conn: Connection, operator_id: str, via: str) -> Actor:
        """In the transaction that records a sign-in by an identity provider (``via``): the
        operator, provided they are still enabled (their row locked until it ends)."""
        row = self._operators.find_row(conn, operator_id, lock=True)
        if row.disabled_at is not None:
            raise AuthenticationFailed(f"operator {row.name!r} is disabled")
        operator_rows.set_last_login(conn, row.id, utcnow())
        return self._operators.actor_for(conn, row, via)

    def login_token(self, token: Secret) -> Actor:
        raw = token.reveal()
        if not raw.startswith(TOKEN_PREFIX):
            raise AuthenticationFailed("CREDSYNC_TOKEN is not a credsync API token (cst_...)")
        now = utcnow()
        with self._db.read() as conn:
            row = operator_rows.token_by_hash(conn, token_digest(token))
            if row is None or row.revoked_at is not None:
                raise AuthenticationFailed("the API token is unknown or revoked")
            if row.expires_at is not None and as_utc(row.expires_at) <= now:
                raise AuthenticationFailed(f"the API token {row.name!r} has expired")
            op = self._operators.find_row(conn, row.operator_id)
            if op.disabled_at is not None:
                raise AuthenticationFailed(f"operator {op.name!r} is disabled")
            actor = self._operators.actor_for(conn, op, "token")
        last = as_utc_opt(row.last_used_at)
        if last is None or now - last > dt.timedelta(minutes=1):
            with self._db.write() as conn:
                operator_rows.touch_token(conn, row.id, now)
        return actor

    def _record_failure(self, name: str, why: str) -> None:
        from credsync.vault.auth import SYSTEM

        with self._db.write() as conn:
            self._audit.append(
                conn,
                SYSTEM,
                "auth.failed",
                target_type="operator",
                target_id=name[:64],
                details={"reason": why},
            )

    # -- API tokens --------------------------------------------------------------------------
    def create_token(
        self,
        actor: Actor,
        name: str,
        *,
        operator: str | None = None,
        expires_in: dt.timedelta | None = None,
    ) -> tuple[ApiToken, Secret]:
        name = clean_name(name, "token name", 100)
        if expires_in is not None and expires_in <= dt.timedelta(0):
            raise InvalidInput("a token's lifetime must be positive")
        secret = Secret(TOKEN_PREFIX + new_token_secret())
        with self._db.write() as conn:
            self._require_mfa_sign_in(conn, actor)
            owner = self._operators.find_row(conn, operator or actor.name)
            if owner.id != actor.operator_id:
                actor.require(Permission.ADMIN)
            now = utcnow()
            token_id = new_id()
            operator_rows.add_token(
                conn,
                token_id=token_id,
                operator_id=owner.id,
                name=name,
                token_hash=token_digest(secret),
                now=now,
                expires_at=now + expires_in if expires_in else None,
            )
            self._audit.append(
                conn,
                actor,
                "token.create",
                target_type="token",
                target_id=token_id,
                details={"name": name, "operator": owner.name},
            )
            row = operator_rows.get_token(conn, token_id)
        return _token_model(row), secret

    def _require_mfa_sign_in(self, conn: Connection, actor: Actor) -> None:
        """An operator who has (or must have) a second factor creates API tokens only from
        a sign-in or session that passed it: a token cannot create a token then."""
        if actor.operator_id is None or actor.mfa:
            return
        row = self._operators.find_row(conn, actor.operator_id)
        if self.mfa.sign_in_need(conn, row) != "none":
            raise MfaRequired(
                f"operator {actor.name!r} uses a second factor: API tokens are created only by "
                "a sign-in that passed it (a password and code, or a session opened with them), "
                "not by an API token"
            )

    def list_tokens(self, actor: Actor, *, everyone: bool = False) -> list[ApiToken]:
        if everyone:
            actor.require(Permission.ADMIN)
        with self._db.read() as conn:
            rows = (
                operator_rows.all_tokens(conn)
                if everyone
                else operator_rows.tokens_of(conn, actor.operator_id)
            )
            return [_token_model(r) for r in rows]

    def revoke_token(self, actor: Actor, token_id: str) -> ApiToken:
        with self._db.write() as conn:
            row = operator_rows.find_token(conn, token_id)
            if row is None:
                raise NotFound(f"no API token with id {token_id}")
            if row.operator_id != actor.operator_id:
                actor.require(Permission.ADMIN)
            operator_rows.revoke_token(conn, token_id, utcnow())
            self._audit.append(
                conn,
                actor,
                "token.revoke",
                target_type="token",
                target_id=token_id,
                details={"name": row.name, "operator": row.operator_name},
            )
            return _token_model(operator_rows.get_token(conn, token_id))

    def revoke_all_tokens(self, actor: Actor, operator: str | None = None) -> TokensRevoked:
        """Revoke every API token of the actor's, the one in use too (``operator``: another
        operator's, with admin); ``revoked`` counts those that still worked."""
        with self._db.write() as conn:
            owner = self._operators.find_row(conn, operator or actor.name)
            if owner.id != actor.operator_id:
                actor.require(Permission.ADMIN)
            revoked = operator_rows.revoke_tokens_of(conn, owner.id, utcnow())
            self._audit.append(
                conn,
                actor,
                "token.revoke_all",
                target_type="operator",
                target_id=owner.id,
                details={"operator": owner.name, "revoked": revoked},
            )
        return TokensRevoked(owner.name, revoked)

    # -- CLI sessions ------------------------------------------------------------------------
    def create_session(self, actor: Actor, kek: KeyEncryptionKey, ttl: dt.timedelta) -> SessionInfo:
        if actor.operator_id is None:
            raise InvalidInput("sessions belong to an operator")
        if ttl <= dt.timedelta(0) or ttl > MAX_SESSION_TTL:
            raise InvalidInput("a session lasts between 1 second and 7 days")
        key = SessionKey.generate()
        session_id = new_id()
        expires_at = utcnow() + ttl
        with self._db.write() as conn:
            # Locked: a disable or password change waits for this session, then ends it too.
            op = self._operators.find_row(conn, actor.operator_id, lock=True)
            if op.disabled_at is not None:
                raise AuthenticationFailed(f"operator {op.name!r} is disabled")
            gen = meta.key_generation(conn)
            sealed = kek.seal_for_session(
                key, _session_aad(session_id, actor.operator_id, expires_at, gen)
            )
            sessions.add_cli(
                conn,
                session_id=session_id,
                operator_id=actor.operator_id,
                sealed_kek=sealed,
                key_generation=gen,
                created_at=utcnow(),
                expires_at=expires_at,
                mfa_passed=actor.mfa,
            )
            sessions.drop_expired_cli(conn, utcnow())
            self._audit.append(
                conn,
                actor,
                "session.create",
                target_type="session",
                target_id=session_id,
                details={"expires_at": expires_at.isoformat()},
            )
        encoded = base64.urlsafe_b64encode(key.export()).decode().rstrip("=")
        return SessionInfo(
            session_id, Secret(f"{SESSION_PREFIX}{session_id}_{encoded}"), expires_at
        )

    @staticmethod
    def _parse_session(token: Secret) -> tuple[str, SessionKey]:
        raw = token.reveal()
        problem = AuthenticationFailed(
            "CREDSYNC_SESSION is not a credsync session (css_...): run `credsync unlock`"
        )
        if not raw.startswith(SESSION_PREFIX):
            raise problem
        session_id, _, encoded = raw[len(SESSION_PREFIX) :].partition("_")
        try:
            key = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
        except (binascii.Error, ValueError):
            raise problem from None
        if len(session_id) != 36 or len(key) != 32:
            raise problem
        if base64.urlsafe_b64encode(key).decode().rstrip("=") != encoded:
            raise problem  # the decoder skips stray characters: accept only the exact form
        return session_id, SessionKey(key)

    def open_session(self, token: Secret) -> tuple[Actor, KeyEncryptionKey]:
        session_id, key = self._parse_session(token)
        with self._db.read() as conn:
            row = sessions.cli_session(conn, session_id)
            if row is None:
                raise AuthenticationFailed("the session has ended: run `credsync unlock` again")
            expires_at = as_utc(row.expires_at)
            if expires_at <= utcnow():
                raise AuthenticationFailed("the session has expired: run `credsync unlock` again")
            try:
                kek = key.open_kek(
                    row.sealed_kek,
                    _session_aad(session_id, row.operator_id, expires_at, row.key_generation),
                )
            except IntegrityError:
                raise AuthenticationFailed("the session key does not match its session") from None
            op = self._operators.find_row(conn, row.operator_id)
            if op.disabled_at is not None:
                raise AuthenticationFailed(f"operator {op.name!r} is disabled")
            actor = self._operators.actor_for(conn, op, "session")
            return dataclasses.replace(actor, mfa=row.mfa_passed), kek

    def end_session(self, actor: Actor, token: Secret | None, *, everyone: bool = False) -> int:
        with self._db.write() as conn:
            if everyone:
                actor.require(Permission.ADMIN)
                ended = sessions.end_all_cli(conn)
            elif token is not None:
                session_id, _ = self._parse_session(token)
                ended = sessions.end_cli_of(conn, actor.operator_id, session_id)
            else:
                ended = sessions.end_cli_of(conn, actor.operator_id)
            self._audit.append(
                conn,
                actor,
                "session.end",
                target_type="session",
                target_id="*" if everyone else (actor.operator_id or ""),
                details={"ended": ended},
            )
            return ended
