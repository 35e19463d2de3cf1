"""Browser sessions of the web dashboard and the API.

An operator signs in with name and password; the browser keeps a random session token
(``csw_...``, 256 bits) in an HttpOnly cookie and the database only its SHA-256. Each session
has a CSRF token of its own that every unsafe request must send back (a header or a form
field), so another site can't make the browser act. A session ends at sign-out (audited),
after :data:`IDLE_TIMEOUT` without a request, or :data:`MAX_AGE` after sign-in, whichever is
first; changing the operator's password or disabling them ends it for good
(:mod:`credsync.vault.operators`), and a role change applies to the next request (the
operator's permissions are read on every request). Sessions that ended or expired more than
:data:`PURGE_AFTER` ago are deleted when a session starts, at most once every
:data:`PURGE_EVERY` per process.

The server holds the master key; a web session carries none.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import hmac
from dataclasses import dataclass

from credsync.crypto.hashing import new_token_secret, token_digest
from credsync.crypto.webauthn import RelyingParty
from credsync.errors import (
    AuthenticationFailed,
    MfaEnrolmentRequired,
    MfaRequired,
    PermissionDenied,
)
from credsync.storage import Database, sessions
from credsync.storage import mfa as mfa_rows
from credsync.storage import operators as operator_rows
from credsync.storage.operators import OperatorRow
from credsync.types import Secret, new_id
from credsync.vault._time import as_utc, utcnow
from credsync.vault.access import Access
from credsync.vault.audit import AuditLog
from credsync.vault.auth import Actor
from credsync.vault.mfa import totp_state
from credsync.vault.operators import Operators

__all__ = [
    "IDLE_TIMEOUT",
    "MAX_AGE",
    "PURGE_AFTER",
    "PURGE_EVERY",
    "WEB_PREFIX",
    "PendingSignIn",
    "WebSession",
    "WebSessions",
]

WEB_PREFIX = "csw_"
IDLE_TIMEOUT = dt.timedelta(minutes=30)
MAX_AGE = dt.timedelta(hours=12)
_TOUCH_EVERY = dt.timedelta(minutes=1)  # last_seen_at is written at most this often
PURGE_AFTER = dt.timedelta(days=30)  # an ended or expired session's row is kept this long
PURGE_EVERY = dt.timedelta(hours=1)  # and looked for at most this often (per process)


@dataclass(frozen=True)
class WebSession:
    """A signed-in browser: who, the cookie value (``token``, shown once) and its CSRF token."""

    id: str
    actor: Actor
    token: Secret
    csrf_token: str
    expires_at: dt.datetime
    mfa: str = "none"  # passed | none | enrol (may only set up MFA)

    def __repr__(self) -> str:
        return f"WebSession(id={self.id!r}, operator={self.actor.name!r})"


@dataclass(frozen=True)
class PendingSignIn:
    """A password checked, the second factor not yet: no session. ``fingerprint`` ties it to
    the password checked (a digest of its hash), so a password change in between voids it."""

    operator_id: str
    name: str
    fingerprint: str


def _fingerprint(password_hash: str) -> str:
    return hashlib.sha256(b"credsync/pending-sign-in|" + password_hash.encode()).hexdigest()


class WebSessions:
    def __init__(
        self, db: Database, audit: AuditLog, access: Access, operators_: Operators
    ) -> None:
        self._db = db
        self._audit = audit
        self._access = access
        self._operators = operators_
        self._purged_at: dt.datetime | None = None  # when this process last purged

    def start(
        self, name: str, password: Secret, otp: str | None = None, *, enrolling: bool = False
    ) -> WebSession:
        """Sign in (a wrong name or password is audited as ``auth.failed``), with ``otp`` when
        the operator has a second factor; ``enrolling``: an operator who must have one and has
        none gets a session that may only enrol (else MfaEnrolmentRequired)."""
        checked = self._access.check_password(name, password)
        passed = self._access.second_factor(checked, otp, enrolling=enrolling)
        mfa = "passed" if passed else "none"
        if not passed and enrolling:
            with self._db.read() as conn:
                if self._access.mfa.sign_in_need(conn, checked) == "enrol":
                    mfa = "enrol"
        return self._open(checked, mfa)

    def begin(self, name: str, password: Secret) -> WebSession | PendingSignIn:
        """The dashboard's first step: a session when the password is enough (or a session
        that may only enrol), else the pending sign-in that :meth:`finish` completes with a
        code."""
        checked = self._access.check_password(name, password)
        try:
            return self._open(checked, self._mfa_of(checked))
        except MfaRequired:
            return PendingSignIn(checked.id, checked.name, _fingerprint(checked.password_hash))

    def _mfa_of(self, row: OperatorRow) -> str:
        passed = self._access.second_factor(row, None, enrolling=True)
        with self._db.read() as conn:
            need = self._access.mfa.sign_in_need(conn, row)
        return "passed" if passed else "enrol" if need == "enrol" else "none"

    def finish(self, pending: PendingSignIn, code: str) -> WebSession:
        """The second step: the code (or a recovery code) of the operator whose password
        :meth:`begin` checked, provided that password is still theirs."""
        row = self._pending_row(pending)
        self._access.mfa.check(row, code)
        return self._open(row, "passed")

    def finish_with_key(self, pending: PendingSignIn, rp: RelyingParty, answer: str) -> WebSession:
        """The second step with a security key: the browser's answer (JSON) to the challenge
        of :meth:`key_options`, for the operator whose password :meth:`begin` checked."""
        row = self._pending_row(pending)
        self._access.security_keys.check(row, rp, answer)
        return self._open(row, "passed")

    def key_options(self, pending: PendingSignIn, rp: RelyingParty) -> str | None:
        """The options (JSON) for a sign-in with a security key; None when the operator has
        none (or the pending sign-in is void)."""
        try:
            row = self._pending_row(pending)
        except AuthenticationFailed:
            return None
        return self._access.security_keys.sign_in_options(row, rp)

    def has_app(self, pending: PendingSignIn) -> bool:
        """Whether the pending sign-in's operator has a confirmed authenticator app."""
        with self._db.read() as conn:
            return totp_state(mfa_rows.get(conn, pending.operator_id)) == "on"

    def _pending_row(self, pending: PendingSignIn) -> OperatorRow:
        with self._db.read() as conn:
            row = operator_rows.get(conn, pending.operator_id)
        if row.disabled_at is not None or not hmac.compare_digest(
            _fingerprint(row.password_hash), pending.fingerprint
        ):
            raise AuthenticationFailed("the sign-in has expired: sign in again")
        return row

    def start_with(self, row: OperatorRow, via: str) -> WebSession:
        """A session for an operator an identity provider (``via``) signed in: the provider
        did the authentication, so no password and no second factor of the vault's are asked
        (see docs/operators-microsoft.md); the session counts as without MFA."""
        return self._open(row, "none", via=via)

    def _open(self, checked: OperatorRow, mfa: str, *, via: str = "password") -> WebSession:
        now = utcnow()
        token = Secret(WEB_PREFIX + new_token_secret())
        with self._db.write() as conn:
            if via == "password":
                signed = self._access.signed_in(conn, checked)
            else:
                signed = self._access.signed_in_with(conn, checked.id, via)
            actor = dataclasses.replace(signed, mfa=mfa == "passed")
            session = WebSession(new_id(), actor, token, new_token_secret(24), now + MAX_AGE, mfa)
            sessions.add_web(
                conn,
                session_id=session.id,
                token_hash=token_digest(token),
                operator_id=checked.id,
                csrf_token=session.csrf_token,
                now=now,
                expires_at=session.expires_at,
                mfa=mfa,
            )
            self._audit.append(
                conn,
                actor,
                "auth.web_login",
                target_type="operator",
                target_id=checked.id,
                details={"session": session.id, "mfa": mfa, "via": via},
            )
            purge = self._purged_at is None or now - self._purged_at >= PURGE_EVERY
            if purge:
                sessions.purge_web(conn, now - PURGE_AFTER)
        if purge:
            self._purged_at = now
        return session

    def resume(
        self, token: Secret, *, csrf_token: str | None = None, enrolling: bool = False
    ) -> tuple[Actor, str, str]:
        """The operator of a live session, the session's id and its CSRF token. With
        ``csrf_token`` (an unsafe request), it must be the session's. A session that may only
        enrol a second factor: MfaEnrolmentRequired, unless ``enrolling``."""
        raw = token.reveal()
        if not raw.startswith(WEB_PREFIX):
            raise AuthenticationFailed("not signed in (no valid session)")
        now = utcnow()
        with self._db.read() as conn:
            row = sessions.web_session(conn, token_digest(token))
            if row is None or row.ended_at is not None:
                raise AuthenticationFailed("not signed in (the session has ended)")
            last_seen = as_utc(row.last_seen_at)
            if as_utc(row.expires_at) <= now or now - last_seen > IDLE_TIMEOUT:
                raise AuthenticationFailed("the session has expired: sign in again")
            op = operator_rows.get(conn, row.operator_id)
            if op.disabled_at is not None:
                raise AuthenticationFailed(f"operator {op.name!r} is disabled")
            actor = self._operators.actor_for(conn, op, "web")
            actor = dataclasses.replace(actor, mfa=row.mfa == "passed")
        if row.mfa == "enrol" and not enrolling:
            raise MfaEnrolmentRequired(
                f"MFA is required of operator {op.name!r}: set it up on the account page first"
            )
        if csrf_token is not None and not hmac.compare_digest(
            csrf_token.encode(), row.csrf_token.encode()
        ):
            raise PermissionDenied(
                "the request's CSRF token is missing or wrong: reload the page",
                operator=actor.name,
            )
        if now - last_seen > _TOUCH_EVERY:
            with self._db.write() as conn:
                sessions.touch_web(conn, row.id, now)
        return actor, row.id, row.csrf_token

    def passed_mfa(self, session_id: str) -> None:
        """The session's operator has just confirmed a second factor in it."""
        with self._db.write() as conn:
            sessions.set_web_mfa(conn, session_id, "passed")

    def end(self, actor: Actor, session_id: str) -> None:
        """Sign out of the session ``session_id`` (the caller's, from :meth:`resume`), audited
        as ``auth.web_logout``; an ended one: nothing."""
        with self._db.write() as conn:
            if sessions.end_web(conn, session_id, utcnow()):
                self._audit.append(
                    conn,
                    actor,
                    "auth.web_logout",
                    target_type="operator",
                    target_id=actor.operator_id or "",
                    details={"session": session_id},
                )
