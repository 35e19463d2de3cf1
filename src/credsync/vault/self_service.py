"""People's one-time links and their own passwords: onboarding invitations, password resets,
and the storing of a password a person chose (the push to their directories is
:mod:`credsync.sync.self_service`'s).

**Links.** A link is ``{public_url}/my/{client_id}/welcome/{token}`` (an invitation) or
``.../reset/{token}`` (a reset): the token is 32 random bytes (URL-safe), only its SHA-256 is
stored; it is used once, dies at its expiry (invitations: the mail settings' ``invite_days``, 7
by default; resets: :data:`RESET_LIFETIME`, 30 minutes), and a new link of the same purpose
voids the person's older ones. A link that is unknown, used, void or expired is refused with
one message (which of these is audited, never shown).

**Invitations** go to people awaiting onboarding (imported with a provisioning policy, no
password yet) who have an e-mail: by an operator (:meth:`SelfService.invite`, vault.write on the
client, audited ``person.invite``) and after an import whose policy says ``invite``
(:meth:`SelfService.send_pending_invitations`: those invited and without an open link). A mail
that fails leaves the invitation pending (``send_error`` is kept and shown): send again.

**Resets** (:meth:`SelfService.request_reset`) are asked for by a username or an e-mail on the
public page; the page says the same thing whether or not such a person exists (no enumeration);
the mail goes to the e-mail the vault has, never to one typed on the page. Audited
``person.reset_requested`` (with what happened, for operators).

**Storing** (:meth:`SelfService.store_password`): the password is checked against every rule
(:mod:`credsync.vault.person_passwords`) before anything is written; then, in one transaction,
the link (if any) is used, the person's primary credential gets the new secret version (history:
who = ``person:<username>``, why = self-service / onboarding / reset), an onboarding ends (the
credential takes the sync mode its policy recorded) and it is audited
``person.password_changed``. The person's MFA is the caller's (the web pages ask for it through
``vault.person_auth``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import secrets as random_source
from dataclasses import dataclass

from sqlalchemy.engine import Connection
from typing_extensions import TypedDict

from credsync.errors import CredsyncError, InvalidInput, MailError, NotFound
from credsync.storage import Database
from credsync.storage import credentials as credential_rows
from credsync.storage import onboarding as onboarding_rows
from credsync.storage import people as people_rows
from credsync.storage import person_links as link_rows
from credsync.types import Secret, new_id
from credsync.vault._time import as_utc, utcnow
from credsync.vault.audit import AuditLog
from credsync.vault.auth import Actor, Permission
from credsync.vault.keyring import KeyRing
from credsync.vault.mail import Mail
from credsync.vault.mail_send import Outgoing, send_sync
from credsync.vault.models import iso
from credsync.vault.people_records import find_person_row
from credsync.vault.person_passwords import PersonPasswords
from credsync.vault.secrets import write_secret_version
from credsync.vault.validate import name_key

__all__ = [
    "INVITE",
    "RESET",
    "RESET_LIFETIME",
    "InvitationJson",
    "InvitationStateJson",
    "LinkPerson",
    "SelfService",
    "StoredPassword",
    "self_service_actor",
]

log = logging.getLogger("credsync.self_service")

INVITE = "invite"
RESET = "reset"
RESET_LIFETIME = dt.timedelta(minutes=30)
BAD_LINK = "this link is not valid: it may have expired, been used already or been replaced"
_PATHS = {INVITE: "welcome", RESET: "reset"}


class InvitationJson(TypedDict):
    person_id: str
    username: str
    email: str
    expires_at: str
    sent: bool
    error: str | None


class InvitationStateJson(TypedDict):
    state: str  # pending | used | replaced | expired
    created_at: str
    created_by: str
    expires_at: str
    sent_at: str | None
    error: str | None
    """The mail server's answer when the mail was not sent (send it again)."""


@dataclass(frozen=True)
class LinkPerson:
    """What a valid link opens: the person it was sent to."""

    link_id: str
    purpose: str
    person_id: str
    client_id: str
    username: str
    display_name: str


@dataclass(frozen=True)
class StoredPassword:
    person_id: str
    credential_id: str
    version: int
    onboarded: bool


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def self_service_actor(person: people_rows.PersonRow) -> Actor:
    """Who a person's own change is recorded as: ``person:<username>``, allowed to write
    (only) what the self-service service writes for them, in their client only."""
    return Actor(
        None,
        f"person:{person.username}"[:64],
        "person",
        frozenset({Permission.VAULT_WRITE.value}),
        "self-service",
        frozenset({person.client_id}),
        mfa=True,
    )


class SelfService:
    def __init__(
        self, db: Database, audit: AuditLog, mail: Mail, passwords: PersonPasswords
    ) -> None:
        self._db = db
        self._audit = audit
        self._mail = mail
        self.passwords = passwords

    # -- links ---------------------------------------------------------------------------------
    def _new_link(
        self, conn: Connection, person: people_rows.PersonRow, purpose: str, by: str
    ) -> tuple[link_rows.LinkRow, Secret]:
        now = utcnow()
        lifetime = (
            dt.timedelta(days=self._mail.invite_days()) if purpose == INVITE else RESET_LIFETIME
        )
        token = random_source.token_urlsafe(32)
        link_rows.void_open(conn, person.id, purpose, now)
        row = link_rows.LinkRow(
            new_id(), person.id, person.client_id, purpose, token_hash(token), now, by,
            now + lifetime, None, None, None, None,
        )  # fmt: skip
        link_rows.insert(conn, row)
        return row, Secret(token)

    def _url(self, client_id: str, purpose: str, token: Secret) -> str:
        base = self._mail.public_url() or ""
        return f"{base}/my/{client_id}/{_PATHS[purpose]}/{token.reveal()}"

    def _send(
        self, keys: KeyRing, person: people_rows.PersonRow, link: link_rows.LinkRow, token: Secret
    ) -> str:
        """Send the link's mail; '' when sent, else the error (recorded on the link)."""
        server, settings = self._mail.server(keys)
        url = self._url(person.client_id, link.purpose, token)
        name = person.display_name or person.username
        until = f"{as_utc(link.expires_at):%Y-%m-%d %H:%M}"
        if link.purpose == INVITE:
            subject = "Choose your password"
            text = (
                f"Hello {name},\n\nan account was made for you ({person.username}). Choose your "
                f"password here (the link works once, until {until} UTC):\n\n{url}\n\n"
                "You will also set up a second factor (an "
                "authenticator app).\n"
            )
        else:
            subject = "Reset your password"
            text = (
                f"Hello {name},\n\nsomebody (you, we hope) asked to reset the password of "
                f"{person.username}. Use this link within 30 minutes, once, with your "
                f"authenticator app's code:\n\n{url}\n\nIf it was not you, ignore this mail: "
                "your password stays as it is.\n"
            )
        error = ""
        try:
            send_sync(server, Outgoing(settings.from_address, person.email, subject, text))
        except MailError as exc:
            error = str(exc)
        with self._db.write() as conn:
            link_rows.mark_sent(conn, link.id, sent_at=None if error else utcnow(), error=error)
        return error

    def invite(
        self, actor: Actor, keys: KeyRing, person_ref: str, *, client_id: str | None = None
    ) -> InvitationJson:
        """A new invitation for the person (voiding an older one), sent at once. The person
        must await onboarding and have an e-mail. A mail failure raises MailError after the
        invitation is stored (pending: send it again)."""
        actor.require(Permission.VAULT_WRITE)
        if not self._mail.configured():
            raise NotFound("no mail server is set up: an admin sets one with `credsync mail set`")
        with self._db.write() as conn:
            person = find_person_row(conn, actor, person_ref, client_id=client_id)
            self._check_invitable(conn, person)
            link, token = self._new_link(conn, person, INVITE, actor.name)
        error = self._send(keys, person, link, token)
        made = self._invited(actor, person, link, error)
        if error:
            raise MailError(f"the invitation to {person.email} is stored but not sent: {error}")
        return made

    def _invited(
        self, actor: Actor, person: people_rows.PersonRow, link: link_rows.LinkRow, error: str
    ) -> InvitationJson:
        with self._db.write() as conn:
            self._audit.append(
                conn, actor, "person.invite", target_type="person", target_id=person.id,
                client_id=person.client_id,
                details={"email": person.email, "expires_at": iso(as_utc(link.expires_at)),
                         "sent": not error, "error": error or None},
            )  # fmt: skip
        return InvitationJson(
            person_id=person.id,
            username=person.username,
            email=person.email,
            expires_at=iso(as_utc(link.expires_at)),
            sent=not error,
            error=error or None,
        )

    def invitation_of(self, actor: Actor, person_id: str) -> InvitationStateJson | None:
        """The person's newest invitation as operators see it (vault.read): pending (sent or
        not, with the mail server's answer), used, replaced or expired; None when none."""
        actor.require(Permission.VAULT_READ)
        with self._db.read() as conn:
            row = link_rows.latest(conn, [person_id], INVITE).get(person_id)
        if row is None or not actor.sees(row.client_id):
            return None
        if row.used_at is not None:
            state = "used"
        elif row.voided_at is not None:
            state = "replaced"
        elif as_utc(row.expires_at) <= utcnow():
            state = "expired"
        else:
            state = "pending"
        return InvitationStateJson(
            state=state,
            created_at=iso(as_utc(row.created_at)),
            created_by=row.created_by,
            expires_at=iso(as_utc(row.expires_at)),
            sent_at=iso(as_utc(row.sent_at)) if row.sent_at else None,
            error=row.send_error,
        )

    @staticmethod
    def _check_invitable(conn: Connection, person: people_rows.PersonRow) -> None:
        if person.deleted_at is not None or not person.enabled:
            raise InvalidInput(f"person {person.username!r} is disabled or in the trash",
                               field="person")  # fmt: skip
        record = onboarding_rows.of_people(conn, [person.id]).get(person.id)
        if record is None or not record.awaiting:
            raise InvalidInput(
                f"person {person.username!r} is not awaiting onboarding (they have a password): "
                "they can reset it themselves",
                field="person",
            )
        if not person.email:
            raise InvalidInput(f"person {person.username!r} has no e-mail to invite",
                               field="person")  # fmt: skip

    def send_pending_invitations(
        self, actor: Actor, keys: KeyRing, client_id: str, person_ids: list[str]
    ) -> tuple[int, int]:
        """Invite those of ``person_ids`` whose onboarding says ``invite``, who await it, have
        an e-mail and no open invitation: (sent, failed). Without a mail server: none (they
        stay pending; logged)."""
        if not self._mail.configured():
            log.info("no mail server set up: %d people's invitations wait", len(person_ids))
            return 0, 0
        sent = failed = 0
        with self._db.read() as conn:
            records = onboarding_rows.of_people(conn, person_ids)
            latest = link_rows.latest(conn, list(records), INVITE)
        now = utcnow()
        for person_id, record in records.items():
            if not (record.invite and record.awaiting) or record.client_id != client_id:
                continue
            open_link = latest.get(person_id)
            if (
                open_link is not None
                and open_link.used_at is None
                and (open_link.voided_at is None and as_utc(open_link.expires_at) > now)
            ):
                continue
            try:
                self.invite(actor, keys, person_id, client_id=client_id)
                sent += 1
            except MailError:
                failed += 1
            except CredsyncError as exc:
                log.info("person %s not invited: %s", person_id, exc)
        return sent, failed

    def request_reset(self, keys: KeyRing, client_id: str, who: str, *, address: str) -> None:
        """A reset link to the person named ``who`` (username or e-mail), if there is one with
        an e-mail and a password; nothing is said either way (audited for operators)."""
        given = who.strip()[:320]
        outcome = "no such person"
        person = None
        with self._db.write() as conn:
            found = people_rows.by_username(conn, name_key(given), [client_id]) if given else []
            if not found and "@" in given:
                ids = link_rows.people_by_email(conn, client_id, given)
                found = [p for p in (people_rows.get(conn, i) for i in ids[:1]) if p is not None]
            person = found[0] if len(found) == 1 else None
            if person is not None:
                record = onboarding_rows.of_people(conn, [person.id]).get(person.id)
                if person.deleted_at is not None or not person.enabled:
                    outcome, person = "disabled or in the trash", None
                elif not person.email:
                    outcome, person = "no e-mail", None
                elif person.credential_id is None or (record is not None and record.awaiting):
                    outcome, person = "awaiting onboarding (an invitation, not a reset)", None
            link = token = None
            if person is not None:
                link, token = self._new_link(conn, person, RESET, f"person:{person.username}")
                outcome = "sent"
        if person is not None and link is not None and token is not None:
            error = self._send(keys, person, link, token)
            outcome = f"not sent: {error}" if error else "sent"
        with self._db.write() as conn:
            self._audit.append(
                conn,
                Actor(None, "anonymous", "person", frozenset(), "self-service"),
                "person.reset_requested",
                target_type="person",
                target_id=person.id if person else "-",
                client_id=client_id,
                details={"given": given[:120], "outcome": outcome, "address": address},
            )

    def open_link(self, client_id: str, token: str, purpose: str) -> LinkPerson:
        """The person a valid link of ``purpose`` was sent to; InvalidInput (one message)
        when it is unknown, of another client or purpose, used, void or expired."""
        with self._db.read() as conn:
            row = link_rows.by_hash(conn, token_hash(token)) if token else None
            person = people_rows.get(conn, row.person_id) if row else None
        why = None
        if row is None or person is None or row.client_id != client_id or row.purpose != purpose:
            why = "unknown"
        elif row.used_at is not None:
            why = "used"
        elif row.voided_at is not None:
            why = "replaced"
        elif as_utc(row.expires_at) <= utcnow():
            why = "expired"
        elif person.deleted_at is not None or not person.enabled:
            why = "person disabled"
        if why is not None:
            if row is not None:
                with self._db.write() as conn:
                    self._audit.append(
                        conn, Actor(None, "anonymous", "person", frozenset(), "self-service"),
                        "person.link_refused", target_type="person", target_id=row.person_id,
                        client_id=row.client_id, details={"purpose": row.purpose, "why": why},
                    )  # fmt: skip
            raise InvalidInput(BAD_LINK, field="token")
        if row is None or person is None:  # pragma: no cover - refused above
            raise InvalidInput(BAD_LINK, field="token")
        return LinkPerson(
            row.id, row.purpose, person.id, person.client_id, person.username, person.display_name
        )

    # -- the password ------------------------------------------------------------------------
    def store_password(
        self,
        keys: KeyRing,
        person_id: str,
        password: Secret,
        *,
        why: str,
        link: LinkPerson | None = None,
    ) -> StoredPassword:
        """Check, then store the person's new password (see the module docstring)."""
        self.passwords.check(person_id, password)
        now = utcnow()
        with self._db.write() as conn:
            person = people_rows.get(conn, person_id)
            if person is None or person.deleted_at is not None or not person.enabled:
                raise NotFound("no such person")
            if person.credential_id is None:
                raise InvalidInput("the person has no login credential: ask an operator",
                                   field="person")  # fmt: skip
            if link is not None and not link_rows.use(conn, link.link_id, now):
                raise InvalidInput(BAD_LINK, field="token")
            actor = self_service_actor(person)
            version = write_secret_version(
                conn, self._audit, actor, keys, person.credential_id, password,
                source="self-service", reason=why, relay=False,
            )  # fmt: skip
            record = onboarding_rows.of_people(conn, [person.id]).get(person.id)
            onboarded = record is not None and record.awaiting
            if onboarded and record is not None:
                self._end_onboarding(conn, actor, record, person.credential_id, now)
            link_rows.void_open(conn, person.id, RESET, now)
            self._audit.append(
                conn, actor, "person.password_changed", target_type="person",
                target_id=person.id, client_id=person.client_id,
                details={"why": why, "secret_version": version, "onboarded": onboarded,
                         "link": link.purpose if link else None},
            )  # fmt: skip
        return StoredPassword(person.id, person.credential_id, version, onboarded)

    @staticmethod
    def _end_onboarding(
        conn: Connection,
        actor: Actor,
        record: onboarding_rows.OnboardingRow,
        credential_id: str,
        now: dt.datetime,
    ) -> None:
        """Onboarding ends: the record says so and the credential takes its recorded mode."""
        onboarding_rows.put(conn, record._replace(awaiting=False))
        cred = credential_rows.get(conn, credential_id)
        mode = None if record.sync_mode == "inherit" else record.sync_mode
        if cred.sync_mode != mode:
            credential_rows.bump(conn, credential_id, int(cred.version), by=actor.name, now=now,
                                 changes={"sync_mode": mode})  # fmt: skip
