"""The append-only, hash-chained audit log.

Each entry's hash is ``sha256(prev_hash + "\\n" + canonical_json(entry))``; the newest sequence
number and hash are also kept in ``vault_meta`` (the *head*), and appending locks that row, so
writers are serialised and the chain never forks. The database refuses UPDATE and DELETE on
``audit_log`` (triggers). :meth:`AuditLog.verify` recomputes the chain from the first entry and
compares it with the head, so an edited, removed, inserted or truncated entry is found.

The chain proves the log is intact against anyone who cannot rewrite the whole table *and* the
head; keep the head hash printed by ``credsync audit verify`` somewhere else to anchor it.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from credsync.crypto.hashing import chain_hash
from credsync.storage import Database
from credsync.storage.tables import audit_log, vault_meta
from credsync.vault._time import as_utc, utcnow
from credsync.vault.auth import Actor, Permission
from credsync.vault.models import AuditEntry

__all__ = ["GENESIS_HASH", "AuditLog", "VerifyReport"]

GENESIS_HASH = "0" * 64
_BATCH = 5000


def _canonical(
    seq: int,
    at: dt.datetime,
    actor: str,
    action: str,
    target_type: str,
    target_id: str,
    client_id: str | None,
    details: str,
) -> bytes:
    return json.dumps(
        [seq, as_utc(at).isoformat(), actor, action, target_type, target_id, client_id, details],
        ensure_ascii=False,
        separators=(",", ":"),
    ).encode("utf-8")


def _dump_details(details: Mapping[str, Any] | None) -> str:
    return json.dumps(details or {}, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


@dataclass(frozen=True)
class VerifyReport:
    ok: bool
    entries: int
    head_seq: int
    head_hash: str
    problem: str | None = None
    bad_seq: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "entries": self.entries,
            "head_seq": self.head_seq,
            "head_hash": self.head_hash,
            "problem": self.problem,
            "bad_seq": self.bad_seq,
        }


class AuditLog:
    def __init__(self, db: Database) -> None:
        self._db = db

    def append(
        self,
        conn: Connection,
        actor: Actor,
        action: str,
        *,
        target_type: str,
        target_id: str,
        client_id: str | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> int:
        """Add an entry inside the caller's write transaction; returns its sequence number."""
        head = conn.execute(
            sa.select(vault_meta.c.audit_head_seq, vault_meta.c.audit_head_hash)
            .where(vault_meta.c.id == 1)
            .with_for_update()
        ).one()
        seq = int(head.audit_head_seq) + 1
        at = utcnow()
        text = _dump_details(details)
        digest = chain_hash(
            head.audit_head_hash,
            _canonical(seq, at, actor.name, action, target_type, target_id, client_id, text),
        )
        conn.execute(
            audit_log.insert().values(
                seq=seq,
                at=at,
                actor=actor.name,
                action=action,
                target_type=target_type,
                target_id=target_id,
                client_id=client_id,
                details=text,
                prev_hash=head.audit_head_hash,
                hash=digest,
            )
        )
        conn.execute(
            vault_meta.update()
            .where(vault_meta.c.id == 1)
            .values(audit_head_seq=seq, audit_head_hash=digest)
        )
        return seq

    def list(
        self,
        actor: Actor,
        *,
        action: str | None = None,
        target_id: str | None = None,
        client_id: str | None = None,
        actor_name: str | None = None,
        since: dt.datetime | None = None,
        before_seq: int | None = None,
        limit: int = 100,
    ) -> list[AuditEntry]:
        """Newest first."""
        actor.require(Permission.AUDIT_READ)
        query = sa.select(audit_log).order_by(audit_log.c.seq.desc()).limit(limit)
        if action:
            query = query.where(
                audit_log.c.action.startswith(action.rstrip("*"), autoescape=True)
                if action.endswith("*")
                else audit_log.c.action == action
            )
        if target_id:
            query = query.where(audit_log.c.target_id == target_id)
        if client_id:
            query = query.where(audit_log.c.client_id == client_id)
        if actor_name:
            query = query.where(audit_log.c.actor == actor_name)
        if since:
            query = query.where(audit_log.c.at >= since)
        if before_seq:
            query = query.where(audit_log.c.seq < before_seq)
        with self._db.read() as conn:
            return [_entry(row) for row in conn.execute(query)]

    def verify(self, actor: Actor) -> VerifyReport:
        actor.require(Permission.AUDIT_READ)
        with self._db.read() as conn:
            head = conn.execute(
                sa.select(vault_meta.c.audit_head_seq, vault_meta.c.audit_head_hash)
            ).one()
            expected_seq, previous, count = 1, GENESIS_HASH, 0
            for row in _iter_rows(conn):
                if row.seq != expected_seq:
                    return _broken(count, head, row.seq, f"entry {expected_seq} is missing")
                if row.prev_hash != previous:
                    return _broken(count, head, row.seq, "link to the previous entry is broken")
                payload = _canonical(
                    row.seq,
                    row.at,
                    row.actor,
                    row.action,
                    row.target_type,
                    row.target_id,
                    row.client_id,
                    row.details,
                )
                if chain_hash(previous, payload) != row.hash:
                    return _broken(count, head, row.seq, "entry content does not match its hash")
                previous, expected_seq, count = row.hash, expected_seq + 1, count + 1
            if count != head.audit_head_seq:
                # the first entry missing after a truncation, or the first one past the head
                return _broken(
                    count,
                    head,
                    min(count, head.audit_head_seq) + 1,
                    f"the log ends at entry {count} but the vault head records "
                    f"entry {head.audit_head_seq}",
                )
            if previous != head.audit_head_hash:
                return _broken(count, head, count, "the newest entry is not the vault head")
            return VerifyReport(True, count, head.audit_head_seq, head.audit_head_hash)


def _broken(count: int, head: Any, seq: int, problem: str) -> VerifyReport:
    return VerifyReport(
        False, count, head.audit_head_seq, head.audit_head_hash, f"entry {seq}: {problem}", seq
    )


def _iter_rows(conn: Connection) -> Iterator[Any]:
    last = 0
    while True:
        rows = conn.execute(
            sa.select(audit_log)
            .where(audit_log.c.seq > last)
            .order_by(audit_log.c.seq)
            .limit(_BATCH)
        ).all()
        if not rows:
            return
        yield from rows
        last = rows[-1].seq


def _entry(row: Any) -> AuditEntry:
    return AuditEntry(
        seq=row.seq,
        at=as_utc(row.at),
        actor=row.actor,
        action=row.action,
        target_type=row.target_type,
        target_id=row.target_id,
        client_id=row.client_id,
        details=json.loads(row.details),
        hash=row.hash,
    )
