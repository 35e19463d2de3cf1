"""Authentication (operator password, API token, CLI session) and token/session management.

- API tokens (``cst_...``) carry 256 random bits; only their SHA-256 is stored.
- Sessions (``css_<id>_<key>``) are what ``credsync unlock`` prints. The session key never
  touches the disk: the database keeps only the master key sealed under it (AES-256-GCM bound
  to the session id, operator, expiry and key generation). Key rotation ends every session.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from typing import Any

import sqlalchemy as sa

from credsync.crypto import KeyEncryptionKey, SessionKey
from credsync.crypto.hashing import new_token_secret, token_digest, verify_password
from credsync.errors import AuthenticationFailed, IntegrityError, InvalidInput, NotFound
from credsync.storage import Database
from credsync.storage.tables import api_tokens, cli_sessions, operators, vault_meta
from credsync.types import Secret, new_id
from credsync.vault._time import as_utc, as_utc_opt, utcnow
from credsync.vault.audit import AuditLog
from credsync.vault.auth import Actor, Permission
from credsync.vault.models import ApiToken
from credsync.vault.operators import Operators
from credsync.vault.validate import clean_name, name_key

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


def _token_model(row: Any) -> ApiToken:
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

    # -- logging in --------------------------------------------------------------------------
    def login_password(self, name: str, password: Secret) -> Actor:
        with self._db.read() as conn:
            row = conn.execute(
                sa.select(operators).where(operators.c.name_key == name_key(name.strip()))
            ).first()
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
        with self._db.write() as conn:
            conn.execute(
                operators.update().where(operators.c.id == row.id).values(last_login_at=utcnow())
            )
            return self._operators.actor_for(conn, row, "password")

    def login_token(self, token: Secret) -> Actor:
        raw = token.reveal()
        if not raw.startswith(TOKEN_PREFIX):
            raise AuthenticationFailed("CREDSYNC_TOKEN is not a credsync API token (cst_...)")
        now = utcnow()
        with self._db.read() as conn:
            row = conn.execute(
                sa.select(api_tokens).where(api_tokens.c.token_hash == token_digest(token))
            ).first()
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
                conn.execute(
                    api_tokens.update().where(api_tokens.c.id == row.id).values(last_used_at=now)
                )
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
            owner = self._operators.find_row(conn, operator or actor.name)
            if owner.id != actor.operator_id:
                actor.require(Permission.ADMIN)
            now = utcnow()
            token_id = new_id()
            conn.execute(
                api_tokens.insert().values(
                    id=token_id,
                    operator_id=owner.id,
                    name=name,
                    token_hash=token_digest(secret),
                    created_at=now,
                    expires_at=now + expires_in if expires_in else None,
                )
            )
            self._audit.append(
                conn,
                actor,
                "token.create",
                target_type="token",
                target_id=token_id,
                details={"name": name, "operator": owner.name},
            )
            row = conn.execute(self._token_query().where(api_tokens.c.id == token_id)).one()
        return _token_model(row), secret

    @staticmethod
    def _token_query() -> sa.Select[Any]:
        return sa.select(api_tokens, operators.c.name.label("operator_name")).join(
            operators, operators.c.id == api_tokens.c.operator_id
        )

    def list_tokens(self, actor: Actor, *, everyone: bool = False) -> list[ApiToken]:
        query = self._token_query().order_by(api_tokens.c.created_at)
        if everyone:
            actor.require(Permission.ADMIN)
        else:
            query = query.where(api_tokens.c.operator_id == actor.operator_id)
        with self._db.read() as conn:
            return [_token_model(r) for r in conn.execute(query)]

    def revoke_token(self, actor: Actor, token_id: str) -> ApiToken:
        with self._db.write() as conn:
            row = conn.execute(self._token_query().where(api_tokens.c.id == token_id)).first()
            if row is None:
                raise NotFound(f"no API token with id {token_id}")
            if row.operator_id != actor.operator_id:
                actor.require(Permission.ADMIN)
            conn.execute(
                api_tokens.update().where(api_tokens.c.id == token_id).values(revoked_at=utcnow())
            )
            self._audit.append(
                conn,
                actor,
                "token.revoke",
                target_type="token",
                target_id=token_id,
                details={"name": row.name, "operator": row.operator_name},
            )
            return _token_model(
                conn.execute(self._token_query().where(api_tokens.c.id == token_id)).one()
            )

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
            gen = conn.execute(sa.select(vault_meta.c.key_generation)).scalar_one()
            sealed = kek.seal_for_session(
                key, _session_aad(session_id, actor.operator_id, expires_at, gen)
            )
            conn.execute(
                cli_sessions.insert().values(
                    id=session_id,
                    operator_id=actor.operator_id,
                    sealed_kek=sealed,
                    key_generation=gen,
                    created_at=utcnow(),
                    expires_at=expires_at,
                )
            )
            conn.execute(cli_sessions.delete().where(cli_sessions.c.expires_at < utcnow()))
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
            row = conn.execute(
                sa.select(cli_sessions).where(cli_sessions.c.id == session_id)
            ).first()
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
            return self._operators.actor_for(conn, op, "session"), kek

    def end_session(self, actor: Actor, token: Secret | None, *, everyone: bool = False) -> int:
        with self._db.write() as conn:
            if everyone:
                actor.require(Permission.ADMIN)
                result = conn.execute(cli_sessions.delete())
            elif token is not None:
                session_id, _ = self._parse_session(token)
                result = conn.execute(
                    cli_sessions.delete().where(
                        cli_sessions.c.id == session_id,
                        cli_sessions.c.operator_id == actor.operator_id,
                    )
                )
            else:
                result = conn.execute(
                    cli_sessions.delete().where(cli_sessions.c.operator_id == actor.operator_id)
                )
            self._audit.append(
                conn,
                actor,
                "session.end",
                target_type="session",
                target_id="*" if everyone else (actor.operator_id or ""),
                details={"ended": result.rowcount},
            )
            return int(result.rowcount)
