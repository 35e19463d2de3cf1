"""Applying a verified capture event, inside the transaction that records its batch.

Per event, in this order (each outcome is also the ledger's, with its detail):

1. Its idempotency key (directory, object_guid, pwd_last_set, kvno) already in the ledger:
   ``duplicate``, nothing else done. (A ``rejected`` event is recorded without taking its
   key, so a corrected one may follow.)
2. The account's link held in quarantine by a mass change (:mod:`credsync.sync.quarantine`):
   ``ignored``, nothing applied (a restore pushes the vault's password back; an accept leaves
   the directory's unknown to the vault). ``changed`` events: recorded, ``ignored``.
   ``deleted`` and ``disabled`` ones: the linked credential (if any, and synced) gets an
   ``account_missing`` / ``account_disabled`` flag (``accepted``), which the next run's check
   confirms or closes; else ``ignored``.
3. A ``password`` event: without a ciphertext ``ignored``; a format other than ``openpgp``,
   ``x25519-hkdf-sha256+a256gcm`` and ``rsa-oaep-sha256+a256gcm`` ``rejected``.
4. The account: the credential linked to (this directory, object_guid). None: auto-create
   makes one with the captured password when it found the account in its scope before the
   transaction (``accepted``; :mod:`credsync.vault.capture_auto_create`), else ``unlinked``
   (the ciphertext is dropped undecrypted). Linked but not in the directory's scope at its
   last read (not in its account cache): ``out_of_scope``. A forwarder's events are looked up
   in its own directory only, so an account of another directory is never reached.
5. Newest wins: a pwd_last_set older than one already applied to the account: ``stale``.
6. Decrypted (UTF-16-LE); failing that ``rejected``. A credential auto-create made as a
   shell (no password yet) takes it as its first real one (``accepted``). Otherwise by the
   credential's effective mode
   (its own, else its client's default; a client with directory sync off: ``ignored``):

   - ``two_way``: equal to the vault's current password (compared in constant time): the
     vault's own push came back, the link is confirmed at this pwdLastSet, no new version.
     Else, changed in the directory at or after the vault's current version was made: a new
     version (source ``directory``, by the forwarder), and the link confirmed at it (unless
     it takes the directory over its inbound threshold: ``held``, the link held in quarantine,
     :mod:`credsync.vault.capture_hold`). Else the
     vault changed after the directory did, and the vault wins: its password is queued for a
     push (through a confirmed link only); a capture equal to one of the vault's last few
     versions is the echo of a push since overtaken (nothing more), any other is kept
     pending with a ``conflict`` flag.
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
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from sqlalchemy.engine import Connection

from credsync.connectors import registry
from credsync.crypto.openpgp import CaptureDecryptor
from credsync.storage import capture as capture_rows
from credsync.storage import flags as flag_rows
from credsync.storage import links as link_rows
from credsync.storage import push_queue
from credsync.storage import quarantine as quarantine_rows
from credsync.storage import secrets as secret_rows
from credsync.types import Secret, SyncMode, new_id
from credsync.vault import capture_auto_create as auto_create_hooks
from credsync.vault._time import as_utc, utcnow
from credsync.vault.audit import AuditLog
from credsync.vault.auth import Actor
from credsync.vault.auto_create import AutoCreate
from credsync.vault.capture_auto_create import Scoped
from credsync.vault.capture_batch import FORMATS, CaptureEvent
from credsync.vault.capture_decrypt import Prepared, open_event
from credsync.vault.capture_hold import NEW_VERSION, CaptureHold
from credsync.vault.capture_outcomes import (
    CHANGED_IN_DIRECTORY,
    CONFLICT,
    IN_SYNC,
    PENDING_FIELD,
    EventResult,
    Outcome,
    captured_reason,
    in_step,
    same,
    when,
)
from credsync.vault.capture_state import BatchView
from credsync.vault.keyring import KeyRing
from credsync.vault.secrets import read_secrets, write_secret_version

__all__ = ["Applier"]

_ECHO_VERSIONS = 5  # earlier versions a capture is compared with (an overtaken push's echo)
# Events about the account itself: the flag each opens on its linked credential.
_ACCOUNT_GONE = {
    "deleted": ("account_missing", "the account was deleted in the directory"),
    "disabled": ("account_disabled", "the account was disabled in the directory"),
}


@dataclass
class Applier:
    """Applies one batch's events for one forwarder of one directory (its ``actor``)."""

    conn: Connection
    audit: AuditLog
    keys: KeyRing
    actor: Actor
    view: BatchView  # what it reads, asked once for the batch (and what it knows it changed)
    forwarder_id: str
    directory_id: str
    directory_kind: str
    seq: int
    # The directory's capture key opened (None: it has none), asked for at the first event
    # that needs it: a batch with no password to decrypt never unwraps it.
    decryptors: Callable[[], CaptureDecryptor | None]
    # Events decrypted before the transaction (:func:`prepare`); any other is decrypted here.
    prepared: Prepared = field(default_factory=dict)
    # Auto-create: its service, and the unlinked accounts it found in scope before the
    # transaction (:func:`credsync.vault.capture_auto_create.in_scope`).
    auto_create: AutoCreate | None = None
    auto_scoped: Scoped = field(default_factory=dict)
    hold: CaptureHold | None = None  # the inbound threshold (None: not screened)
    _decryptor: list[CaptureDecryptor | None] = field(default_factory=list)
    _held: list[set[str]] = field(default_factory=list)

    def held(self, object_guid: str) -> bool:
        """Whether the account's link is held in quarantine by a mass change (asked once a
        batch): its events are not applied (:mod:`credsync.sync.quarantine`)."""
        if not self._held:
            held = quarantine_rows.held_for(self.conn, self.directory_id, quarantine_rows.INBOUND)
            self._held.append({a.lower() for a in held})
        return object_guid.lower() in self._held[0]

    @property
    def decryptor(self) -> CaptureDecryptor | None:
        if not self._decryptor:
            self._decryptor.append(self.decryptors())
        return self._decryptor[0]

    @property
    def side(self) -> str:
        return registry.kind_of(self.directory_kind).display_name

    def apply(self, event: CaptureEvent) -> EventResult:
        if self.view.has_event(event.event_key):
            return EventResult(
                event.object_guid, event.pwd_last_set, "duplicate", "already received"
            )
        outcome, detail, credential_id = self._decide(event)
        # A rejected event does not take its idempotency key: a corrected one may follow.
        key = event.event_key if outcome != "rejected" else f"rejected|{new_id()}"
        self.view.record(
            capture_rows.LedgerEvent(
                directory_id=self.directory_id,
                event_key=key,
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
        if event.kind in (*_ACCOUNT_GONE, "password") and self.held(event.object_guid):
            cid = self.view.account(event.object_guid).credential_id
            return "ignored", "the link is held in quarantine (a mass change): not applied", cid
        if event.kind in _ACCOUNT_GONE:
            return self._account_event(event)
        if event.kind != "password":
            return "ignored", f"a {event.kind} event: recorded, nothing to apply", None
        if event.ciphertext is None:
            return "ignored", "a password event without a ciphertext", None
        if event.ciphertext_format not in FORMATS:
            return "rejected", f"unknown ciphertext format (known: {', '.join(FORMATS)})", None
        account = self.view.account(event.object_guid)
        if account.credential_id is None:
            return self._unlinked(event)
        cid = account.credential_id
        if not account.cached:
            return "out_of_scope", "the account is not in the directory's scope", cid
        newest = self.view.newest_applied(event.object_guid)
        if event.pwd_last_set is not None and newest is not None and event.pwd_last_set < newest:
            return "stale", f"a newer change (pwdLastSet {newest}) was already applied", cid
        opened = self.prepared.get(event)
        if opened is None:
            opened = open_event(self.decryptor, event)
        if not isinstance(opened, Secret):
            return "rejected", opened, cid
        password = opened
        made = self._fill_shell(event, cid, password)
        if made is not None:
            return "accepted", made, cid
        outcome, detail = self._by_mode(event, cid, account, password)
        return outcome, detail, cid

    def _fill_shell(self, event: CaptureEvent, cid: str, password: Secret) -> str | None:
        if not self.view.may_be_shell(event.object_guid):
            return None
        why = captured_reason(self.side, event, self.actor.name)
        made = auto_create_hooks.fill_shell(
            self.conn, self.auto_create, self.actor, self.keys, self.directory_id, event,
            password, why,
        )  # fmt: skip
        self.view.shell_filled(event.object_guid)  # filled now, or found filled before
        if made is not None:
            self.view.credential_changed(cid)
        return made

    def _unlinked(self, event: CaptureEvent) -> tuple[Outcome, str, str | None]:
        """No credential is linked to the account: auto-create makes one with the captured
        password when it found the account in its scope (:mod:`.capture_auto_create`)."""
        unlinked = "no credential is linked to the account in this directory"
        account = self.auto_scoped.get(event)
        if account is None or self.auto_create is None:
            return "unlinked", unlinked, None
        opened = self.prepared.get(event)
        if opened is None:
            opened = open_event(self.decryptor, event)
        if not isinstance(opened, Secret):
            return "rejected", opened, None
        why = captured_reason(self.side, event, self.actor.name)
        cid = auto_create_hooks.create_for(
            self.conn, self.auto_create, self.actor, self.keys, self.directory_id, event,
            account, opened, why,
        )  # fmt: skip
        if cid is None:
            return "unlinked", f"{unlinked} (and auto-create does not take it)", None
        self.view.account_changed(event.object_guid)
        return "accepted", f"a new credential ({cid[:8]}) made by auto-create", cid

    def _by_mode(
        self,
        event: CaptureEvent,
        cid: str,
        account: capture_rows.AccountState,
        password: Secret,
    ) -> tuple[Outcome, str]:
        cred = self.view.credential(cid)
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

    def _account_event(self, event: CaptureEvent) -> tuple[Outcome, str, str | None]:
        """An account deleted or disabled: its linked credential flagged (the next run's
        check confirms it, or closes the flag)."""
        cid = self.view.account(event.object_guid).credential_id
        cred = None if cid is None else self.view.credential(cid)
        if cred is None or cred.deleted_at is not None or not cred.directory_sync:
            return "ignored", f"a {event.kind} event: no credential to flag", cid
        if SyncMode(cred.mode) is SyncMode.OFF:
            return "ignored", f"a {event.kind} event: the credential's sync mode is off", cid
        status, words = _ACCOUNT_GONE[event.kind]
        where = f" (reported by DC {event.dc})" if event.dc else ""
        flag_id = self._flag(
            event, cred, status, f"{words} at {when(event):%Y-%m-%d %H:%M:%S} UTC{where}"
        )
        return "accepted", f"flagged {status} (flag {flag_id[:8]})", cid

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
        if current is not None and same(current, password):
            self._confirm(
                event,
                cred.id,
                stamp,
                cred.secret_version,
                "the vault's password, confirmed by a capture",
                now,
            )
            return "accepted", (
                f"confirmed: the vault's current password (version {cred.secret_version})"
            )
        later = when(event) < as_utc(cred.password_changed_at)
        if current is not None and later and not in_step(account, cred, event):
            echo = self._earlier_version(cred, password)
            if echo is not None:  # a push of an earlier version coming back, overtaken
                queued = self._queue_push(cred, account)
                return "accepted", (
                    f"an earlier password of the vault's (version {echo}) came back; the "
                    f"vault's newer one wins{queued}"
                )
            flag_id = self._flag(
                event,
                cred,
                CONFLICT,
                f"changed in the directory at {when(event):%Y-%m-%d %H:%M:%S} UTC and in the "
                "vault after that: the vault's password wins and is pushed; the captured one "
                "is kept (accept it to use it instead)",
            )
            self._keep_pending(event, cred, password, flag_id)
            queued = self._queue_push(cred, account)
            return "accepted", (
                f"conflict: the vault changed later and wins (flag {flag_id[:8]}); the capture "
                f"is kept pending{queued}"
            )
        why = None if self.hold is None else self.hold.reason(event.object_guid)
        if self.hold is not None and why is not None:  # past the inbound threshold
            item = self.hold.hold(event, cred, why)
            self._keep_pending(event, cred, password, None)  # sealed, no flag: the item's
            self._held[0].add(event.object_guid.lower())  # its later events in this batch too
            return "held", f"held in quarantine (item {item[:8]}): {why}"
        version = write_secret_version(
            self.conn,
            self.audit,
            self.actor,
            self.keys,
            cred.id,
            password,
            source="directory",
            reason=captured_reason(self.side, event, self.actor.name),
            unsettled_links=self.view.may_have_unsettled_links(cred.id),
            relay=self.view.may_be_relayed(cred.id),
        )
        self.view.credential_changed(cred.id)
        self.view.links_settled(cred.id)
        self._confirm(event, cred.id, stamp, version, "captured from the directory", now)
        if self.view.may_have_pending(cred.id):
            capture_rows.drop_pending(self.conn, cred.id, self.directory_id)
            self.view.pending_dropped(cred.id)
        return "accepted", f"{NEW_VERSION} ({version}) of the credential's password"

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
        sealed = self.view.current_sealed(cred.id, cred.secret_version)
        if sealed is not None:
            key = self.keys.data_key(self.conn, cred.client_id)
            return key.open_text(cred.id, sealed.version, "password", sealed.ciphertext)
        found = read_secrets(self.conn, self.keys, cred.client_id, {cred.id: cred.secret_version})
        return found.get(cred.id)

    def _earlier_version(self, cred: capture_rows.CredentialState, password: Secret) -> int | None:
        """The earlier of the credential's last few versions ``password`` is, if any."""
        key = self.keys.data_key(self.conn, cred.client_id)
        for row in secret_rows.history(self.conn, cred.id)[1 : 1 + _ECHO_VERSIONS]:
            earlier = key.open_text(cred.id, row.version, "password", row.ciphertext)
            if same(earlier, password):
                return int(row.version)
        return None

    def _confirm(
        self,
        event: CaptureEvent,
        cid: str,
        stamp: str | None,
        version: int,
        detail: str,
        now: dt.datetime,
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
        self.view.link_confirmed(event.object_guid, stamp, version)
        if not self.view.may_have_flag(cid, CHANGED_IN_DIRECTORY):
            return
        flag_rows.close_of(
            self.conn,
            cid,
            self.directory_id,
            status=CHANGED_IN_DIRECTORY,
            by=self.actor.name,
            resolution="captured",
            now=now,
        )
        self.view.flag_closed(cid, CHANGED_IN_DIRECTORY)

    def _flag(
        self, event: CaptureEvent, cred: capture_rows.CredentialState, status: str, detail: str
    ) -> str:
        self.view.flag_opened(cred.id, status)
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
        flag_id: str | None,
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
                captured_at=when(event),
                flag_id=flag_id,
            ),
        )
        self.view.pending_kept(cred.id)

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
