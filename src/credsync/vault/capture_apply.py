"""Applying a verified capture event, inside the transaction that records its batch.

Per event, in this order (each outcome is also the ledger's, with its detail):

1. Its idempotency key (directory, object_guid, pwd_last_set, kvno) already in the ledger:
   ``duplicate``, nothing else done.
2. ``changed`` events, and ``deleted``/``disabled`` ones: recorded, ``ignored`` (runs see
   what the directory says of the account).
3. A ``password`` event: without a ciphertext ``ignored``; a format other than ``openpgp``
   ``rejected`` (the RSA-OAEP format is reserved).
4. The account: the credential linked to (this directory, object_guid). None: ``unlinked``
   (the ciphertext is dropped undecrypted). Linked but not in the directory's scope at its
   last read (not in its account cache): ``out_of_scope``. A forwarder's events are looked up
   in its own directory only, so an account of another directory is never reached.
5. Newest wins: a pwd_last_set older than one already applied to the account: ``stale``.
6. Decrypted (UTF-16-LE); failing that ``rejected``. Then by the credential's effective mode
   (its own, else its client's default; a client with directory sync off: ``ignored``):

   - ``two_way``: equal to the vault's current password (compared in constant time): the
     vault's own push came back, the link is confirmed at this pwdLastSet, no new version.
     Else, changed in the directory at or after the vault's current version was made: a new
     version (source ``directory``, by the forwarder), and the link confirmed at it. Else the
     vault changed after the directory did: the vault wins, the capture is kept pending, a
     ``conflict`` flag says so, and the vault's password is queued for a push (through a
     confirmed link only).
   - ``report``: kept pending with a ``changed_in_directory`` flag an operator accepts
     (:meth:`credsync.vault.capture_intake.CaptureIntake.accept`).
   - ``enforce``: a drift: a ``changed_in_directory`` flag, and the vault's password queued
     for a push (through a confirmed link only); the captured password is not kept.
   - ``off``: ``ignored``.

The decrypted password lives in a :class:`~credsync.types.Secret` for the length of one
event's handling and is not kept anywhere else.
"""

from __future__ import annotations

import datetime as dt
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from sqlalchemy.engine import Connection
from typing_extensions import TypedDict

from credsync.connectors import registry
from credsync.crypto.openpgp import CaptureDecryptor
from credsync.errors import InvalidInput
from credsync.storage import capture as capture_rows
from credsync.storage import flags as flag_rows
from credsync.storage import links as link_rows
from credsync.storage import push_queue
from credsync.types import Secret, SyncMode, new_id
from credsync.vault._time import as_utc, utcnow
from credsync.vault.audit import AuditLog
from credsync.vault.auth import Actor
from credsync.vault.capture_batch import OPENPGP, CaptureEvent
from credsync.vault.keyring import KeyRing
from credsync.vault.secrets import read_secrets, write_secret_version

__all__ = [
    "CHANGED_IN_DIRECTORY",
    "CONFLICT",
    "PENDING_FIELD",
    "Applier",
    "EventResult",
    "EventResultJson",
    "Outcome",
    "captured_reason",
]

Outcome = Literal[
    "accepted", "duplicate", "stale", "unlinked", "out_of_scope", "ignored", "rejected"
]
CHANGED_IN_DIRECTORY = "changed_in_directory"
CONFLICT = "conflict"
PENDING_FIELD = "captured_password"  # the sealed field of a pending capture (its AAD)
IN_SYNC = "in_sync"


class EventResultJson(TypedDict):
    object_guid: str
    pwd_last_set: int | None
    outcome: Outcome
    detail: str


@dataclass(frozen=True)
class EventResult:
    object_guid: str
    pwd_last_set: int | None
    outcome: Outcome
    detail: str

    def to_json(self) -> EventResultJson:
        return {
            "object_guid": self.object_guid,
            "pwd_last_set": self.pwd_last_set,
            "outcome": self.outcome,
            "detail": self.detail,
        }


def _when(event: CaptureEvent) -> dt.datetime:
    return event.changed_at or event.captured_at


def captured_reason(side: str, event: CaptureEvent, forwarder: str) -> str:
    """A captured version's reason: who (a capture does not say: a user or an admin), where
    and when by the directory's clock."""
    where = f" (reported by DC {event.dc})" if event.dc else ""
    return (
        f"changed in {side} by a user or admin at "
        f"{_when(event).strftime('%Y-%m-%d %H:%M:%S')} UTC{where}, captured by {forwarder}"
    )


@dataclass
class Applier:
    """Applies one batch's events for one forwarder of one directory (its ``actor``)."""

    conn: Connection
    audit: AuditLog
    keys: KeyRing
    actor: Actor
    forwarder_id: str
    directory_id: str
    directory_kind: str
    seq: int
    decryptor: CaptureDecryptor | None

    @property
    def side(self) -> str:
        return registry.kind_of(self.directory_kind).display_name

    def apply(self, event: CaptureEvent) -> EventResult:
        if capture_rows.has_event(self.conn, self.directory_id, event.event_key):
            return EventResult(
                event.object_guid, event.pwd_last_set, "duplicate", "already received"
            )
        outcome, detail, credential_id = self._decide(event)
        capture_rows.record_event(
            self.conn,
            capture_rows.LedgerEvent(
                directory_id=self.directory_id,
                event_key=event.event_key,
                object_guid=event.object_guid,
                pwd_last_set=event.pwd_last_set,
                kvno=event.kvno,
                kind=event.kind,
                outcome=outcome,
                detail=detail[:2000],
                forwarder_id=self.forwarder_id,
                seq=self.seq,
                credential_id=credential_id,
                dc=event.dc,
                captured_at=event.captured_at,
                received_at=utcnow(),
            ),
        )
        if outcome in ("stale", "out_of_scope"):
            self._audit_refusal(event, outcome, detail, credential_id)
        return EventResult(event.object_guid, event.pwd_last_set, outcome, detail)

    def _decide(self, event: CaptureEvent) -> tuple[Outcome, str, str | None]:
        if event.kind != "password":
            return "ignored", f"a {event.kind} event: recorded, nothing to apply", None
        if event.ciphertext is None:
            return "ignored", "a password event without a ciphertext", None
        if event.ciphertext_format != OPENPGP:
            return "rejected", "ciphertext format not supported yet", None
        account = capture_rows.account_state(self.conn, self.directory_id, event.object_guid)
        if account.credential_id is None:
            return "unlinked", "no credential is linked to the account in this directory", None
        cid = account.credential_id
        if not account.cached:
            return "out_of_scope", "the account is not in the directory's scope", cid
        newest = capture_rows.newest_applied(self.conn, self.directory_id, event.object_guid)
        if event.pwd_last_set is not None and newest is not None and event.pwd_last_set < newest:
            return "stale", f"a newer change (pwdLastSet {newest}) was already applied", cid
        if self.decryptor is None:
            return "rejected", "the directory has no capture key", cid
        try:
            plain = self.decryptor.decrypt(event.ciphertext)
            password = Secret(plain.decode("utf-16-le"))
        except (InvalidInput, UnicodeDecodeError) as exc:
            reason = str(exc) if isinstance(exc, InvalidInput) else "not UTF-16-LE text"
            return "rejected", f"undecryptable: {reason}", cid
        outcome, detail = self._by_mode(event, cid, account, password)
        return outcome, detail, cid

    def _by_mode(
        self,
        event: CaptureEvent,
        cid: str,
        account: capture_rows.AccountState,
        password: Secret,
    ) -> tuple[Outcome, str]:
        cred = capture_rows.credential_state(self.conn, cid)
        if cred is None or cred.deleted_at is not None:
            return "ignored", "the linked credential is in the trash"
        if not cred.directory_sync:
            return "ignored", "the client's directory sync is off"
        mode = SyncMode(cred.mode)
        if mode is SyncMode.OFF:
            return "ignored", "the credential's sync mode is off"
        if mode is SyncMode.ENFORCE:
            return self._drift(event, cred, account)
        if mode is SyncMode.REPORT:
            flag_id = self._flag(
                event,
                cred,
                CHANGED_IN_DIRECTORY,
                "changed in the directory; the captured password is available: accept it",
            )
            self._keep_pending(event, cred, password, flag_id)
            return "accepted", f"kept pending: flag {flag_id[:8]} asks an operator to accept it"
        return self._two_way(event, cred, account, password)

    # -- the modes -----------------------------------------------------------------------------
    def _two_way(
        self,
        event: CaptureEvent,
        cred: capture_rows.CredentialState,
        account: capture_rows.AccountState,
        password: Secret,
    ) -> tuple[Outcome, str]:
        current = self._current(cred)
        stamp = None if event.pwd_last_set is None else str(event.pwd_last_set)
        now = utcnow()
        if current is not None and _same(current, password):
            self._confirm(
                cred.id,
                stamp,
                cred.secret_version,
                "the vault's password, confirmed by a capture",
                now,
            )
            return "accepted", (
                f"confirmed: the vault's current password (version {cred.secret_version})"
            )
        if current is not None and _when(event) < as_utc(cred.password_changed_at):
            flag_id = self._flag(
                event,
                cred,
                CONFLICT,
                f"changed in the directory at {_when(event):%Y-%m-%d %H:%M:%S} UTC and in the "
                "vault after that: the vault's password wins and is pushed; the captured one "
                "is kept (accept it to use it instead)",
            )
            self._keep_pending(event, cred, password, flag_id)
            queued = self._queue_push(cred, account)
            return "accepted", (
                f"conflict: the vault changed later and wins (flag {flag_id[:8]}); the capture "
                f"is kept pending{queued}"
            )
        version = write_secret_version(
            self.conn,
            self.audit,
            self.actor,
            self.keys,
            cred.id,
            password,
            source="directory",
            reason=captured_reason(self.side, event, self.actor.name),
        )
        self._confirm(cred.id, stamp, version, "captured from the directory", now)
        capture_rows.drop_pending(self.conn, cred.id, self.directory_id)
        return "accepted", f"a new version ({version}) of the credential's password"

    def _drift(
        self,
        event: CaptureEvent,
        cred: capture_rows.CredentialState,
        account: capture_rows.AccountState,
    ) -> tuple[Outcome, str]:
        flag_id = self._flag(
            event,
            cred,
            CHANGED_IN_DIRECTORY,
            "changed in the directory; the vault's password will be pushed back",
        )
        queued = self._queue_push(cred, account)
        return "accepted", f"a drift (flag {flag_id[:8]}){queued}"

    # -- helpers -------------------------------------------------------------------------------
    def _current(self, cred: capture_rows.CredentialState) -> Secret | None:
        if cred.secret_version < 1:
            return None
        found = read_secrets(self.conn, self.keys, cred.client_id, {cred.id: cred.secret_version})
        return found.get(cred.id)

    def _confirm(
        self, cid: str, stamp: str | None, version: int, detail: str, now: dt.datetime
    ) -> None:
        link_rows.confirm(
            self.conn,
            cid,
            self.directory_id,
            stamp=stamp,
            secret_version=version,
            status=IN_SYNC,
            detail=detail,
            now=now,
        )
        flag_rows.close_of(
            self.conn,
            cid,
            self.directory_id,
            status=CHANGED_IN_DIRECTORY,
            by=self.actor.name,
            resolution="captured",
            now=now,
        )

    def _flag(
        self, event: CaptureEvent, cred: capture_rows.CredentialState, status: str, detail: str
    ) -> str:
        return flag_rows.raise_flag(
            self.conn,
            client_id=cred.client_id,
            credential_id=cred.id,
            directory_id=self.directory_id,
            account_id=event.object_guid,
            status=status,
            detail=detail,
            now=utcnow(),
        )

    def _keep_pending(
        self,
        event: CaptureEvent,
        cred: capture_rows.CredentialState,
        password: Secret,
        flag_id: str,
    ) -> None:
        pending_id = new_id()
        key = self.keys.data_key(self.conn, cred.client_id)
        capture_rows.put_pending(
            self.conn,
            capture_rows.PendingRow(
                id=pending_id,
                credential_id=cred.id,
                directory_id=self.directory_id,
                object_guid=event.object_guid,
                pwd_last_set=event.pwd_last_set,
                ciphertext=key.seal_text(pending_id, 0, PENDING_FIELD, password.reveal()),
                forwarder_id=self.forwarder_id,
                dc=event.dc,
                captured_at=_when(event),
                flag_id=flag_id,
            ),
        )

    def _queue_push(
        self, cred: capture_rows.CredentialState, account: capture_rows.AccountState
    ) -> str:
        if not account.link_confirmed:
            return "; not pushed: the link waits for an operator's confirmation"
        push_queue.enqueue(self.conn, cred.id, [self.directory_id], cred.secret_version, utcnow())
        return f"; version {cred.secret_version} queued for a push"

    def _audit_refusal(
        self, event: CaptureEvent, outcome: str, detail: str, credential_id: str | None
    ) -> None:
        details: Mapping[str, object] = {
            "outcome": outcome,
            "detail": detail,
            "object_guid": event.object_guid,
            "pwd_last_set": event.pwd_last_set,
            "directory_id": self.directory_id,
            "credential_id": credential_id,
        }
        self.audit.append(
            self.conn,
            self.actor,
            "capture.event_refused",
            target_type="forwarder",
            target_id=self.forwarder_id,
            client_id=next(iter(self.actor.clients or ()), None),
            details=details,
        )


def _same(a: Secret, b: Secret) -> bool:
    return hmac.compare_digest(a.reveal().encode("utf-8"), b.reveal().encode("utf-8"))
