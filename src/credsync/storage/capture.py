"""Capture (``capture_keys``, ``capture_forwarders``, ``capture_nonces``, ``capture_ledger``,
``capture_pending``): their owner.

- Keys: one per directory, its secret part sealed by the master key (:func:`key_of`,
  :func:`add_key`; :func:`wrapped_keys` and :func:`set_wrapped_key` for key rotation).
- Forwarders: public keys only (:func:`add_forwarder`, :func:`forwarder`, :func:`forwarders`,
  :func:`revoke`); a batch accepted moves ``last_seq`` on (:func:`advance`). A remote
  agent's rows (one per directory of it: :func:`agent_forwarder`, :func:`agent_forwarders`,
  :func:`revoke_agent_forwarders`) hold its capture state; it signs with its own key.
- Nonces: seen for a day (:func:`remember_nonce`, :func:`purge_nonces`).
- The ledger: each event once by its idempotency key (:func:`has_event`,
  :func:`record_event`, :func:`record_events`), and the newest password change applied per account
  (:func:`newest_applied`), and the accounts whose captured changes were taken or held in a
  recent window (:func:`changed_since`, what the inbound threshold counts). Never a secret.
- Pending captures: a captured password sealed under its client's data key, one per
  credential and directory (:func:`put_pending`, :func:`pending_of`, :func:`drop_pending`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from credsync.storage._rows import columns_for, record, records, repr_without
from credsync.storage.credentials import effective_mode
from credsync.storage.tables import (
    capture_forwarders,
    capture_keys,
    capture_ledger,
    capture_nonces,
    capture_pending,
    clients,
    credentials,
    directories,
    directory_accounts,
    links,
)

__all__ = [
    "AccountState",
    "CredentialState",
    "ForwarderRow",
    "KeyRow",
    "LedgerEvent",
    "PendingRow",
    "account_state",
    "add_forwarder",
    "add_key",
    "advance",
    "agent_forwarder",
    "agent_forwarders",
    "changed_since",
    "credential_state",
    "drop_pending",
    "forget_directory",
    "forwarder",
    "forwarders",
    "has_event",
    "key_of",
    "newest_applied",
    "nonce_seen",
    "pending_of",
    "pending_pairs",
    "purge_nonces",
    "put_pending",
    "record_event",
    "record_events",
    "remember_nonce",
    "revoke",
    "revoke_agent_forwarders",
    "set_wrapped_key",
    "wrapped_keys",
]


# -- keys ------------------------------------------------------------------------------------------
class KeyRow(NamedTuple):
    directory_id: str
    fingerprint: str
    public_key: str
    wrapped_secret: bytes
    created_at: dt.datetime
    created_by: str

    def __repr__(self) -> str:
        return repr_without(self, ("wrapped_secret",))


def key_of(conn: Connection, directory_id: str) -> KeyRow | None:
    row = conn.execute(
        sa.select(*columns_for(KeyRow, capture_keys)).where(
            capture_keys.c.directory_id == directory_id
        )
    ).first()
    return None if row is None else record(KeyRow, row)


def add_key(conn: Connection, key: KeyRow) -> None:
    conn.execute(capture_keys.insert().values(**key._asdict()))


def wrapped_keys(conn: Connection) -> list[tuple[str, bytes]]:
    """(directory id, wrapped secret) of every capture key, for key rotation."""
    rows = conn.execute(sa.select(capture_keys.c.directory_id, capture_keys.c.wrapped_secret))
    return [(r.directory_id, r.wrapped_secret) for r in rows]


def set_wrapped_key(conn: Connection, directory_id: str, wrapped: bytes) -> None:
    conn.execute(
        capture_keys.update()
        .where(capture_keys.c.directory_id == directory_id)
        .values(wrapped_secret=wrapped)
    )


# -- forwarders ------------------------------------------------------------------------------------
class ForwarderRow(NamedTuple):
    id: str
    directory_id: str
    directory_name: str
    directory_kind: str
    client_id: str
    name: str
    public_key: bytes
    enrolled_at: dt.datetime
    enrolled_by: str
    last_seq: int
    last_seen_at: dt.datetime | None
    revoked_at: dt.datetime | None
    revoked_by: str | None
    remote_agent_id: str | None


_FORWARDERS = sa.select(
    *columns_for(
        ForwarderRow,
        capture_forwarders,
        directory_name=directories.c.name,
        directory_kind=directories.c.kind,
        client_id=directories.c.client_id,
    )
).join(directories, directories.c.id == capture_forwarders.c.directory_id)


def add_forwarder(
    conn: Connection,
    *,
    forwarder_id: str,
    directory_id: str,
    name: str,
    public_key: bytes,
    by: str,
    now: dt.datetime,
    remote_agent_id: str | None = None,
) -> None:
    conn.execute(
        capture_forwarders.insert().values(
            id=forwarder_id,
            directory_id=directory_id,
            name=name,
            public_key=public_key,
            enrolled_at=now,
            enrolled_by=by,
            last_seq=0,
            remote_agent_id=remote_agent_id,
        )
    )


def agent_forwarder(conn: Connection, agent_id: str, directory_id: str) -> ForwarderRow | None:
    """The row holding a remote agent's capture state for one of its directories."""
    row = conn.execute(
        _FORWARDERS.where(
            capture_forwarders.c.remote_agent_id == agent_id,
            capture_forwarders.c.directory_id == directory_id,
        )
    ).first()
    return None if row is None else record(ForwarderRow, row)


def agent_forwarders(conn: Connection, agent_id: str) -> list[ForwarderRow]:
    """A remote agent's capture rows, by directory name."""
    query = _FORWARDERS.where(capture_forwarders.c.remote_agent_id == agent_id).order_by(
        directories.c.name_key
    )
    return records(ForwarderRow, conn.execute(query))


def revoke_agent_forwarders(conn: Connection, agent_id: str, *, by: str, now: dt.datetime) -> int:
    """Revoke every capture row of a remote agent (it was revoked); how many were not yet."""
    done = conn.execute(
        capture_forwarders.update()
        .where(
            capture_forwarders.c.remote_agent_id == agent_id,
            capture_forwarders.c.revoked_at.is_(None),
        )
        .values(revoked_at=now, revoked_by=by)
    )
    return int(done.rowcount or 0)


def forwarder(conn: Connection, forwarder_id: str, *, lock: bool = False) -> ForwarderRow | None:
    """A forwarder by id (``lock``: its row locked until the transaction ends, so that two
    batches of one forwarder are taken one after the other)."""
    query = _FORWARDERS.where(capture_forwarders.c.id == forwarder_id)
    if lock:
        query = query.with_for_update(of=capture_forwarders)
    row = conn.execute(query).first()
    return None if row is None else record(ForwarderRow, row)


def forwarders(
    conn: Connection, *, directory_id: str | None, client_ids: Collection[str] | None
) -> list[ForwarderRow]:
    """Forwarders of one directory (or every one), within ``client_ids`` (None: all), by
    directory name and enrolment."""
    query = _FORWARDERS
    if directory_id is not None:
        query = query.where(capture_forwarders.c.directory_id == directory_id)
    if client_ids is not None:
        query = query.where(directories.c.client_id.in_(sorted(client_ids)))
    query = query.order_by(directories.c.name_key, capture_forwarders.c.enrolled_at)
    return records(ForwarderRow, conn.execute(query))


def revoke(conn: Connection, forwarder_id: str, *, by: str, now: dt.datetime) -> bool:
    """Revoke a forwarder; False when it already was."""
    done = conn.execute(
        capture_forwarders.update()
        .where(capture_forwarders.c.id == forwarder_id, capture_forwarders.c.revoked_at.is_(None))
        .values(revoked_at=now, revoked_by=by)
    )
    return bool(done.rowcount == 1)


def advance(conn: Connection, forwarder_id: str, seq: int, now: dt.datetime) -> bool:
    """Move the forwarder's last accepted sequence number to ``seq`` if it is greater; False
    (nothing written) when it is not."""
    done = conn.execute(
        capture_forwarders.update()
        .where(capture_forwarders.c.id == forwarder_id, capture_forwarders.c.last_seq < seq)
        .values(last_seq=seq, last_seen_at=now)
    )
    return bool(done.rowcount == 1)


# -- nonces ----------------------------------------------------------------------------------------
def remember_nonce(
    conn: Connection, forwarder_id: str, nonce: str, now: dt.datetime, since: dt.datetime
) -> bool:
    """Record ``nonce``; False (nothing written) when the forwarder sent it since ``since``.
    One older than that is forgotten and taken afresh."""
    mine = sa.and_(capture_nonces.c.forwarder_id == forwarder_id, capture_nonces.c.nonce == nonce)
    seen = conn.execute(sa.select(capture_nonces.c.seen_at).where(mine)).first()
    if seen is not None:
        if seen.seen_at.replace(tzinfo=seen.seen_at.tzinfo or dt.UTC) >= since:
            return False
        conn.execute(capture_nonces.delete().where(mine))
    conn.execute(
        capture_nonces.insert().values(forwarder_id=forwarder_id, nonce=nonce, seen_at=now)
    )
    return True


def nonce_seen(conn: Connection, forwarder_id: str, nonce: str, since: dt.datetime) -> bool:
    """Whether the forwarder sent ``nonce`` since ``since`` (read only)."""
    seen = conn.execute(
        sa.select(capture_nonces.c.seen_at).where(
            capture_nonces.c.forwarder_id == forwarder_id, capture_nonces.c.nonce == nonce
        )
    ).first()
    return seen is not None and seen.seen_at.replace(tzinfo=seen.seen_at.tzinfo or dt.UTC) >= since


def purge_nonces(conn: Connection, before: dt.datetime) -> int:
    done = conn.execute(capture_nonces.delete().where(capture_nonces.c.seen_at < before))
    return int(done.rowcount or 0)


# -- the ledger ------------------------------------------------------------------------------------
class LedgerEvent(NamedTuple):
    directory_id: str
    event_key: str
    object_guid: str
    pwd_last_set: int | None
    kvno: int | None
    kind: str
    outcome: str
    detail: str
    forwarder_id: str
    seq: int
    credential_id: str | None
    dc: str | None
    captured_at: dt.datetime | None
    received_at: dt.datetime


def has_event(conn: Connection, directory_id: str, event_key: str) -> bool:
    found = conn.execute(
        sa.select(capture_ledger.c.id).where(
            capture_ledger.c.directory_id == directory_id, capture_ledger.c.event_key == event_key
        )
    ).first()
    return found is not None


def record_event(conn: Connection, event: LedgerEvent) -> None:
    conn.execute(capture_ledger.insert().values(**event._asdict()))


def record_events(conn: Connection, events: Sequence[LedgerEvent]) -> None:
    """Ledger rows in one executemany, in the order given."""
    conn.execute(capture_ledger.insert(), [event._asdict() for event in events])


# Outcomes after which a password change counts as applied to its account (newest wins).
_APPLIED = ("accepted",)


def newest_applied(conn: Connection, directory_id: str, object_guid: str) -> int | None:
    """The greatest pwd_last_set of a password event applied to the account, None for none."""
    value = conn.execute(
        sa.select(sa.func.max(capture_ledger.c.pwd_last_set)).where(
            capture_ledger.c.directory_id == directory_id,
            capture_ledger.c.object_guid == object_guid,
            capture_ledger.c.kind == "password",
            capture_ledger.c.outcome.in_(_APPLIED),
        )
    ).scalar()
    return None if value is None else int(value)


def changed_since(
    conn: Connection, directory_id: str, since: dt.datetime, detail_prefix: str
) -> set[str]:
    """The accounts (object_guid) with a password event received since ``since`` that was
    held, or applied with a detail starting ``detail_prefix`` (a new version)."""
    query = sa.select(capture_ledger.c.object_guid).where(
        capture_ledger.c.directory_id == directory_id,
        capture_ledger.c.kind == "password",
        capture_ledger.c.received_at >= since,
        sa.or_(
            capture_ledger.c.outcome == "held",
            sa.and_(
                capture_ledger.c.outcome == "accepted",
                capture_ledger.c.detail.startswith(detail_prefix, autoescape=True),
            ),
        ),
    )
    return {guid for (guid,) in conn.execute(query.distinct())}


# -- pending captures ----------------------------------------------------------------------------
class PendingRow(NamedTuple):
    id: str
    credential_id: str
    directory_id: str
    object_guid: str
    pwd_last_set: int | None
    ciphertext: bytes
    forwarder_id: str
    dc: str | None
    captured_at: dt.datetime
    flag_id: str | None

    def __repr__(self) -> str:
        return repr_without(self, ("ciphertext",))


def put_pending(conn: Connection, pending: PendingRow) -> None:
    """Keep ``pending``, replacing the credential's earlier one in that directory."""
    drop_pending(conn, pending.credential_id, pending.directory_id)
    conn.execute(capture_pending.insert().values(**pending._asdict()))


def pending_of(conn: Connection, credential_id: str, directory_id: str) -> PendingRow | None:
    row = conn.execute(
        sa.select(*columns_for(PendingRow, capture_pending)).where(
            capture_pending.c.credential_id == credential_id,
            capture_pending.c.directory_id == directory_id,
        )
    ).first()
    return None if row is None else record(PendingRow, row)


def pending_pairs(conn: Connection, pairs: Sequence[tuple[str, str]]) -> set[tuple[str, str]]:
    """Those of ``pairs`` (credential id, directory id) that hold a pending capture (what a
    page of flags offers to accept)."""
    wanted = set(pairs)
    ids = sorted({cid for cid, _ in wanted})
    found: set[tuple[str, str]] = set()
    for start in range(0, len(ids), 500):
        rows = conn.execute(
            sa.select(capture_pending.c.credential_id, capture_pending.c.directory_id).where(
                capture_pending.c.credential_id.in_(ids[start : start + 500])
            )
        )
        found |= {(r.credential_id, r.directory_id) for r in rows} & wanted
    return found


def drop_pending(conn: Connection, credential_id: str, directory_id: str | None = None) -> None:
    """Forget the credential's pending capture (in one directory, or all)."""
    query = capture_pending.delete().where(capture_pending.c.credential_id == credential_id)
    if directory_id is not None:
        query = query.where(capture_pending.c.directory_id == directory_id)
    conn.execute(query)


def forget_directory(conn: Connection, directory_id: str) -> None:
    """A directory being removed: its forwarders, key, ledger and pending captures go."""
    for table in (capture_pending, capture_ledger, capture_forwarders, capture_keys):
        conn.execute(table.delete().where(table.c.directory_id == directory_id))


# -- what applying a capture reads of other tables ---------------------------------------------
class AccountState(NamedTuple):
    """An account of a directory as the vault knows it: the credential linked to it (None:
    none), whether that link is confirmed for pushes, what the link last confirmed, and
    whether the directory's last read had the account in scope (cached)."""

    credential_id: str | None
    link_confirmed: bool
    confirmed_stamp: str | None
    confirmed_secret_version: int | None
    cached: bool


def account_state(conn: Connection, directory_id: str, account_id: str) -> AccountState:
    link = conn.execute(
        sa.select(
            links.c.credential_id,
            links.c.link_confirmed_at,
            links.c.confirmed_stamp,
            links.c.confirmed_secret_version,
        ).where(links.c.directory_id == directory_id, links.c.account_id == account_id)
    ).first()
    cached = conn.execute(
        sa.select(directory_accounts.c.account_id).where(
            directory_accounts.c.directory_id == directory_id,
            directory_accounts.c.account_id == account_id,
        )
    ).first()
    return AccountState(
        credential_id=None if link is None else link.credential_id,
        link_confirmed=link is not None and link.link_confirmed_at is not None,
        confirmed_stamp=None if link is None else link.confirmed_stamp,
        confirmed_secret_version=None if link is None else link.confirmed_secret_version,
        cached=cached is not None,
    )


class CredentialState(NamedTuple):
    id: str
    client_id: str
    title: str
    secret_version: int
    password_changed_at: dt.datetime
    mode: str
    directory_sync: bool
    deleted_at: dt.datetime | None


def credential_state(conn: Connection, credential_id: str) -> CredentialState | None:
    """The credential's client, current secret version and its time, and effective mode."""
    row = conn.execute(
        sa.select(
            *columns_for(
                CredentialState,
                credentials,
                mode=effective_mode(),
                directory_sync=clients.c.directory_sync,
            )
        )
        .join(clients, clients.c.id == credentials.c.client_id)
        .where(credentials.c.id == credential_id)
    ).first()
    return None if row is None else record(CredentialState, row)
