"""What applying one capture batch reads, read once for the whole batch (reads only).

A burst arrives in batches of up to 500 events; asking the database the same few questions
once per event (is this event in the ledger, which credential is linked to this account, what
was applied to it last, what is that credential's state, is a flag open or a capture pending,
is it an auto-created shell) made a statement each, and the statements' cost was most of the
server's work. :func:`prefetch` asks each question once for every event of the batch, with
IN lists, and :class:`Prefetched` answers from memory. The capture pipeline keeps it true as
it writes (:mod:`credsync.vault.capture_state`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from credsync.storage._rows import columns_for, record
from credsync.storage.capture import AccountState, CredentialState
from credsync.storage.credentials import effective_mode
from credsync.storage.links import PASSWORD_UNKNOWN
from credsync.storage.tables import (
    auto_created,
    capture_ledger,
    capture_pending,
    clients,
    credentials,
    directory_accounts,
    flags,
    links,
    relay_pairs,
    secret_versions,
)

__all__ = ["Prefetched", "SealedCurrent", "prefetch"]

_IN_LIST = 500
_T = TypeVar("_T")


def _chunks(items: Sequence[_T]) -> Iterator[Sequence[_T]]:
    for start in range(0, len(items), _IN_LIST):
        yield items[start : start + _IN_LIST]


class SealedCurrent(NamedTuple):
    """A credential's current password as stored (sealed under its client's data key)."""

    credential_id: str
    version: int
    ciphertext: bytes

    def __repr__(self) -> str:
        return f"SealedCurrent({self.credential_id!r}, {self.version})"


@dataclass
class Prefetched:
    """One batch's answers, for one directory (see the module docstring)."""

    directory_id: str
    seen: set[str] = field(default_factory=set)  # event keys already in the ledger
    accounts: dict[str, AccountState] = field(default_factory=dict)  # by object_guid
    newest: dict[str, int] = field(default_factory=dict)  # object_guid -> pwd_last_set
    credentials: dict[str, CredentialState] = field(default_factory=dict)
    current: dict[str, SealedCurrent] = field(default_factory=dict)  # by credential id
    open_flags: set[tuple[str, str]] = field(default_factory=set)  # (credential id, status)
    pending: set[str] = field(default_factory=set)  # credential ids with a pending capture
    shells: set[str] = field(default_factory=set)  # account ids auto-created as shells
    full: bool = True  # newest, shells and the credentials asked too (else accounts only)
    guids: frozenset[str] = frozenset()  # the accounts asked about
    flag_statuses: frozenset[str] = frozenset()  # the statuses open_flags was asked for
    credential_ids: frozenset[str] = frozenset()  # the credentials asked about
    # credentials with a link (any directory) a new password unsettles: an accepted
    # directory password, or one unknown (see links.clear_accepted)
    unsettled: set[str] = field(default_factory=set)
    relayed: set[str] = field(default_factory=set)  # credentials a relay pair carries

    def account(self, guid: str) -> AccountState | None:
        """The account's state, None when not known (ask the database)."""
        return self.accounts.get(guid)

    def answers(self, guid: str) -> bool:
        """Whether the newest change applied to the account and whether it is a shell were
        asked (a full prefetch, an account of the batch)."""
        return self.full and guid in self.guids


def prefetch(
    conn: Connection,
    directory_id: str,
    event_keys: Sequence[str],
    guids: Sequence[str],
    *,
    flag_statuses: Sequence[str] = (),
    full: bool = True,
) -> Prefetched:
    """Everything :class:`Prefetched` holds for these events and accounts; with ``full``
    false only the ledger's keys and the accounts (what deciding what to decrypt needs)."""
    done = Prefetched(
        directory_id,
        full=full,
        guids=frozenset(guids),
        flag_statuses=frozenset(flag_statuses),
    )
    keys, accounts = sorted(set(event_keys)), sorted(set(guids))
    for part in _chunks(keys):
        done.seen.update(
            conn.execute(
                sa.select(capture_ledger.c.event_key).where(
                    capture_ledger.c.directory_id == directory_id,
                    capture_ledger.c.event_key.in_(part),
                )
            ).scalars()
        )
    cached: set[str] = set()
    linked: dict[str, Any] = {}
    for part in _chunks(accounts):
        cached.update(
            conn.execute(
                sa.select(directory_accounts.c.account_id).where(
                    directory_accounts.c.directory_id == directory_id,
                    directory_accounts.c.account_id.in_(part),
                )
            ).scalars()
        )
        for row in conn.execute(
            sa.select(
                links.c.account_id,
                links.c.credential_id,
                links.c.link_confirmed_at,
                links.c.confirmed_stamp,
                links.c.confirmed_secret_version,
            ).where(links.c.directory_id == directory_id, links.c.account_id.in_(part))
        ):
            linked[row.account_id] = row
        if not full:
            continue
        done.newest.update(
            (str(guid), int(value))
            for guid, value in conn.execute(
                sa.select(capture_ledger.c.object_guid, sa.func.max(capture_ledger.c.pwd_last_set))
                .where(
                    capture_ledger.c.directory_id == directory_id,
                    capture_ledger.c.object_guid.in_(part),
                    capture_ledger.c.kind == "password",
                    capture_ledger.c.outcome == "accepted",
                )
                .group_by(capture_ledger.c.object_guid)
            )
            if value is not None
        )
        done.shells.update(
            conn.execute(
                sa.select(auto_created.c.account_id).where(
                    auto_created.c.directory_id == directory_id,
                    auto_created.c.account_id.in_(part),
                    auto_created.c.shell_version.is_not(None),
                )
            ).scalars()
        )
    for guid in accounts:
        link = linked.get(guid)
        done.accounts[guid] = AccountState(
            credential_id=None if link is None else link.credential_id,
            link_confirmed=link is not None and link.link_confirmed_at is not None,
            confirmed_stamp=None if link is None else link.confirmed_stamp,
            confirmed_secret_version=None if link is None else link.confirmed_secret_version,
            cached=guid in cached,
        )
    if full:
        ids = sorted({link.credential_id for link in linked.values()})
        done.credential_ids = frozenset(ids)
        _credentials(conn, done, ids, flag_statuses)
    return done


def _credentials(
    conn: Connection, done: Prefetched, ids: list[str], flag_statuses: Sequence[str]
) -> None:
    state = columns_for(
        CredentialState, credentials, mode=effective_mode(), directory_sync=clients.c.directory_sync
    )
    for part in _chunks(ids):
        for row in conn.execute(
            sa.select(*state)
            .join(clients, clients.c.id == credentials.c.client_id)
            .where(credentials.c.id.in_(part))
        ):
            done.credentials[row.id] = record(CredentialState, row)
        for cid, version, ciphertext in conn.execute(
            sa.select(
                secret_versions.c.credential_id,
                secret_versions.c.version,
                secret_versions.c.ciphertext,
            )
            .join(
                credentials,
                sa.and_(
                    credentials.c.id == secret_versions.c.credential_id,
                    credentials.c.secret_version == secret_versions.c.version,
                ),
            )
            .where(secret_versions.c.credential_id.in_(part))
        ):
            done.current[cid] = SealedCurrent(cid, int(version), bytes(ciphertext))
        if flag_statuses:
            done.open_flags.update(
                (row.credential_id, row.status)
                for row in conn.execute(
                    sa.select(flags.c.credential_id, flags.c.status).where(
                        flags.c.directory_id == done.directory_id,
                        flags.c.credential_id.in_(part),
                        flags.c.status.in_(list(flag_statuses)),
                        flags.c.resolved_at.is_(None),
                    )
                )
            )
        done.unsettled.update(
            conn.execute(
                sa.select(links.c.credential_id).where(
                    links.c.credential_id.in_(part),
                    sa.or_(links.c.status == PASSWORD_UNKNOWN, links.c.accepted_stamp.is_not(None)),
                )
            ).scalars()
        )
        done.relayed.update(
            conn.execute(
                sa.select(relay_pairs.c.source_credential_id).where(
                    relay_pairs.c.source_credential_id.in_(part)
                )
            ).scalars()
        )
        done.pending.update(
            conn.execute(
                sa.select(capture_pending.c.credential_id).where(
                    capture_pending.c.directory_id == done.directory_id,
                    capture_pending.c.credential_id.in_(part),
                )
            ).scalars()
        )
