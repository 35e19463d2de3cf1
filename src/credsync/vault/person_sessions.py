"""People's portal sessions (``/my/{client}/...``), kept server-side as operators' web sessions
are (:mod:`credsync.vault.websessions`) but apart from them: a person session never grants an
operator anything, and an operator's session is no person's.

The browser keeps a random token (``csp_...``, 256 bits) in a cookie of its own; the database
keeps its SHA-256, a CSRF token the portal's forms send back, and whether the sign-in passed
the second factor. A session ends at sign-out, after :data:`IDLE_TIMEOUT` without a request,
:data:`MAX_AGE` after sign-in, when the person is disabled, trashed or moved, or when an
operator resets their MFA. Sessions gone for :data:`PURGE_AFTER` are deleted when one starts.
"""

from __future__ import annotations

import datetime as dt
import hmac
from dataclasses import dataclass, field

from credsync.crypto.hashing import new_token_secret, token_digest
from credsync.storage import Database
from credsync.storage import people as people_rows
from credsync.storage import person_sessions as rows
from credsync.types import Secret, new_id
from credsync.vault._time import as_utc, utcnow
from credsync.vault.audit import AuditLog
from credsync.vault.person_auth import PersonAuth, PersonSignIn, person_actor

__all__ = [
    "IDLE_TIMEOUT",
    "MAX_AGE",
    "PURGE_AFTER",
    "SESSION_PREFIX",
    "PersonSessionInfo",
    "PersonSessions",
]

SESSION_PREFIX = "csp_"
IDLE_TIMEOUT = dt.timedelta(minutes=15)
MAX_AGE = dt.timedelta(hours=8)
PURGE_AFTER = dt.timedelta(days=7)
_TOUCH_EVERY = dt.timedelta(minutes=1)


@dataclass(frozen=True)
class PersonSessionInfo:
    """A live person session: who, since when, whether the second factor was passed, and the
    session's CSRF token (for the forms)."""

    session_id: str
    person_id: str
    client_id: str
    username: str
    display_name: str
    email: str
    authenticated_at: dt.datetime
    mfa: bool
    csrf: str = field(repr=False)


class PersonSessions:
    def __init__(self, db: Database, audit: AuditLog, auth: PersonAuth) -> None:
        self._db = db
        self._audit = audit
        self._auth = auth

    def start(self, sign_in: PersonSignIn) -> tuple[Secret, PersonSessionInfo]:
        """A session for a completed sign-in: its token (for the cookie) and what it holds."""
        token = Secret(SESSION_PREFIX + new_token_secret())
        csrf = new_token_secret()
        now = utcnow()
        row = rows.SessionRow(
            new_id(), token_digest(token), sign_in.person_id, sign_in.client_id, csrf,
            sign_in.mfa, now, now + MAX_AGE, now, None,
        )  # fmt: skip
        with self._db.write() as conn:
            rows.purge(conn, now - PURGE_AFTER)
            rows.add(conn, row)
        info = PersonSessionInfo(
            row.id, sign_in.person_id, sign_in.client_id, sign_in.username,
            sign_in.display_name, sign_in.email, sign_in.authenticated_at, sign_in.mfa, csrf,
        )  # fmt: skip
        return token, info

    def lookup(self, token: str, client_id: str) -> PersonSessionInfo | None:
        """The live session of ``token`` for ``client_id`` (None: none, ended, expired, idle,
        another client's, or its person can no longer sign in)."""
        if not token.startswith(SESSION_PREFIX) or len(token) > 200:
            return None
        now = utcnow()
        with self._db.read() as conn:
            row = rows.by_token(conn, token_digest(Secret(token)))
            person = None if row is None else people_rows.get(conn, row.person_id)
        if row is None or person is None or row.ended_at is not None:
            return None
        if not hmac.compare_digest(row.client_id, client_id) or person.client_id != client_id:
            return None
        if now >= as_utc(row.expires_at) or now - as_utc(row.last_seen_at) >= IDLE_TIMEOUT:
            return None
        if person.deleted_at is not None or not person.enabled:
            return None
        if now - as_utc(row.last_seen_at) >= _TOUCH_EVERY:
            with self._db.write() as conn:
                rows.touch(conn, row.id, now)
        return PersonSessionInfo(
            row.id, person.id, person.client_id, person.username, person.display_name,
            person.email, as_utc(row.created_at), bool(row.mfa), row.csrf_token,
        )  # fmt: skip

    def end(self, info: PersonSessionInfo) -> None:
        """Sign out (audited ``person.sign_out``)."""
        with self._db.write() as conn:
            ended = rows.end(conn, info.session_id, utcnow())
            person = people_rows.get(conn, info.person_id)
            if ended and person is not None:
                self._audit.append(
                    conn, person_actor(person), "person.sign_out", target_type="person",
                    target_id=person.id, client_id=person.client_id, details={},
                )  # fmt: skip
