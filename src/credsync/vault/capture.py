"""Capture, the vault's side of its keys and forwarders (README: Two-way sync and capture).

- A directory's **capture key** (:meth:`Capture.key`): an OpenPGP key made on first ask, its
  public part installed on the directory's DCs (Samba encrypts each new password to it), its
  secret part kept sealed by the master key (re-wrapped by key rotation). Asking for it needs
  directory.setup: it is what sets a DC up, and the first ask makes the key.
- **Forwarders** (:meth:`Capture.enroll`, :meth:`Capture.list`, :meth:`Capture.revoke`): one
  per DC or agent, bound to one directory, with a token shown once (an Ed25519 private seed:
  the vault stores only the public key). All three need directory.setup and the directory's
  client within the operator's client access (else the directory answers as one that does not
  exist).
- A forwarder asks for its directory's key itself (:meth:`Capture.key_for_forwarder`), with
  a request signed like a batch: the setup command needs no operator.

Batches are :mod:`credsync.vault.capture_intake`'s; applying their events
:mod:`credsync.vault.capture_apply`'s.
"""

from __future__ import annotations

import builtins
import datetime as dt
import json
import logging
import uuid
from dataclasses import dataclass

from sqlalchemy.engine import Connection
from typing_extensions import TypedDict

from credsync.crypto.forwarders import new_forwarder_key, verify_request
from credsync.crypto.openpgp import CaptureDecryptor, generate_capture_key, x25519_recipient
from credsync.errors import CaptureUnauthenticated, IntegrityError, InvalidInput, NotFound
from credsync.storage import Database, meta
from credsync.storage import audit as audit_rows
from credsync.storage import capture as capture_rows
from credsync.types import Secret, new_id
from credsync.vault._time import as_utc, as_utc_opt, utcnow
from credsync.vault.audit import AuditLog
from credsync.vault.auth import SYSTEM, Actor, Permission
from credsync.vault.directories import find_directory_row
from credsync.vault.keyring import KeyRing
from credsync.vault.models import Timestamp, iso
from credsync.vault.validate import clean_name

__all__ = [
    "DENIALS_PER_MINUTE",
    "DENIED",
    "Capture",
    "CaptureKeyInfo",
    "CaptureKeyJson",
    "Enrolment",
    "EnrolmentJson",
    "Forwarder",
    "ForwarderJson",
    "add_forwarder",
    "capture_path",
    "deny",
    "forwarder_actor",
    "key_path",
]

log = logging.getLogger("credsync.capture")


def capture_path(forwarder_id: str) -> str:
    """The path a forwarder posts its batches to (what their signature covers)."""
    return f"/api/v1/agents/{forwarder_id}/captures"


def key_path(forwarder_id: str) -> str:
    """The path a forwarder asks its directory's capture key at (signed over an empty body)."""
    return f"/api/v1/agents/{forwarder_id}/capture-key"


class CaptureKeyJson(TypedDict):
    directory: str
    fingerprint: str
    """40 hex digits, upper case (as GnuPG prints it): smb.conf's key id."""
    public_key: str
    """ASCII-armoured OpenPGP public key, to install on the directory's DCs."""
    x25519_public_hex: str | None
    """The raw X25519 public key of its Cv25519 encryption subkey, 64 hex digits: what the
    Windows password filter seals to (its ``RecipientKey``); null for an RSA key."""


@dataclass(frozen=True)
class CaptureKeyInfo:
    directory: str
    fingerprint: str
    public_key: str

    def to_json(self) -> CaptureKeyJson:
        try:
            x25519: str | None = x25519_recipient(self.public_key).hex()
        except IntegrityError:  # an RSA key made before: the filter can't seal to it
            x25519 = None
        return {
            "directory": self.directory,
            "fingerprint": self.fingerprint,
            "public_key": self.public_key,
            "x25519_public_hex": x25519,
        }


class EnrolmentJson(TypedDict):
    forwarder_id: str
    directory: str
    token: str
    """Shown once: the forwarder's credential (``csf1.<forwarder_id>.<key>``)."""


@dataclass(frozen=True)
class Enrolment:
    forwarder_id: str
    directory: str
    token: Secret

    def to_json(self) -> EnrolmentJson:
        return {
            "forwarder_id": self.forwarder_id,
            "directory": self.directory,
            "token": self.token.reveal(),
        }


class ForwarderJson(TypedDict):
    id: str
    directory: str
    directory_id: str
    name: str
    enrolled_at: Timestamp
    enrolled_by: str
    last_seq: int
    """The sequence number of the last batch accepted (0: none yet)."""
    last_seen_at: Timestamp | None
    revoked_at: Timestamp | None
    revoked_by: str | None
    remote_agent_id: str | None
    """Set: the row holds a remote agent's captures of this directory (it signs with the
    agent's key; see docs/remote-agent.md)."""


@dataclass(frozen=True)
class Forwarder:
    id: str
    directory: str
    directory_id: str
    client_id: str
    name: str
    enrolled_at: dt.datetime
    enrolled_by: str
    last_seq: int
    last_seen_at: dt.datetime | None
    revoked_at: dt.datetime | None
    revoked_by: str | None
    remote_agent_id: str | None = None

    def to_json(self) -> ForwarderJson:
        return {
            "id": self.id,
            "directory": self.directory,
            "directory_id": self.directory_id,
            "name": self.name,
            "enrolled_at": iso(self.enrolled_at),
            "enrolled_by": self.enrolled_by,
            "last_seq": self.last_seq,
            "last_seen_at": iso(self.last_seen_at),
            "revoked_at": iso(self.revoked_at),
            "revoked_by": self.revoked_by,
            "remote_agent_id": self.remote_agent_id,
        }


def _forwarder_model(row: capture_rows.ForwarderRow) -> Forwarder:
    return Forwarder(
        id=row.id,
        directory=row.directory_name,
        directory_id=row.directory_id,
        client_id=row.client_id,
        name=row.name,
        enrolled_at=as_utc(row.enrolled_at),
        enrolled_by=row.enrolled_by,
        last_seq=int(row.last_seq),
        last_seen_at=as_utc_opt(row.last_seen_at),
        revoked_at=as_utc_opt(row.revoked_at),
        revoked_by=row.revoked_by,
        remote_agent_id=row.remote_agent_id,
    )


def forwarder_actor(row: capture_rows.ForwarderRow) -> Actor:
    """Who a forwarder's captures are by, in secret histories and the audit log: it may set
    a captured password and nothing else (it is no operator: no route takes it)."""
    return Actor(
        None,
        f"forwarder {row.name}"[:64],
        "forwarder",
        frozenset({Permission.VAULT_WRITE.value}),
        "capture",
        clients=frozenset({row.client_id}),
    )


DENIED = "capture.denied"
DENIALS_PER_MINUTE = 100  # capture refusals audited a minute at most, in all


def add_forwarder(
    conn: Connection,
    audit: AuditLog,
    actor: Actor,
    *,
    forwarder_id: str,
    directory: tuple[str, str, str],
    name: str,
    public_key: bytes,
    remote_agent: tuple[str, str] | None = None,
) -> None:
    """A forwarder row for ``directory`` (its id, name and client's id), audited
    ``capture.enrolled`` in the same transaction: an operator's enrolment (a key of its own),
    or a remote agent's own row (``remote_agent``: its id and name; it signs with the agent's
    key, so ``public_key`` is empty)."""
    directory_id, directory_name, client_id = directory
    capture_rows.add_forwarder(
        conn,
        forwarder_id=forwarder_id,
        directory_id=directory_id,
        name=name,
        public_key=public_key,
        by=actor.name,
        now=utcnow(),
        remote_agent_id=remote_agent[0] if remote_agent else None,
    )
    details = {"directory": directory_name, "directory_id": directory_id}
    details.update({"remote_agent": remote_agent[1]} if remote_agent else {"name": name})
    audit.append(
        conn,
        actor,
        "capture.enrolled",
        target_type="forwarder",
        target_id=forwarder_id,
        client_id=client_id,
        details=details,
    )


def deny(
    db: Database,
    audit: AuditLog,
    forwarder_id: str,
    check: str,
    reason: str,
    *,
    target_type: str = "forwarder",
    **details: object,
) -> None:
    """Log and audit a refused capture request (``capture.denied``, in a transaction of its
    own, so the refusal's rollback keeps it): which check failed and why; nothing secret.

    Rate-limited as operators' refusals are (:mod:`credsync.vault.denials`): the same refusal
    (forwarder, check, reason) is audited once a minute, and at most
    :data:`DENIALS_PER_MINUTE` in all, so that requests anyone can send can't grow the
    append-only log without bound; past a limit the refusal is still logged."""
    target = forwarder_id[:64]
    now = utcnow()
    with db.read() as conn:
        limited = _denial_limited(conn, target, check, reason, now)
    if limited is None:
        with db.write() as conn:
            meta.lock_audit_head(conn)  # counted again with appends held off
            limited = _denial_limited(conn, target, check, reason, now)
            if limited is None:
                is_forwarder = target_type == "forwarder" and _is_uuid(forwarder_id)
                row = capture_rows.forwarder(conn, forwarder_id) if is_forwarder else None
                audit.append(
                    conn,
                    SYSTEM if row is None else forwarder_actor(row),
                    DENIED,
                    target_type=target_type,
                    target_id=target,
                    client_id=None if row is None else row.client_id,
                    details={"check": check, "reason": reason, **details},
                )
    log.warning(
        "capture request for %s %s refused (%s): %s%s",
        target_type.replace("_", " "),
        target,
        check,
        reason,
        "" if limited is None else f"; not audited: {limited}",
    )


def _denial_limited(
    conn: Connection, target: str, check: str, reason: str, now: dt.datetime
) -> str | None:
    since = now - dt.timedelta(minutes=1)
    recent = [
        row
        for row in audit_rows.page(conn, action=DENIED, limit=DENIALS_PER_MINUTE)
        if as_utc(row.at) > since
    ]
    if len(recent) >= DENIALS_PER_MINUTE:
        return f"{DENIALS_PER_MINUTE} capture refusals audited in the last minute"
    for row in recent:
        if row.target_id == target:
            seen = json.loads(row.details)
            if (seen.get("check"), seen.get("reason")) == (check, reason):
                return "the same refusal was audited less than a minute ago"
    return None


def _is_uuid(text: str) -> bool:
    try:
        return str(uuid.UUID(text)) == text
    except ValueError:
        return False


def authenticate(
    db: Database, audit: AuditLog, forwarder_id: str, signature: str | None, path: str, body: bytes
) -> capture_rows.ForwarderRow:
    """The enrolled, unrevoked forwarder that signed this request; else the refusal is
    audited and CaptureUnauthenticated raised (saying no more than that to the caller)."""
    with db.read() as conn:
        row = capture_rows.forwarder(conn, forwarder_id) if _is_uuid(forwarder_id) else None
    problem: str | None
    if row is None:
        problem, check = "no such forwarder", "forwarder"
    elif row.revoked_at is not None:
        problem, check = "the forwarder is revoked", "revoked"
    elif row.remote_agent_id is not None:
        problem = "the forwarder is a remote agent's: it signs with the agent's key"
        check = "remote_agent"
    else:
        problem, check = verify_request(row.public_key, signature, path, body), "signature"
    if problem is not None:
        deny(db, audit, forwarder_id, check, problem)
        raise CaptureUnauthenticated(
            "the capture request is not authenticated: unknown or revoked forwarder, or a bad "
            "signature (see the server's audit log)"
        )
    assert row is not None  # noqa: S101 - problem is None only with a row
    return row


class Capture:
    def __init__(self, db: Database, audit: AuditLog) -> None:
        self._db = db
        self._audit = audit

    # -- the capture key ---------------------------------------------------------------------
    def key(self, actor: Actor, ref: str, keys: KeyRing) -> CaptureKeyInfo:
        """The directory's capture key's public part, the key made (and audited:
        ``capture.key_created``) on first ask. Needs directory.setup."""
        actor.require(Permission.DIRECTORY_SETUP)
        with self._db.read() as conn:
            row = find_directory_row(conn, ref, actor)
            found = capture_rows.key_of(conn, row.id)
        if found is not None:
            return CaptureKeyInfo(row.name, found.fingerprint, found.public_key)
        kek = keys.kek()
        made = generate_capture_key(f"credsync capture {row.name}")  # slow: outside a write
        with self._db.write() as conn:
            row = find_directory_row(conn, row.id, actor)
            found = capture_rows.key_of(conn, row.id)
            if found is not None:  # another request made it meanwhile
                return CaptureKeyInfo(row.name, found.fingerprint, found.public_key)
            capture_rows.add_key(
                conn,
                capture_rows.KeyRow(
                    directory_id=row.id,
                    fingerprint=made.fingerprint,
                    public_key=made.public_key,
                    wrapped_secret=kek.wrap_capture_key(row.id, made.secret),
                    created_at=utcnow(),
                    created_by=actor.name,
                ),
            )
            self._audit.append(
                conn,
                actor,
                "capture.key_created",
                target_type="directory",
                target_id=row.id,
                client_id=row.client_id,
                details={"directory": row.name, "fingerprint": made.fingerprint},
            )
        return CaptureKeyInfo(row.name, made.fingerprint, made.public_key)

    def key_for_forwarder(
        self, forwarder_id: str, signature: str | None, body: bytes = b""
    ) -> CaptureKeyInfo:
        """The capture key of the forwarder's directory, asked by the forwarder itself (a
        request signed like a batch, over ``body``: empty). NotFound until an operator made
        the key (``credsync capture key``)."""
        row = authenticate(
            self._db, self._audit, forwarder_id, signature, key_path(forwarder_id), body
        )
        with self._db.read() as conn:
            found = capture_rows.key_of(conn, row.directory_id)
        if found is None:
            raise NotFound(
                f"directory {row.directory_name!r} has no capture key yet: an operator makes "
                f"it with `credsync capture key {row.directory_name}`"
            )
        return CaptureKeyInfo(row.directory_name, found.fingerprint, found.public_key)

    @staticmethod
    def decryptor(conn: Connection, keys: KeyRing, directory_id: str) -> CaptureDecryptor | None:
        """The directory's capture key opened for decryption (None: it has none)."""
        found = capture_rows.key_of(conn, directory_id)
        if found is None:
            return None
        secret = keys.kek().unwrap_capture_key(directory_id, found.wrapped_secret)
        return CaptureDecryptor(secret)

    # -- forwarders --------------------------------------------------------------------------
    def enroll(self, actor: Actor, ref: str, name: str | None = None) -> Enrolment:
        """A new forwarder for the directory; its token is in the answer only (audited:
        ``capture.enrolled``, without it). Needs directory.setup."""
        actor.require(Permission.DIRECTORY_SETUP)
        forwarder_id = new_id()
        token, public_key = new_forwarder_key(forwarder_id)
        with self._db.write() as conn:
            row = find_directory_row(conn, ref, actor)
            label = (
                clean_name(name, "forwarder name", 100, field="name")
                if name is not None
                else f"forwarder {forwarder_id[:8]}"
            )
            add_forwarder(
                conn,
                self._audit,
                actor,
                forwarder_id=forwarder_id,
                directory=(row.id, row.name, row.client_id),
                name=label,
                public_key=public_key,
            )
        return Enrolment(forwarder_id, row.name, token)

    def list(self, actor: Actor, directory_ref: str | None = None) -> builtins.list[Forwarder]:
        """Enrolled forwarders (of one directory), revoked ones too. Needs directory.setup."""
        actor.require(Permission.DIRECTORY_SETUP)
        with self._db.read() as conn:
            directory_id = (
                find_directory_row(conn, directory_ref, actor).id if directory_ref else None
            )
            rows = capture_rows.forwarders(
                conn, directory_id=directory_id, client_ids=actor.clients
            )
        return [_forwarder_model(r) for r in rows]

    def revoke(self, actor: Actor, forwarder_id: str) -> Forwarder:
        """Revoke a forwarder: its next request is refused (audited: ``capture.revoked``).
        Revoking one already revoked changes nothing. Needs directory.setup."""
        actor.require(Permission.DIRECTORY_SETUP)
        ref = forwarder_id.strip()
        with self._db.write() as conn:
            row = capture_rows.forwarder(conn, ref) if _is_uuid(ref) else None
            if row is None or not actor.sees(row.client_id):
                raise NotFound(f"no forwarder with id {ref!r} (see `credsync capture list`)")
            if capture_rows.revoke(conn, row.id, by=actor.name, now=utcnow()):
                self._audit.append(
                    conn,
                    actor,
                    "capture.revoked",
                    target_type="forwarder",
                    target_id=row.id,
                    client_id=row.client_id,
                    details={"directory": row.directory_name, "name": row.name},
                )
            row = capture_rows.forwarder(conn, row.id)
        assert row is not None  # noqa: S101 - read in the same transaction
        return _forwarder_model(row)


def check_forwarder_id(text: str) -> str:
    """A forwarder id as given: a UUID, else InvalidInput (``forwarder_id``)."""
    if not _is_uuid(text.strip().lower()):
        raise InvalidInput("a forwarder id is a UUID", field="forwarder_id")
    return text.strip().lower()
