"""People sign in to the vault (issue 17): their password (the secret of their primary login
credential) plus a second factor, for the identity provider and the person portal.

- **Password** (:meth:`PersonAuth.check_password`): the person is found by username (any case)
  in the client; their primary credential's current secret is opened with the client's data
  key and compared in constant time (:func:`hmac.compare_digest`). Every refusal raises
  :class:`~credsync.errors.SignInRefused` with one message, whatever the reason (unknown
  username, wrong password, disabled or trashed person, one awaiting onboarding, no primary
  credential, an archived client): the reason is audited (``person.sign_in_failed``), never
  shown. It never touches a directory (no bind): the person's directory accounts can't be
  locked by the vault's sign-in.
- **Limits** (:mod:`credsync.vault.person_limits`): failures count per person and per address;
  past a limit, :class:`~credsync.errors.TooManyAttempts` says when to try again, before the
  password is even looked at (audited ``person.sign_in_limited``).
- **Second factor**: a TOTP code (:meth:`PersonAuth.check_totp`: one step of clock skew either
  side, newer than the last accepted, so a replayed code is refused) or a security key
  (:mod:`credsync.vault.person_keys`); :meth:`PersonAuth.second_factor` takes either, for
  the pages that ask for it beside other fields (self-service change and reset). Failures count
  against the limits as wrong passwords do; a completed sign-in forgets the person's failures.
- **Enrolment** (:meth:`PersonAuth.begin_totp`, :meth:`PersonAuth.confirm_totp`): a person
  without a second factor (``mfa_enrolled`` false) sets one up within the sign-in, after the
  password; a confirmed one can't be replaced that way (an operator resets it first).
- **Reset** (:meth:`PersonAuth.reset_mfa`, operators with vault.write): removes the person's
  app and keys and ends their portal sessions; audited ``person.mfa_reset``.

The seeds are sealed under the vault's MFA key, as operators' are (:func:`vault_mfa_key`),
bound to the person's id. Passwords, seeds and codes never appear in audit details, errors or
reprs. The password check needs the vault unlocked: the server hands its key ring over with
:meth:`PersonAuth.use_keys`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hmac
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy.engine import Connection

from credsync import telemetry
from credsync.crypto.otp import MfaKey, Totp
from credsync.crypto.webauthn import RelyingParty
from credsync.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    SignInRefused,
    TooManyAttempts,
    VaultLocked,
)
from credsync.storage import Database
from credsync.storage import clients as client_rows
from credsync.storage import credentials as credential_rows
from credsync.storage import onboarding as onboarding_rows
from credsync.storage import people as people_rows
from credsync.storage import person_mfa as rows
from credsync.storage import person_sessions as session_rows
from credsync.storage import secrets as secret_rows
from credsync.types import Secret
from credsync.vault._time import utcnow
from credsync.vault.audit import AuditLog
from credsync.vault.auth import Actor, Permission
from credsync.vault.clients import find_client_row
from credsync.vault.keyring import KeyRing
from credsync.vault.mfa import ISSUER, vault_mfa_key
from credsync.vault.people_records import find_person_row
from credsync.vault.person_auth_models import (
    PersonMfaResetJson,
    PersonMfaStatus,
    PersonMfaStatusJson,
    PersonSignIn,
    TotpEnrolment,
    aad_id,
    person_actor,
    seed_state,
)
from credsync.vault.person_keys import PersonKeys
from credsync.vault.person_limits import PersonLimits
from credsync.vault.validate import name_key

__all__ = [
    "REFUSED",
    "PersonAuth",
    "PersonMfaResetJson",
    "PersonMfaStatus",
    "PersonMfaStatusJson",
    "PersonSignIn",
    "TotpEnrolment",
    "person_actor",
]

REFUSED = "wrong username or password, or this account can't sign in here"
CODE_REFUSED = "the one-time code is wrong or was already used"


class PersonAuth:
    def __init__(
        self,
        db: Database,
        audit: AuditLog,
        keys: KeyRing | None = None,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._db = db
        self._audit = audit
        self._keys = keys
        self._clock = clock
        self.limits = PersonLimits(db, self._ring, clock=lambda: self.clock())
        self.security_keys = PersonKeys(db, audit, self)

    @property
    def clock(self) -> Callable[[], float]:
        return self._clock

    @clock.setter
    def clock(self, value: Callable[[], float]) -> None:
        self._clock = value

    def use_keys(self, keys: KeyRing) -> None:
        """The key ring (unlocked) the password check opens people's passwords with."""
        self._keys = keys

    def _ring(self) -> KeyRing:
        if self._keys is None:
            raise VaultLocked("people's sign-in needs the vault unlocked (the server's key ring)")
        return self._keys

    def _now(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self._clock(), dt.UTC)

    # -- audit -------------------------------------------------------------------------------
    def _audit_row(
        self,
        action: str,
        person: people_rows.PersonRow | None,
        client_id: str,
        details: dict[str, Any],
    ) -> None:
        with self._db.write() as conn:
            self._audit_in(conn, action, person, client_id, details)

    def _audit_in(
        self,
        conn: Connection,
        action: str,
        person: people_rows.PersonRow | None,
        client_id: str,
        details: dict[str, Any],
    ) -> None:
        if person is None:
            actor = Actor(None, "(unknown person)", "person", frozenset(), "person")
            target = client_id
        else:
            actor, target = person_actor(person), person.id
        self._audit.append(
            conn, actor, action, target_type="person" if person else "client", target_id=target,
            client_id=client_id, details=details,
        )  # fmt: skip

    def _refuse(
        self,
        person: people_rows.PersonRow | None,
        client_id: str,
        address: str,
        reason: str,
        *,
        message: str = REFUSED,
    ) -> SignInRefused:
        self.limits.failed(person.id if person else None, address)
        telemetry.events().sign_in("person", ok=False)
        self._audit_row(
            "person.sign_in_failed", person, client_id, {"reason": reason, "address": address}
        )
        return SignInRefused(message)

    def _limit(self, person: people_rows.PersonRow | None, client_id: str, address: str) -> None:
        try:
            self.limits.check(person.id if person else None, address)
        except TooManyAttempts as exc:
            self._audit_row(
                "person.sign_in_limited", person, client_id,
                {"address": address, "retry_after": exc.retry_after},
            )  # fmt: skip
            raise

    # -- the password ------------------------------------------------------------------------
    def check_password(
        self, client_id: str, username: str, password: Secret, *, address: str
    ) -> PersonSignIn:
        """The person of ``client_id`` named ``username`` whose vault password is
        ``password`` (see the module's docstring); SignInRefused or TooManyAttempts."""
        typed = username.strip()
        person = None
        if typed and len(typed) <= 320:
            with self._db.read() as conn:
                found = people_rows.by_username(conn, name_key(typed), [client_id])
            person = found[0] if found else None
        self._limit(person, client_id, address)
        if person is None:
            raise self._refuse(None, client_id, address, "unknown username")
        keys = self._ring()
        with self._db.read() as conn:
            why, stored = self._stored_password(conn, keys, person)
            status = self._status(conn, person.id)
        if why is not None or stored is None:
            raise self._refuse(person, client_id, address, why or "no password")
        given = password.reveal().encode("utf-8")
        if not hmac.compare_digest(stored.reveal().encode("utf-8"), given):
            raise self._refuse(person, client_id, address, "wrong password")
        self._audit_row(
            "person.sign_in", person, client_id,
            {"factor": "password", "address": address, "mfa_enrolled": status.enrolled},
        )  # fmt: skip
        return PersonSignIn(
            person.id, client_id, person.username, person.display_name, False, self._now(),
            status.enrolled, person.email,
        )  # fmt: skip

    @staticmethod
    def _stored_password(
        conn: Connection, keys: KeyRing, person: people_rows.PersonRow
    ) -> tuple[str | None, Secret | None]:
        """(why the person can't sign in, None) or (None, their vault password)."""
        if person.deleted_at is not None:
            return "person in the trash", None
        if not person.enabled:
            return "person disabled", None
        client = client_rows.find(conn, person.client_id, "")
        if client is None or client.archived_at is not None:
            return "client archived", None
        if person.credential_id is None:
            return "no primary credential", None
        held = onboarding_rows.of_people(conn, [person.id]).get(person.id)
        if held is not None and held.awaiting:
            return "awaiting onboarding (no password yet)", None
        cred = credential_rows.get(conn, person.credential_id)
        if cred.deleted_at is not None or cred.client_id != person.client_id:
            return "primary credential in the trash", None
        key = keys.data_key(conn, cred.client_id)
        sealed = secret_rows.ciphertext(conn, cred.id, cred.secret_version)
        return None, key.open_text(cred.id, cred.secret_version, "password", sealed)

    def _live(self, person_id: str) -> people_rows.PersonRow | None:
        with self._db.read() as conn:
            person = people_rows.get(conn, person_id)
        if person is None or person.deleted_at is not None or not person.enabled:
            return None
        return person

    def person_of(self, person_id: str, client_id: str) -> PersonSignIn | None:
        """The live (enabled, not trashed) person ``person_id`` of ``client_id``, as a sign-in
        that passed nothing (for showing who they are); None otherwise."""
        person = self._live(person_id)
        if person is None or person.client_id != client_id:
            return None
        status = self.mfa_status(person_id)
        return PersonSignIn(
            person.id, person.client_id, person.username, person.display_name, False,
            self._now(), status.enrolled, person.email,
        )  # fmt: skip

    # -- the second factor -------------------------------------------------------------------
    def _mfa_key(self, conn: Connection) -> MfaKey:
        return vault_mfa_key(conn)

    def check_totp(self, sign_in: PersonSignIn, code: str, *, address: str) -> PersonSignIn:
        """``sign_in`` past its second factor: ``code`` is a TOTP code of the person's app,
        newer than the last accepted; else SignInRefused (counted like a wrong password)."""
        person = self._live(sign_in.person_id)
        self._limit(person, sign_in.client_id, address)
        if person is None:
            raise self._refuse(None, sign_in.client_id, address, "person gone or disabled")
        step = None
        code = code.strip().replace(" ", "")
        with self._db.write() as conn:
            found = rows.get(conn, person.id)
            if found is not None and found.confirmed_at is not None and 0 < len(code) <= 8:
                totp = self._mfa_key(conn).open(aad_id(person.id), found.seed_ct)
                step = totp.match(code, self._clock())
                if step is not None and not rows.accept_step(conn, person.id, step):
                    step = None
                if step is not None:  # audited in the transaction that spends the step
                    details = {"factor": "totp", "address": address}
                    self._audit_in(conn, "person.sign_in", person, sign_in.client_id, details)
        if step is None:
            raise self._refuse(
                person, sign_in.client_id, address, "wrong or reused one-time code",
                message=CODE_REFUSED,
            )  # fmt: skip
        return self.passed(person, sign_in, address, "totp", audited=True)

    def passed(
        self,
        person: people_rows.PersonRow,
        sign_in: PersonSignIn,
        address: str,
        factor: str,
        *,
        audited: bool = False,
    ) -> PersonSignIn:
        """The sign-in completed by ``factor``: the person's failures forgotten, audited
        (unless the caller did already)."""
        self.limits.succeeded(person.id)
        telemetry.events().sign_in("person", ok=True)
        if not audited:
            self._audit_row(
                "person.sign_in", person, sign_in.client_id, {"factor": factor, "address": address}
            )
        return dataclasses.replace(
            sign_in, mfa=True, mfa_enrolled=True, authenticated_at=self._now()
        )

    def second_factor(
        self,
        sign_in: PersonSignIn,
        *,
        code: str = "",
        key_answer: str = "",
        rp: RelyingParty | None = None,
        address: str,
    ) -> PersonSignIn:
        """``sign_in`` past its second factor by whichever the person gave: a security key's
        ``key_answer`` (to a challenge of :meth:`PersonKeys.sign_in_options`, for the relying
        party ``rp``) or their app's ``code``. The same checks, limits and audit as each
        alone; InvalidInput when neither is given."""
        if key_answer:
            if rp is None:
                raise InvalidInput("a security key's answer needs the page's relying party")
            return self.security_keys.check(sign_in, rp, key_answer, address=address)
        if not code.strip():
            raise InvalidInput(
                "give the code your authenticator app shows, or use your security key",
                field="code",
            )
        return self.check_totp(sign_in, code, address=address)

    # -- state and enrolment -----------------------------------------------------------------
    @staticmethod
    def _status(conn: Connection, person_id: str) -> PersonMfaStatus:
        return PersonMfaStatus(
            person_id, seed_state(rows.get(conn, person_id)), rows.count_keys(conn, person_id)
        )

    def mfa_status(self, person_id: str) -> PersonMfaStatus:
        with self._db.read() as conn:
            return self._status(conn, person_id)

    def mfa_of(
        self, actor: Actor, person_ref: str, *, client_ref: str | None = None
    ) -> PersonMfaStatus:
        """A person's MFA state as an operator sees it (vault.read)."""
        actor.require(Permission.VAULT_READ)
        with self._db.read() as conn:
            client_id = find_client_row(conn, client_ref, actor).id if client_ref else None
            row = find_person_row(conn, actor, person_ref, client_id=client_id)
            return self._status(conn, row.id)

    def begin_totp(self, person_id: str) -> TotpEnrolment:
        """A new pending seed for the person (in place of a pending one); Conflict while one
        is confirmed (an operator's reset first)."""
        totp = Totp.generate()
        with self._db.write() as conn:
            person = people_rows.get(conn, person_id)
            if person is None:
                raise NotFound("no such person")
            found = rows.get(conn, person_id)
            if found is not None and found.confirmed_at is not None:
                raise Conflict(
                    "this person has an authenticator app set up already: an operator resets "
                    "it (`credsync person mfa-reset`) before another is set up"
                )
            rows.set_pending(
                conn, person_id, self._mfa_key(conn).seal(aad_id(person_id), totp), utcnow()
            )
            self._audit_in(conn, "person.mfa_enrol_start", person, person.client_id, {})
        return TotpEnrolment(
            person_id, person.username, totp.secret, totp.uri(person.username, ISSUER)
        )

    def pending_totp(self, person_id: str) -> TotpEnrolment | None:
        """The person's pending (unconfirmed) seed, to show again while they set their app up
        within a sign-in past their password; None when none is pending. A confirmed seed is
        never shown again."""
        with self._db.read() as conn:
            person = people_rows.get(conn, person_id)
            found = rows.get(conn, person_id)
            if person is None or found is None or found.confirmed_at is not None:
                return None
            totp = self._mfa_key(conn).open(aad_id(person_id), found.seed_ct)
        return TotpEnrolment(
            person_id, person.username, totp.secret, totp.uri(person.username, ISSUER)
        )

    def confirm_totp(self, person_id: str, code: str) -> None:
        """Confirm the pending seed with its first code; InvalidInput (``code``) when wrong."""
        with self._db.write() as conn:
            person = people_rows.get(conn, person_id)
            found = rows.get(conn, person_id)
            if person is None or found is None or found.confirmed_at is not None:
                raise Conflict("no authenticator app is waiting for its first code: start again")
            totp = self._mfa_key(conn).open(aad_id(person_id), found.seed_ct)
        step = totp.match(code, self._clock())
        if step is None:
            raise InvalidInput(
                "that code does not match the new secret: check the authenticator app's clock "
                "and give its current code",
                field="code",
            )
        with self._db.write() as conn:
            if not rows.set_confirmed(conn, person_id, step, utcnow()):
                raise Conflict("the enrolment changed meanwhile: start again")
            self._audit_in(conn, "person.mfa_enrol", person, person.client_id, {"factor": "totp"})

    def enrol_sign_in(self, sign_in: PersonSignIn, code: str, *, address: str) -> PersonSignIn:
        """Within a sign-in past the password: confirm the person's pending seed with its
        first code (:meth:`confirm_totp`), which completes the sign-in (``mfa``)."""
        person = self._live(sign_in.person_id)
        if person is None:
            raise self._refuse(None, sign_in.client_id, address, "person gone or disabled")
        self.confirm_totp(person.id, code)
        return self.passed(person, sign_in, address, "totp_enrolment")

    def client_name(self, client_id: str) -> str | None:
        """The name of the live (not archived) client ``client_id``, for the portal's pages;
        None when there is none."""
        with self._db.read() as conn:
            found = client_rows.find(conn, client_id, "")
        if found is None or found.id != client_id or found.archived_at is not None:
            return None
        return found.name

    def reset_mfa(
        self, actor: Actor, person_ref: str, *, client_ref: str | None = None
    ) -> PersonMfaResetJson:
        """Remove the person's second factors (app and security keys) and end their portal
        sessions (vault.write); audited ``person.mfa_reset``. They enrol again at their next
        sign-in."""
        actor.require(Permission.VAULT_READ, Permission.VAULT_WRITE)
        with self._db.write() as conn:
            client_id = find_client_row(conn, client_ref, actor).id if client_ref else None
            person = find_person_row(conn, actor, person_ref, client_id=client_id)
            had, keys = rows.forget_person(conn, person.id)
            ended = session_rows.end_of(conn, person.id, utcnow())
            done = PersonMfaResetJson(
                person_id=person.id, username=person.username, had_totp=had,
                security_keys=keys, sessions_ended=ended,
            )  # fmt: skip
            details = {k: v for k, v in done.items() if k != "person_id"}
            self._audit.append(
                conn, actor, "person.mfa_reset", target_type="person", target_id=person.id,
                client_id=person.client_id, details=details,
            )  # fmt: skip
        return done

    # -- security keys (person_keys), under the names the pinned interface gives -------------
    @staticmethod
    def forget(conn: Connection, person_id: str) -> None:
        """Everything of the person's (the person is purged)."""
        rows.forget_person(conn, person_id)
        session_rows.forget_person(conn, person_id)
