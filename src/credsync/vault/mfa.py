"""Operators' second factor: TOTP (RFC 6238) with one-time recovery codes, and who must use it.

- **Enrolment** (:meth:`Mfa.begin`, :meth:`Mfa.confirm`): an operator gets a new seed (shown
  once, as text and as an ``otpauth://`` URI), pending until a first good code confirms it;
  confirming gives :data:`RECOVERY_CODES` recovery codes, shown once, kept as digests.
- **Sign-in** (:meth:`Mfa.sign_in_need`, :meth:`Mfa.check`): an enrolled operator's password
  sign-in also needs a code of the current 30-second step (one step of clock skew either side),
  newer than the last one accepted (a replayed code is refused), or an unused recovery code
  (spent by the sign-in). An operator who must use MFA and has not enrolled may sign in only to
  enrol (``enrol``).
- **Who must**: every operator (``vault_meta.mfa_required``) or the holders of some roles
  (``roles.mfa_required``), set by an admin (:meth:`Mfa.set_required`, audited
  ``mfa.require``).
- **Security keys** (WebAuthn, :mod:`credsync.vault.webauthn`) are the other kind of second
  factor, set up and used on the dashboard: an operator with a key is enrolled (the state is
  ``on``) and signs in with a key or a code.
- **Reset** (:meth:`Mfa.reset`, admin, audited ``operator.mfa_reset``) removes an operator's
  enrolment and security keys and ends their sessions; an operator may remove their own app
  (:meth:`Mfa.disable`, with their password and a code) only when not required to have one.

The seeds are sealed under a random key of the vault's kept in the database (password sign-in
has no master key): MFA protects against a leaked or guessed password, not against whoever holds
the whole database. Seeds and codes never appear in audit details, errors or reprs.
"""

from __future__ import annotations

import builtins
import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, Protocol

from sqlalchemy.engine import Connection
from typing_extensions import TypedDict

from credsync.crypto.hashing import verify_password
from credsync.crypto.otp import (
    RECOVERY_CODES,
    MfaKey,
    Totp,
    new_recovery_code,
    recovery_digest,
)
from credsync.errors import (
    AuthenticationFailed,
    Conflict,
    InvalidInput,
    MfaFailed,
    NotFound,
)
from credsync.storage import Database, meta
from credsync.storage import mfa as rows
from credsync.storage import operators as operator_rows
from credsync.storage import webauthn as key_rows
from credsync.storage.operators import OperatorRow
from credsync.types import Secret, new_id
from credsync.vault._time import as_utc, as_utc_opt, utcnow
from credsync.vault.audit import AuditLog
from credsync.vault.auth import SYSTEM, Actor, Permission
from credsync.vault.validate import name_key

__all__ = [
    "ISSUER",
    "Enrolment",
    "Mfa",
    "MfaConfirmedJson",
    "MfaEnrolmentJson",
    "MfaRequirement",
    "MfaRequirementJson",
    "MfaResetJson",
    "MfaStatus",
    "MfaStatusJson",
    "SecurityKey",
    "SecurityKeyJson",
    "SignInNeed",
    "totp_state",
    "vault_mfa_key",
]

ISSUER = "credsync"
SignInNeed = Literal["code", "enrol", "none"]
_FAILED = "the one-time code is wrong or was already used"


@dataclass(frozen=True)
class Enrolment:
    """A new, pending seed: ``secret`` (base32) and ``uri`` (``otpauth://``) are shown once."""

    operator: str
    secret: Secret = field(repr=False)
    uri: Secret = field(repr=False)


class SecurityKeyJson(TypedDict):
    id: str
    name: str
    created_at: str
    last_used_at: str | None


class _KeyRecord(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def created_at(self) -> dt.datetime: ...
    @property
    def last_used_at(self) -> dt.datetime | None: ...


class _SeedRecord(Protocol):
    @property
    def confirmed_at(self) -> dt.datetime | None: ...


@dataclass(frozen=True)
class SecurityKey:
    """An operator's or a person's WebAuthn key as shown: its name and when it was added and
    last used (never its credential id or public key)."""

    id: str
    name: str
    created_at: dt.datetime
    last_used_at: dt.datetime | None

    @classmethod
    def of(cls, row: _KeyRecord) -> SecurityKey:
        return cls(row.id, row.name, as_utc(row.created_at), as_utc_opt(row.last_used_at))

    def to_json(self) -> SecurityKeyJson:
        used = self.last_used_at
        return SecurityKeyJson(
            id=self.id,
            name=self.name,
            created_at=self.created_at.isoformat(),
            last_used_at=None if used is None else used.isoformat(),
        )


class MfaStatusJson(TypedDict):
    operator: str
    mfa: str
    """``on`` (an authenticator app or a security key), ``pending`` (a seed awaits its first
    code) or ``off``."""
    totp: str
    """The authenticator app alone: ``on``, ``pending`` or ``off``."""
    security_keys: list[SecurityKeyJson]
    """The WebAuthn security keys and passkeys (added on the dashboard)."""
    required: bool
    recovery_codes_left: int


@dataclass(frozen=True)
class MfaStatus:
    operator: str
    state: str  # on | pending | off
    required: bool
    recovery_codes_left: int
    totp: str = "off"  # on | pending | off
    security_keys: tuple[SecurityKey, ...] = ()

    def to_json(self) -> MfaStatusJson:
        return MfaStatusJson(
            operator=self.operator,
            mfa=self.state,
            totp=self.totp,
            security_keys=[k.to_json() for k in self.security_keys],
            required=self.required,
            recovery_codes_left=self.recovery_codes_left,
        )


def vault_mfa_key(conn: Connection) -> MfaKey:
    """The vault's key that seals TOTP seeds (operators' and people's), made on first need."""
    raw = meta.mfa_key(conn)
    if raw is None:
        meta.set_mfa_key_once(conn, MfaKey.generate_raw())
        raw = meta.mfa_key(conn)
    if raw is None:  # pragma: no cover - written just above
        raise RuntimeError("the vault's MFA key is missing")
    return MfaKey(raw)


def totp_state(found: _SeedRecord | None) -> str:
    """An authenticator app's state (an operator's or a person's seed): on, pending or
    off."""
    return "off" if found is None else "pending" if found.confirmed_at is None else "on"


class MfaEnrolmentJson(TypedDict):
    operator: str
    secret: str
    """The TOTP secret (base32), shown this once."""
    uri: str
    """The otpauth:// URI of it, for an authenticator app (as a QR code on the dashboard)."""


class MfaConfirmedJson(TypedDict):
    operator: str
    recovery_codes: list[str]
    """Ten one-time codes, shown this once: each signs in once in place of a code."""


class MfaResetJson(TypedDict):
    operator: str
    sessions_ended: int


class MfaRequirementJson(TypedDict):
    vault: bool
    """Every operator must use a second factor."""
    roles: list[str]
    """The roles whose holders must."""


@dataclass(frozen=True)
class MfaRequirement:
    vault: bool
    roles: tuple[str, ...]

    def to_json(self) -> MfaRequirementJson:
        return MfaRequirementJson(vault=self.vault, roles=list(self.roles))


class Mfa:
    def __init__(
        self, db: Database, audit: AuditLog, *, clock: Callable[[], float] = time.time
    ) -> None:
        self._db = db
        self._audit = audit
        self.clock = clock

    # -- state -------------------------------------------------------------------------------
    def required_in(self, conn: Connection, row: OperatorRow) -> bool:
        return meta.mfa_required(conn) or row.role in operator_rows.mfa_roles(conn)

    def sign_in_need(self, conn: Connection, row: OperatorRow) -> SignInNeed:
        """What a password sign-in of ``row`` needs besides the password: a ``code``, to
        ``enrol`` first (required, not enrolled), or ``none``."""
        if self.enrolled(conn, row.id):
            return "code"
        return "enrol" if self.required_in(conn, row) else "none"

    @staticmethod
    def enrolled(conn: Connection, operator_id: str) -> bool:
        """Whether the operator has a second factor: a confirmed app or a security key."""
        found = rows.get(conn, operator_id)
        if found is not None and found.confirmed_at is not None:
            return True
        return key_rows.count(conn, operator_id) > 0

    def _state(self, conn: Connection, row: OperatorRow) -> MfaStatus:
        totp = totp_state(rows.get(conn, row.id))
        keys = tuple(SecurityKey.of(k) for k in key_rows.list_for(conn, row.id))
        state = "on" if keys else totp
        left = rows.recovery_left(conn, row.id) if totp == "on" else 0
        return MfaStatus(row.name, state, self.required_in(conn, row), left, totp, keys)

    def status(self, actor: Actor, ref: str | None = None) -> MfaStatus:
        """An operator's MFA state (one's own; another's: admin)."""
        with self._db.read() as conn:
            row = self._operator(conn, ref or actor.name)
            if row.id != actor.operator_id:
                actor.require(Permission.ADMIN)
            return self._state(conn, row)

    @staticmethod
    def _operator(conn: Connection, ref: str, *, lock: bool = False) -> OperatorRow:
        row = operator_rows.find(conn, ref, name_key(ref), lock=lock)
        if row is None:
            raise NotFound(f"no operator named {ref!r}")
        return row

    def _key(self, conn: Connection) -> MfaKey:
        return vault_mfa_key(conn)

    # -- enrolment ---------------------------------------------------------------------------
    def begin(self, actor: Actor) -> Enrolment:
        """A new pending seed for the actor (in place of a pending one); refused while one is
        confirmed (disable it, or have an admin reset it, first)."""
        if actor.operator_id is None:
            raise InvalidInput("only an operator can set up a second factor")
        totp = Totp.generate()
        with self._db.write() as conn:
            row = operator_rows.get(conn, actor.operator_id)
            found = rows.get(conn, row.id)
            if found is not None and found.confirmed_at is not None:
                raise Conflict(
                    f"operator {row.name!r} has MFA set up already: `credsync operator mfa "
                    "disable` (or an admin's `credsync operator mfa reset`) first"
                )
            rows.set_pending(conn, row.id, self._key(conn).seal(row.id, totp), utcnow())
            self._audit.append(
                conn, actor, "mfa.enrol_start", target_type="operator", target_id=row.id,
                details={"name": row.name},
            )  # fmt: skip
        return Enrolment(row.name, totp.secret, totp.uri(row.name, ISSUER))

    def confirm(self, actor: Actor, code: str) -> builtins.list[Secret]:
        """Confirm the actor's pending seed with its first code; the recovery codes (shown
        once). A wrong code: InvalidInput (``code``)."""
        if actor.operator_id is None:
            raise InvalidInput("only an operator can set up a second factor")
        with self._db.write() as conn:
            row = operator_rows.get(conn, actor.operator_id)
            found = rows.get(conn, row.id)
            if found is None or found.confirmed_at is not None:
                raise Conflict(
                    "no MFA enrolment is waiting for its first code: start one with "
                    "`credsync operator mfa enroll`"
                )
            step = self._key(conn).open(row.id, found.seed_ct).match(code, self.clock())
        if step is None:
            raise InvalidInput(
                "that code does not match the new secret: check the authenticator app's clock "
                "and give its current code",
                field="code",
            )
        codes = [new_recovery_code() for _ in range(RECOVERY_CODES)]
        now = utcnow()
        with self._db.write() as conn:
            if not rows.set_confirmed(conn, row.id, step, now):
                raise Conflict("the enrolment changed meanwhile: start again")
            rows.add_recovery_codes(
                conn, row.id, [(new_id(), recovery_digest(c.reveal())) for c in codes], now
            )
            self._audit.append(
                conn, actor, "mfa.enrol", target_type="operator", target_id=row.id,
                details={"name": row.name, "recovery_codes": len(codes)},
            )  # fmt: skip
        return codes

    # -- signing in --------------------------------------------------------------------------
    def check(self, row: OperatorRow, code: str) -> None:
        """Accept ``code`` for ``row``'s sign-in: a TOTP code newer than the last accepted, or
        an unused recovery code (spent). Else MfaFailed, audited as ``auth.failed``."""
        if not self._accept(row, code.strip()):
            self._failed(row.name, "wrong or reused one-time code")
            raise MfaFailed(_FAILED)

    def _accept(self, row: OperatorRow, code: str) -> bool:
        if not code or len(code) > 64:
            return False
        with self._db.write() as conn:
            found = rows.get(conn, row.id)
            if found is None or found.confirmed_at is None:
                return False
            if code.isdigit() and len(code) <= 8:  # a TOTP code; recovery codes are 16
                step = self._key(conn).open(row.id, found.seed_ct).match(code, self.clock())
                return step is not None and rows.accept_step(conn, row.id, step)
            spent = rows.spend_recovery(conn, row.id, recovery_digest(code), utcnow())
            if spent:
                self._audit.append(
                    conn, SYSTEM, "mfa.recovery_code_used", target_type="operator",
                    target_id=row.id,
                    details={"name": row.name, "left": rows.recovery_left(conn, row.id)},
                )  # fmt: skip
            return spent

    def _failed(self, name: str, why: str) -> None:
        with self._db.write() as conn:
            self._audit.append(
                conn, SYSTEM, "auth.failed", target_type="operator", target_id=name[:64],
                details={"reason": why},
            )  # fmt: skip

    # -- removing ----------------------------------------------------------------------------
    def disable(self, actor: Actor, password: Secret, code: str) -> MfaStatus:
        """Remove one's own second factor, with one's password and a code; refused while MFA
        is required of one (an admin's reset removes it then)."""
        if actor.operator_id is None:
            raise InvalidInput("only an operator has a second factor")
        with self._db.read() as conn:
            row = operator_rows.get(conn, actor.operator_id)
            required = self.required_in(conn, row)
            found = rows.get(conn, row.id)
        if found is None:
            raise Conflict(f"operator {row.name!r} has no authenticator app set up")
        if required:
            raise InvalidInput(
                f"MFA is required of operator {row.name!r}: it can't be turned off (an admin's "
                "`credsync operator mfa reset` starts it over)"
            )
        if not verify_password(row.password_hash, password):
            self._failed(row.name, "wrong password to turn MFA off")
            raise AuthenticationFailed("wrong operator name or password")
        if found.confirmed_at is not None:
            self.check(row, code)
        with self._db.write() as conn:
            rows.remove(conn, row.id)
            self._audit.append(
                conn, actor, "mfa.disable", target_type="operator", target_id=row.id,
                details={"name": row.name},
            )  # fmt: skip
            return self._state(conn, row)

    def reset(self, actor: Actor, ref: str) -> int:
        """Remove an operator's second factor (admin): the authenticator app and the security
        keys, ending every session of theirs; audited ``operator.mfa_reset``. Returns how many
        sessions ended."""
        from credsync.vault.operators import end_sessions_of

        actor.require(Permission.ADMIN)
        with self._db.write() as conn:
            row = self._operator(conn, ref, lock=True)
            had = rows.remove(conn, row.id)
            keys = key_rows.remove_all(conn, row.id)
            ended = end_sessions_of(conn, row.id, utcnow())
            self._audit.append(
                conn, actor, "operator.mfa_reset", target_type="operator", target_id=row.id,
                details={
                    "name": row.name, "had_mfa": had or keys > 0, "security_keys": keys,
                    "sessions_ended": ended,
                },
            )  # fmt: skip
        return ended

    # -- the requirement ---------------------------------------------------------------------
    def requirement(self, actor: Actor) -> MfaRequirement:
        actor.require(Permission.VAULT_READ)
        with self._db.read() as conn:
            return MfaRequirement(
                meta.mfa_required(conn), tuple(sorted(operator_rows.mfa_roles(conn)))
            )

    def set_required(self, actor: Actor, required: bool, role: str | None = None) -> MfaRequirement:
        """Require MFA (or not) of every operator, or (``role``) of a role's holders (admin;
        audited ``mfa.require``). Operators already signed in keep their sessions."""
        actor.require(Permission.ADMIN)
        with self._db.write() as conn:
            if role is None:
                meta.set_mfa_required(conn, required)
            else:
                role = role.strip().lower()
                if not operator_rows.set_role_mfa(conn, role, required):
                    raise NotFound(f"no role named {role!r}")
            self._audit.append(
                conn, actor, "mfa.require", target_type="role" if role else "vault",
                target_id=role or "vault", details={"required": required},
            )  # fmt: skip
            return MfaRequirement(
                meta.mfa_required(conn), tuple(sorted(operator_rows.mfa_roles(conn)))
            )
