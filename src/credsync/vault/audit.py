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

import contextlib
import dataclasses
import datetime as dt
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Connection
from typing_extensions import TypedDict

from credsync.crypto.hashing import chain_hash
from credsync.errors import InvalidInput
from credsync.storage import Database, meta
from credsync.storage import audit as audit_rows
from credsync.storage.audit import AuditRow
from credsync.vault._time import as_utc, utcnow
from credsync.vault.auth import Actor, Permission
from credsync.vault.models import AuditEntry

__all__ = ["GENESIS_HASH", "AuditLog", "VerifyReport", "VerifyReportJson", "time_window"]

GENESIS_HASH = "0" * 64


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


class VerifyReportJson(TypedDict):
    ok: bool
    entries: int
    head_seq: int
    head_hash: str
    """Keep it somewhere else to anchor the chain."""
    problem: str | None
    """What is wrong, and with which entry (null: the chain is intact)."""
    bad_seq: int | None
    """The entry where the chain breaks (null: it is intact)."""


@dataclass(frozen=True)
class VerifyReport:
    ok: bool
    entries: int
    head_seq: int
    head_hash: str
    problem: str | None = None
    bad_seq: int | None = None

    def to_json(self) -> VerifyReportJson:
        return VerifyReportJson(
            ok=self.ok,
            entries=self.entries,
            head_seq=self.head_seq,
            head_hash=self.head_hash,
            problem=self.problem,
            bad_seq=self.bad_seq,
        )


@dataclass
class _Batch:
    """Entries appended on one connection inside :meth:`AuditLog.batched`, not written yet."""

    head: meta.AuditHead | None = None
    rows: list[AuditRow] = field(default_factory=list)


# id(connection) -> its batch, shared by every AuditLog: whichever service appends on a
# connection inside a batch joins it (one chain per transaction).
_BATCHES: dict[int, _Batch] = {}


class AuditLog:
    def __init__(self, db: Database) -> None:
        self._db = db

    @contextlib.contextmanager
    def batched(self, conn: Connection) -> Iterator[None]:
        """Entries appended on ``conn`` inside are written together when it ends: the head
        locked once, one INSERT of many rows, the head set once (a capture batch of hundreds
        of password changes appends an entry each). The same chain, the same sequence numbers
        as one append at a time; nothing is written if the block raises (its transaction is
        rolled back anyway). Not nested."""
        key = id(conn)
        if key in _BATCHES:
            raise RuntimeError("audit batches do not nest")
        batch = _BATCHES[key] = _Batch()
        try:
            yield
            if batch.rows:
                assert batch.head is not None  # noqa: S101 - set with the first row
                audit_rows.append_many(conn, batch.rows)
                meta.set_audit_head(conn, batch.head)
        finally:
            del _BATCHES[key]

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
        batch = _BATCHES.get(id(conn))
        if batch is None:
            head = meta.lock_audit_head(conn)
        else:
            head = batch.head = batch.head or meta.lock_audit_head(conn)
        seq = head.seq + 1
        at = utcnow()
        text = _dump_details(details)
        digest = chain_hash(
            head.hash,
            _canonical(seq, at, actor.name, action, target_type, target_id, client_id, text),
        )
        row = AuditRow(
            seq=seq,
            at=at,
            actor=actor.name,
            action=action,
            target_type=target_type,
            target_id=target_id,
            client_id=client_id,
            details=text,
            prev_hash=head.hash,
            hash=digest,
        )
        if batch is not None:
            batch.rows.append(row)
            batch.head = meta.AuditHead(seq, digest)
            return seq
        audit_rows.append(conn, row)
        meta.set_audit_head(conn, meta.AuditHead(seq, digest))
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
        until: dt.datetime | None = None,
        before_seq: int | None = None,
        limit: int = 100,
    ) -> list[AuditEntry]:
        """Newest first, from ``since`` (included) to ``until`` (left out; see
        :func:`time_window`), each with the names of its target and client as they are now
        (:func:`_named`). An actor limited to some clients reads the entries of those clients
        and the entries of no client they made themselves."""
        actor.require(Permission.AUDIT_READ)
        with self._db.read() as conn:
            rows = audit_rows.page(
                conn,
                action=action,
                target_id=target_id,
                client_id=client_id,
                actor=actor_name,
                since=since,
                until=until,
                before_seq=before_seq,
                limit=limit,
                within_clients=None if actor.clients is None else (actor.clients, actor.name),
            )
            return _named(conn, actor, [_entry(row) for row in rows])

    def verify(self, actor: Actor) -> VerifyReport:
        actor.require(Permission.AUDIT_READ)
        with self._db.read() as conn:
            head = meta.audit_head(conn)
            expected_seq, previous, count = 1, GENESIS_HASH, 0
            for row in audit_rows.entries(conn):
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
            if count != head.seq:
                # the first entry missing after a truncation, or the first one past the head
                return _broken(
                    count,
                    head,
                    min(count, head.seq) + 1,
                    f"the log ends at entry {count} but the vault head records entry {head.seq}",
                )
            if previous != head.hash:
                return _broken(count, head, count, "the newest entry is not the vault head")
            return VerifyReport(True, count, head.seq, head.hash)


def _broken(count: int, head: meta.AuditHead, seq: int, problem: str) -> VerifyReport:
    return VerifyReport(False, count, head.seq, head.hash, f"entry {seq}: {problem}", seq)


def _day_or_time(value: str, field: str) -> tuple[dt.datetime, bool]:
    """``value`` as a UTC time, and whether it was a day (``2026-03-01``) rather than a time."""
    text = value.strip()
    try:
        if len(text) == 10:
            day = dt.date.fromisoformat(text)
            return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC), True
        return as_utc(dt.datetime.fromisoformat(text.replace("Z", "+00:00"))), False
    except ValueError:
        raise InvalidInput(
            f"{field} {value!r} is not a day (2026-03-01) or a time (2026-03-01T14:30:00Z)",
            field=field,
        ) from None


def time_window(
    since: str | None, until: str | None
) -> tuple[dt.datetime | None, dt.datetime | None]:
    """The times an audit list goes from (included) and to (left out), from a day
    (``2026-03-01``) or a time in ISO 8601 (UTC when it names no zone) for each. A day
    ``since`` starts at its first moment; a day ``until`` includes the whole day."""
    start = _day_or_time(since, "since")[0] if since else None
    end = None
    if until:
        end, day = _day_or_time(until, "until")
        if day:
            end += dt.timedelta(days=1)
    if start is not None and end is not None and end <= start:
        raise InvalidInput("until must be later than since", field=("since", "until"))
    return start, end


def _named(conn: Connection, actor: Actor, entries: Sequence[AuditEntry]) -> list[AuditEntry]:
    """``entries`` with the names of their targets and clients, looked up in one query per
    kind of target: what the reader may see (vault records with vault.read, directory_admin
    credentials with directory_admin.use, tokens with admin; operators always, as entries
    name them anyway); nothing for what is gone."""
    readable = {"operator"}
    if actor.can(Permission.VAULT_READ):
        readable |= {"client", "credential", "directory", "folder", "group", "person"}
    if actor.can(Permission.ADMIN):
        readable.add("token")
    vault_records = {"client", "credential", "directory", "folder", "group", "person"}

    def named(e: AuditEntry) -> bool:
        # For a reader limited to some clients, a vault record is named only in an entry
        # of one of them (an entry of theirs of no client may name another client's record).
        if e.target_type not in readable:
            return False
        return e.target_type not in vault_records or actor.sees(e.client_id)

    wanted: dict[str, set[str]] = {}
    for e in entries:
        if named(e):
            wanted.setdefault(e.target_type, set()).add(e.target_id)
        if e.client_id and "client" in readable:
            wanted.setdefault("client", set()).add(e.client_id)
    found = audit_rows.names(
        conn, wanted, directory_admin=actor.can(Permission.DIRECTORY_ADMIN_USE)
    )
    return [
        dataclasses.replace(
            e,
            target_name=found.get((e.target_type, e.target_id)) if named(e) else None,
            client_name=found.get(("client", e.client_id)) if e.client_id else None,
        )
        for e in entries
    ]


def _entry(row: AuditRow) -> AuditEntry:
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
