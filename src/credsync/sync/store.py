"""What a run plans over, in the planner's terms: the credentials it checks, their links, and
the cached accounts a plan can touch. The SQL is storage's (:mod:`credsync.storage.links`,
:mod:`~credsync.storage.accounts`, :mod:`~credsync.storage.sync_credentials`); callers own
the transactions. What a run writes is the recorder's (:mod:`credsync.sync.recorder`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace

from sqlalchemy.engine import Connection

from credsync.connectors.base import Account
from credsync.storage import accounts as account_rows
from credsync.storage import auto_create as auto_create_rows
from credsync.storage import links as link_rows
from credsync.storage import sync_credentials as credential_rows
from credsync.sync.model import Attempt, CredentialState, LinkState
from credsync.types import SyncMode
from credsync.vault._time import as_utc, as_utc_opt

__all__ = [
    "account_from_row",
    "keep_authors",
    "linked_count",
    "load_accounts_for",
    "load_links",
    "name_keys",
    "sync_credentials",
    "with_authors",
]

# Two-way credentials are checked too (a capture confirms their link, so a run sees them in
# step with no bind); what a run pushes for them is credsync.sync.two_way's rules (issue 14).
_SYNCED = tuple(m.value for m in SyncMode if m is not SyncMode.OFF)
_ANY_MODE = tuple(m.value for m in SyncMode)


def sync_credentials(
    conn: Connection,
    client_id: str,
    *,
    include_off: bool = False,
    ids: Sequence[str] | None = None,
    unlinked_in: str | None = None,
) -> list[CredentialState]:
    """The client's credentials that take part in sync (report, enforce, two-way), by title. None
    when the client's directory_sync switch is off. ``include_off``: every live credential,
    whatever its mode and the switch (an operator acting on one by hand). ``ids``: only these
    (at most a few hundred). ``unlinked_in``: only those with no link in this directory."""
    modes = _ANY_MODE if include_off else _SYNCED
    rows = credential_rows.synced(conn, client_id, modes, switch_on_only=not include_off, ids=ids,
                                  unlinked_in=unlinked_in)  # fmt: skip
    return [
        CredentialState(
            r.id,
            r.title,
            r.username,
            SyncMode(r.mode),
            r.secret_version,
            as_utc_opt(r.password_changed_at),
        )
        for r in rows
    ]


def linked_count(conn: Connection, client_id: str, directory_id: str) -> int:
    """How many of :func:`sync_credentials`' credentials have a link in the directory."""
    return credential_rows.linked_count(conn, client_id, _SYNCED, directory_id)


def load_links(
    conn: Connection,
    directory_id: str,
    ids: Sequence[str] | None = None,
    *,
    accounts: Sequence[str] | None = None,
) -> dict[str, LinkState]:
    """The directory's links by credential id (``ids``: only these credentials';
    ``accounts``: only those to these accounts), auto-create's shells marked
    (``shell_version``)."""
    shells = auto_create_rows.shells(conn, directory_id)
    found = (
        link_rows.of_directory(conn, directory_id, ids)
        if accounts is None
        else link_rows.of_accounts(conn, directory_id, accounts)
    )
    return {
        r.credential_id: LinkState(
            r.account_id,
            r.confirmed_stamp,
            r.confirmed_secret_version,
            r.failed_stamp,
            r.failed_secret_version,
            r.accepted_stamp,
            r.status,
            link_confirmed=r.link_confirmed_at is not None,
            attempt=_attempt(r),
            shell_version=shells.get(r.credential_id),
        )
        for r in found
    }


def _attempt(row: link_rows.LinkRow) -> Attempt | None:
    """The push attempt a run left without an outcome, if any."""
    run, version, at = row.push_attempt_run, row.push_attempt_version, row.push_attempt_at
    if run is None or version is None or at is None:
        return None
    return Attempt(run, version, row.push_attempt_stamp, as_utc(at))


def account_from_row(row: account_rows.CachedAccount) -> Account:
    return Account(
        id=row.account_id,
        username=row.username,
        upn=row.upn,
        domain=row.domain,
        display_name=row.display_name,
        dn=row.dn,
        enabled=row.enabled,
        locked_out=row.locked_out,
        password_expired=row.password_expired,
        must_change_password=row.must_change_password,
        password_stamp=row.password_stamp,
        password_changed_at=as_utc_opt(row.password_changed_at),
        synced_from_on_premises=row.synced_from_on_premises,
        protected=row.protected,
        password_changed_by=row.password_changed_by,
    )


def name_keys(username: str) -> set[str]:
    """The cached name keys an account must have for ``username`` to match it (the
    planner's rules: the name as typed, and for ``DOMAIN\\name`` also the name part)."""
    wanted = username.strip().casefold()
    if not wanted:
        return set()
    keys = {wanted}
    if "\\" in wanted:
        keys.add(wanted.split("\\", 1)[1])
    return keys


def load_accounts_for(
    conn: Connection,
    directory_id: str,
    creds: Iterable[CredentialState],
    links: Mapping[str, LinkState],
) -> dict[str, Account]:
    """The cached accounts a plan over ``creds`` can touch: those linked to them, and every
    one an unlinked credential's username may match by name (a superset: the planner
    matches exactly). A directory of 100,000 users with 5,000 credentials reads 5,000 rows."""
    ids: list[str] = []
    keys: set[str] = set()
    for cred in creds:
        link = links.get(cred.id)
        if link is not None:
            ids.append(link.account_id)
        else:
            keys |= name_keys(cred.username)
    rows = account_rows.load(conn, directory_id, ids, keys)
    return {r.account_id: account_from_row(r) for r in rows}


def keep_authors(conn: Connection, directory_id: str, accounts: Sequence[Account]) -> list[Account]:
    """``accounts`` read now, each that its directory did not name an author for this time
    given the one stored for the same password stamp (a directory names who changed a
    password once, when it logs the change: an open flag keeps saying who)."""
    unnamed = [a.id for a in accounts if a.password_changed_by is None]
    if not unnamed:
        return list(accounts)
    return with_authors(accounts, account_rows.authors(conn, directory_id, unnamed))


def with_authors(
    accounts: Iterable[Account], known: Mapping[str, tuple[str | None, str | None]]
) -> list[Account]:
    """:func:`keep_authors`' rule, given the cached (password stamp, author) by account id."""
    out: list[Account] = []
    for account in accounts:
        stored = known.get(account.id)
        if (
            account.password_changed_by is None
            and stored is not None
            and stored[1] is not None
            and stored[0] == account.password_stamp
        ):
            account = replace(account, password_changed_by=stored[1])
        out.append(account)
    return out
