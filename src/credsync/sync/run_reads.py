"""What a run reads before it plans: the vault's side (its credentials, their links, the
cached accounts) and the directory's (everything, the changes since the cursor, or a few
linked accounts), for :mod:`credsync.sync.engine`.

The two sides need nothing of each other until the plan, so the engine reads them at the same
time (the vault's in a worker thread): an incremental read then gets the cached accounts of
the credentials it concerns put under its changes (:mod:`credsync.sync.incremental`, through
:func:`with_cached`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from credsync.connectors.base import Account, Capability, ChangeSet, Connector
from credsync.errors import ConnectorError
from credsync.storage.database import Database
from credsync.sync import store
from credsync.sync.executor import status_of_error
from credsync.sync.model import CredentialState, LinkState, Status
from credsync.sync.streamed import Read, StreamedPass
from credsync.vault.directories import Directory

__all__ = ["Loaded", "load", "read_directory", "read_linked", "read_streamed", "with_cached"]


Loaded = tuple[list[CredentialState], dict[str, LinkState], dict[str, Account]]


def load(db: Database, directory: Directory, only: Sequence[str] | None) -> Loaded:
    """What a run plans over from the vault: its credentials (``only``: these), their links,
    and for ``only`` the cached accounts an unlinked one may match (none otherwise: an
    incremental read gets the cached accounts of the credentials it concerns from
    :func:`credsync.sync.incremental.narrow`)."""
    with db.read() as conn:
        if only is not None:  # a few queued pushes: read just what they need
            creds = store.sync_credentials(conn, directory.client_id, ids=only)
            links = store.load_links(conn, directory.id, ids=only)
            if any(c.id not in links for c in creds):
                # Linking needs every link (to see conflicts) and the accounts by name.
                links = store.load_links(conn, directory.id)
                return creds, links, store.load_accounts_for(conn, directory.id, creds, links)
            return creds, links, {}
        creds = store.sync_credentials(conn, directory.client_id)
        return creds, store.load_links(conn, directory.id), {}


async def read_directory(connector: Connector, directory: Directory, kind: str) -> Read:
    """What the directory says: everything (a full read), or the changes since the cursor,
    whose ``accounts`` are only the changed ones until :func:`with_cached`."""
    if Capability.CHANGES not in connector.capabilities:
        listed = [a async for a in connector.iter_accounts()]
        return Read({a.id: a for a in listed}, listed, [], None, True)
    return _of(await connector.changes_since(directory.cursor if kind != "full" else None))


def _of(changes: ChangeSet) -> Read:
    """A read of ``changes``: its ``accounts`` only the changed ones (see :func:`with_cached`)."""
    changed = list(changes.changed)
    return Read(
        {a.id: a for a in changed},
        changed,
        [] if changes.full else list(changes.removed),
        changes.cursor,
        changes.full,
        changes.notes,
    )


async def read_streamed(
    connector: Connector,
    directory: Directory,
    kind: str,
    sink: StreamedPass,
) -> Read:
    """:func:`read_directory` for a connector with streamed reads: a full read's pages go into
    ``sink`` as they come (the read then holds what the sink kept, and every id it saw); an
    incremental one is as :func:`read_directory`'s."""
    changes = await sink.changes(connector, directory.cursor if kind != "full" else None)
    if changes.streamed:  # every page is in the cache already (a dry run's is not)
        return Read(sink.kept, [], [], changes.cursor, True, changes.notes, sink.seen)
    return _of(changes)


def with_cached(read: Read, cached: Mapping[str, Account]) -> Read:
    """An incremental read planned over the cached accounts with the changes on top (the
    removed ones dropped); a full read as it is."""
    if read.full or not cached:
        return read
    accounts = dict(cached)
    for removed in read.removed:
        accounts.pop(removed, None)
    accounts.update(read.accounts)
    return replace(read, accounts=accounts)


async def read_linked(
    connector: Connector,
    creds: list[CredentialState],
    links: dict[str, LinkState],
    cached: dict[str, Account],
) -> Read:
    """For a few credentials: their linked accounts read fresh (an unlinked one is matched
    against the cached accounts)."""
    accounts = dict(cached)
    changed: list[Account] = []
    removed: list[str] = []
    for cred in creds:
        link = links.get(cred.id)
        if link is None:
            continue
        try:
            account = await connector.get_account(link.account_id)
        except ConnectorError as exc:
            if status_of_error(exc) is not Status.ACCOUNT_MISSING:
                raise
            accounts.pop(link.account_id, None)
            removed.append(link.account_id)
            continue
        accounts[account.id] = account
        changed.append(account)
    return Read(accounts, changed, removed, None, False)
