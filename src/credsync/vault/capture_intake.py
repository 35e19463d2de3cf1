"""The capture endpoint's rules: a forwarder's signed batch checked, then its events applied
(:mod:`credsync.vault.capture_apply`), all in one transaction; and an operator's acceptance
of a captured password kept pending.

The checks, in this order (README: Two-way sync and capture), each refusal audited as
``capture.denied`` with the check that failed and never a secret:

1. the forwarder is enrolled and not revoked, the ``Credsync-Signature`` verifies over the
   path and the raw body, and the body names the path's forwarder: else
   :class:`~credsync.errors.CaptureUnauthenticated`;
2. the body is a well-formed batch: else InvalidInput naming the field (only after the
   signature: an unsigned request learns nothing);
3. ``sent_at`` within :data:`MAX_SKEW` of the server's clock: else CaptureStale;
4. the nonce not sent by the forwarder in the last :data:`NONCE_TTL`: else CaptureReplayed;
5. ``seq`` greater than the forwarder's last accepted one: else CaptureSequence (with
   ``last_seq``, so an honest forwarder that lost its state goes on from the one after).

A batch accepted is durable when the answer leaves: the nonce, the new ``last_seq``, the
ledger and what the events changed are committed together (``capture.received`` audits the
batch with its counts). A mass password reset at the DC is held, not applied, by the same
inbound threshold as a run's (:mod:`credsync.vault.capture_hold`): ``held`` is an outcome
like the others, durably recorded.
"""

from __future__ import annotations

import collections
import datetime as dt
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from sqlalchemy.engine import Connection
from typing_extensions import TypedDict

from credsync import telemetry
from credsync.errors import (
    CaptureReplayed,
    CaptureSequence,
    CaptureStale,
    CaptureUnauthenticated,
    InvalidInput,
    NotFound,
)
from credsync.storage import Database
from credsync.storage import capture as capture_rows
from credsync.storage import links as link_rows
from credsync.types import Secret
from credsync.vault._time import utcnow
from credsync.vault.audit import AuditLog
from credsync.vault.auth import Actor, Permission
from credsync.vault.auto_create import AutoCreate
from credsync.vault.capture import (
    Capture,
    authenticate,
    capture_path,
    deny,
    forwarder_actor,
)
from credsync.vault.capture_agent import AgentCaptures
from credsync.vault.capture_apply import Applier
from credsync.vault.capture_auto_create import Scoped, in_scope
from credsync.vault.capture_batch import CaptureBatch, body_forwarder_id, parse_batch
from credsync.vault.capture_decrypt import Prepared, needs_decrypting, prepare
from credsync.vault.capture_hold import CaptureHold
from credsync.vault.capture_outcomes import (
    CHANGED_IN_DIRECTORY,
    PENDING_FIELD,
    EventResult,
    EventResultJson,
)
from credsync.vault.capture_state import BatchView
from credsync.vault.flags import Flag, Flags, close_flag, find_flag_row
from credsync.vault.keyring import KeyRing
from credsync.vault.secrets import write_secret_version

__all__ = [
    "MAX_SKEW",
    "NONCE_TTL",
    "Accepted",
    "AcceptedJson",
    "BatchResult",
    "BatchResultJson",
    "CaptureIntake",
]

MAX_SKEW = dt.timedelta(seconds=300)
NONCE_TTL = dt.timedelta(hours=24)


def _sequence(seq: int, last: int) -> CaptureSequence:
    return CaptureSequence(
        f"seq {seq} is not greater than the last accepted ({last}): go on from {last + 1}",
        last_seq=last,
    )


class _Refused(Exception):
    """A batch refused inside its transaction (rolled back), then audited and raised."""

    def __init__(self, check: str, error: Exception) -> None:
        super().__init__(check)
        self.check, self.error = check, error


class BatchResultJson(TypedDict):
    seq: int
    results: list[EventResultJson]


@dataclass(frozen=True)
class BatchResult:
    seq: int
    results: tuple[EventResult, ...]

    def to_json(self) -> BatchResultJson:
        return {"seq": self.seq, "results": [r.to_json() for r in self.results]}


class AcceptedJson(TypedDict):
    flag_id: str
    """As given (an id, or 8+ characters of one)."""
    outcome: Literal["accepted", "refused"]
    detail: str
    secret_version: int | None
    """The credential's new version (null: refused)."""


@dataclass(frozen=True)
class Accepted:
    flag_id: str
    outcome: Literal["accepted", "refused"]
    detail: str
    secret_version: int | None = None

    def to_json(self) -> AcceptedJson:
        return {
            "flag_id": self.flag_id,
            "outcome": self.outcome,
            "detail": self.detail,
            "secret_version": self.secret_version,
        }


def _view(
    conn: Connection, directory_id: str, batch: CaptureBatch, *, full: bool = True
) -> BatchView:
    """What applying the batch reads, asked once (:mod:`credsync.vault.capture_state`);
    not ``full``: what deciding which events to decrypt reads."""
    return BatchView.of(
        conn,
        directory_id,
        [event.event_key for event in batch.events],
        [event.object_guid for event in batch.events],
        flag_statuses=(CHANGED_IN_DIRECTORY,),
        full=full,
    )


class CaptureIntake:
    def __init__(
        self, db: Database, audit: AuditLog, flags: Flags, auto_create: AutoCreate | None = None
    ) -> None:
        self._db = db
        self._audit = audit
        self._flags = flags
        self._auto_create = auto_create

    def receive(
        self, forwarder_id: str, signature: str | None, body: bytes, keys: KeyRing
    ) -> BatchResult:
        """Check and apply one batch posted to ``/api/v1/agents/{forwarder_id}/captures``."""
        authenticate(
            self._db, self._audit, forwarder_id, signature, capture_path(forwarder_id), body
        )
        return self._receive(forwarder_id, forwarder_id, body, keys)

    def receive_from_agent(
        self,
        agent_id: str,
        directory: str,
        signature: str | None,
        when: str | None,
        body: bytes,
        keys: KeyRing,
    ) -> BatchResult:
        """Check and apply one batch a remote agent posted for one of its directories
        (:mod:`credsync.vault.capture_agent`): its body's ``forwarder_id`` is the agent's id;
        then the same checks as a forwarder's, on the agent's capture row."""
        row = AgentCaptures(self._db, self._audit).forwarder(
            agent_id, directory, signature, when, body
        )
        return self._receive(row.id, agent_id, body, keys)

    def _receive(
        self, forwarder_id: str, sender_id: str, body: bytes, keys: KeyRing
    ) -> BatchResult:
        """The checks after authentication (``sender_id``: what the body must name), then
        the batch applied on the forwarder's row."""
        named = body_forwarder_id(body)  # InvalidInput (400) for a body that is no JSON
        if named is not None and named != sender_id:
            reason = "the body names another forwarder than the path"
            deny(self._db, self._audit, forwarder_id, "forwarder_id", reason)
            raise CaptureUnauthenticated(f"{reason}: the request is not authenticated")
        batch = parse_batch(body)
        now = utcnow()
        if abs(now - batch.sent_at) > MAX_SKEW:
            reason = (
                f"sent_at {batch.sent_at.isoformat()} is more than 300 s from the server's "
                f"clock ({now.isoformat()})"
            )
            deny(self._db, self._audit, forwarder_id, "sent_at", reason, seq=batch.seq)
            raise CaptureStale(
                "sent_at is more than 300 s from the server's clock: check the forwarder "
                "host's clock (NTP)"
            )
        started = time.perf_counter()
        try:
            # Decrypted first, outside the write transaction (the slow part with an RSA key,
            # ~10 ms a message), once the batch is known to be no replay; checked again below.
            prepared, scoped = self._prepare(forwarder_id, batch, keys, now)
            with self._db.write() as conn:
                row = self._admit(conn, forwarder_id, batch, now)
                results = self._apply(conn, row, batch, keys, prepared, scoped)
        except _Refused as refused:
            deny(
                self._db,
                self._audit,
                forwarder_id,
                refused.check,
                str(refused.error),
                seq=batch.seq,
            )
            raise refused.error from None
        events = telemetry.events()
        events.capture_seconds.observe(time.perf_counter() - started)
        for result in results:  # committed: counted
            events.captures.labels(result.outcome).inc()
        return BatchResult(batch.seq, tuple(results))

    def _prepare(
        self, forwarder_id: str, batch: CaptureBatch, keys: KeyRing, now: dt.datetime
    ) -> tuple[Prepared, Scoped]:
        """The plaintexts of the batch's password events that will be applied (not already
        received, of a linked account, or of an unlinked one auto-create found in its scope:
        those accounts too), each decrypted or the reason it can't be."""
        with self._db.read() as conn:
            self._refusal(conn, forwarder_id, batch, now)
            row = capture_rows.forwarder(conn, forwarder_id)
            assert row is not None  # noqa: S101 - _refusal refused it otherwise
            view = _view(conn, row.directory_id, batch, full=False)
            wanted = [e for e in batch.events if needs_decrypting(view, e)]
            scoped = in_scope(view, self._auto_create, forwarder_actor(row), batch.events)
            wanted += [e for e in scoped if e not in wanted]
            decryptor = Capture.decryptor(conn, keys, row.directory_id) if wanted else None
        return prepare(decryptor, wanted), scoped

    @staticmethod
    def _refusal(
        conn: Connection, forwarder_id: str, batch: CaptureBatch, now: dt.datetime
    ) -> None:
        """Raise the refusal the batch's nonce or seq will meet, if any (read only)."""
        row = capture_rows.forwarder(conn, forwarder_id)
        if row is None or row.revoked_at is not None:
            raise _Refused("revoked", CaptureUnauthenticated("the forwarder is revoked"))
        if capture_rows.nonce_seen(conn, forwarder_id, batch.nonce, now - NONCE_TTL):
            raise _Refused("nonce", CaptureReplayed("this nonce was already used: a replay"))
        if batch.seq <= row.last_seq:
            raise _Refused("seq", _sequence(batch.seq, int(row.last_seq)))

    @staticmethod
    def _admit(
        conn: Connection, forwarder_id: str, batch: CaptureBatch, now: dt.datetime
    ) -> capture_rows.ForwarderRow:
        """The forwarder's row, locked, with the batch's nonce and seq recorded; a refusal
        (raised inside the transaction, so nothing of it is kept) otherwise."""
        row = capture_rows.forwarder(conn, forwarder_id, lock=True)
        if row is None or row.revoked_at is not None:
            raise _Refused("revoked", CaptureUnauthenticated("the forwarder is revoked"))
        if not capture_rows.remember_nonce(conn, forwarder_id, batch.nonce, now, now - NONCE_TTL):
            raise _Refused("nonce", CaptureReplayed("this nonce was already used: a replay"))
        if not capture_rows.advance(conn, forwarder_id, batch.seq, now):
            raise _Refused("seq", _sequence(batch.seq, int(row.last_seq)))
        return row

    def _apply(
        self,
        conn: Connection,
        row: capture_rows.ForwarderRow,
        batch: CaptureBatch,
        keys: KeyRing,
        prepared: Prepared,
        scoped: Scoped,
    ) -> list[EventResult]:
        actor = forwarder_actor(row)
        view = _view(conn, row.directory_id, batch)
        hold = CaptureHold(conn, row.directory_id)
        applier = Applier(
            conn=conn,
            audit=self._audit,
            keys=keys,
            actor=actor,
            view=view,
            forwarder_id=row.id,
            directory_id=row.directory_id,
            directory_kind=row.directory_kind,
            seq=batch.seq,
            decryptors=lambda: Capture.decryptor(conn, keys, row.directory_id),
            prepared=prepared,
            auto_create=self._auto_create,
            auto_scoped=scoped,
            hold=hold,
        )
        with self._audit.batched(conn):
            results = [applier.apply(event) for event in batch.events]
            view.flush()
            hold.audit(self._audit, actor, row.client_id, row.id, batch.seq)
        capture_rows.purge_nonces(conn, utcnow() - NONCE_TTL)
        counts = collections.Counter(r.outcome for r in results)
        self._audit.append(
            conn,
            actor,
            "capture.received",
            target_type="forwarder",
            target_id=row.id,
            client_id=row.client_id,
            details={"seq": batch.seq, "events": len(results), "outcomes": dict(counts)},
        )
        return results

    # -- an operator accepts a pending capture ------------------------------------------------
    def accept_many(self, actor: Actor, keys: KeyRing, flag_refs: Sequence[str]) -> list[Accepted]:
        """:meth:`accept` for each flag, in order: one that can't be (no such flag, already
        resolved, nothing captured waiting) is ``refused`` with the reason, and the others go
        on. The permissions are asked first, once."""
        actor.require(Permission.VAULT_READ, Permission.VAULT_WRITE)
        done: list[Accepted] = []
        for ref in flag_refs:
            try:
                flag = self.accept(actor, keys, ref)
            except (NotFound, InvalidInput) as refused:
                done.append(Accepted(ref, "refused", str(refused)))
                continue
            version = self._version_of(flag.credential_id)
            done.append(Accepted(ref, "accepted", "the captured password is current now", version))
        return done

    def _version_of(self, credential_id: str) -> int | None:
        with self._db.read() as conn:
            state = capture_rows.credential_state(conn, credential_id)
        return None if state is None else int(state.secret_version)

    def accept(self, actor: Actor, keys: KeyRing, flag_ref: str) -> Flag:
        """Make the captured password a flag is about (report mode, or a conflict the vault
        won) the credential's current password (source ``directory``) and close the flag as
        ``accepted_capture``. Needs vault.read and vault.write (what setting a password
        needs); the flag's client within the operator's client access."""
        actor.require(Permission.VAULT_READ, Permission.VAULT_WRITE)
        now = utcnow()
        with self._db.write() as conn:
            flag = find_flag_row(conn, actor, flag_ref)
            if flag.resolved_at is not None:
                raise InvalidInput(f"flag {flag.id} is already resolved ({flag.resolution})")
            pending = capture_rows.pending_of(conn, flag.credential_id, flag.directory_id)
            if pending is None or pending.flag_id is None:  # None: held in quarantine
                raise InvalidInput(
                    f"flag {flag.id[:8]} has no captured password waiting: nothing to accept"
                )
            key = keys.data_key(conn, flag.client_id)
            password: Secret = key.open_text(pending.id, 0, PENDING_FIELD, pending.ciphertext)
            when = pending.captured_at.strftime("%Y-%m-%d %H:%M:%S")
            version = write_secret_version(
                conn,
                self._audit,
                actor,
                keys,
                flag.credential_id,
                password,
                source="directory",
                reason=f"changed in {flag.directory_name} by a user or admin at {when} UTC, "
                f"captured; accepted by {actor.name} (flag {flag.id[:8]})",
            )
            capture_rows.drop_pending(conn, flag.credential_id, flag.directory_id)
            stamp = None if pending.pwd_last_set is None else str(pending.pwd_last_set)
            link_rows.confirm(
                conn,
                flag.credential_id,
                flag.directory_id,
                stamp=stamp,
                secret_version=version,
                status="in_sync",
                detail=f"captured password accepted by {actor.name}",
                now=now,
            )
            close_flag(conn, flag.id, actor, "accepted_capture", now)
            self._audit.append(
                conn,
                actor,
                "capture.accepted",
                target_type="credential",
                target_id=flag.credential_id,
                client_id=flag.client_id,
                details={
                    "flag": flag.id,
                    "directory": flag.directory_name,
                    "secret_version": version,
                    "was": flag.status,
                },
            )
        return self._flags.get(actor, flag.id)
