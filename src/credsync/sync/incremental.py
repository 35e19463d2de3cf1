"""What an incremental run looks at: the credentials either side changed since the directory's
previous whole run, not every credential of the client (as Entra Connect's delta sync goes
over changed objects only).

An incremental run reads the directory's changes since its cursor, which the previous whole
run (full or incremental, done, not a dry run) left. Its plan, a pure function of the
credential, its link, the cached account and the directory's settings, can only come out
differently for a credential when one of those moved since that run started. So it plans,
acts on and reports:

- **the directory's side**: credentials linked to an account the changes name (changed,
  removed, renamed), and unlinked ones whose username answers to a name of such an account
  (:func:`credsync.sync.store.name_keys`: the planner's match, as a superset);
- **the vault's side**, changed since that run started (:func:`vault_side`): credentials
  made, edited, trashed or restored, or whose password changed (``updated_at``,
  ``password_changed_at``); links confirmed for pushes or made confirmed since (an operator,
  auto-create, a relay), links of another directory of the client made since (where an
  account synced from on-premises is managed), push attempts left without an outcome by a
  stopped run; flags resolved since (an operator accepting a directory's state, pushing,
  restoring), open ``conflict`` or ``ambiguous`` flags (they depend on other credentials'
  links); actions held in quarantine or decided since; given-up queued pushes;
- **every credential whose last check a run does not repeat unchanged**: a link whose status
  is not one of :data:`STEADY` (an error, an unreachable directory, a pending check, a
  skipped one, or none: checked again, as every run did);
- **every credential** (a whole pass over the vault's side, the directory still read
  incrementally) when there was no whole run before, or when the directory's settings or the
  client's (default sync mode, sync switch) changed since.

The run loads only these credentials (with every link of the directory, which the planner's
conflict check and the thresholds' percentages need), and counts the others in the database.
The other linked credentials keep their link's status, detail and check time and their flags;
the run's summary counts them (``unchanged``, with ``unchanged_since``), and the reports say
so. Time-based checks (an account's password expiring, a lockout ending: the directory does
not log these as changes) are the full pass's, as before: it runs every ``full_pass_hours``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from sqlalchemy.engine import Connection

from credsync.connectors.base import Account
from credsync.storage import flags as flag_rows
from credsync.storage import link_reads, push_queue
from credsync.storage import quarantine as quarantine_rows
from credsync.storage import runs as run_rows
from credsync.storage import sync_credentials as credential_rows
from credsync.storage.accounts import load as load_cached
from credsync.storage.database import Database
from credsync.sync import store
from credsync.sync.model import CredentialState, LinkState, Status
from credsync.sync.run_reads import with_cached
from credsync.sync.streamed import Read
from credsync.vault._time import as_utc, as_utc_opt
from credsync.vault.directories import Directory

__all__ = ["STEADY", "Narrowed", "narrow", "vault_side"]

# A link's status a run comes to again when neither side changed (a bind that failed is not
# repeated for the same stamp; an account's state is the cached one's).
STEADY = frozenset(
    {
        Status.IN_SYNC,
        Status.MISMATCH,
        Status.CHANGED_IN_DIRECTORY,
        Status.ACCOUNT_MISSING,
        Status.ACCOUNT_DISABLED,
        Status.LOCKED_OUT,
        Status.PASSWORD_EXPIRED,
        Status.PASSWORD_UNKNOWN,
        Status.AWAITING_CONFIRMATION,
    }
)
_IDS = 500  # credential ids a query asks for at most
_FEW = 2000  # more credentials than this to plan: all of them read, then chosen
# Open flags of unlinked credentials that other credentials' links decide.
_DEPENDS_ON_OTHERS = (Status.CONFLICT.value, Status.AMBIGUOUS.value)


@dataclass(frozen=True)
class Narrowed:
    """An incremental run's credentials: those it plans (``creds``), the links the plan needs
    (theirs, and those to the accounts it plans over), the read with the cached accounts they
    can touch under its changes, the directory's links in all (``linked``: what the thresholds'
    percentages are of), and what it leaves out: linked credentials (``unchanged``) and
    unlinked ones (``unchanged_unlinked``) neither side changed since ``since`` (None: every
    credential is planned)."""

    creds: list[CredentialState]
    links: dict[str, LinkState]
    read: Read
    linked: int
    since: dt.datetime | None = None
    unchanged: int = 0
    unchanged_unlinked: int = 0

    def summary(self) -> dict[str, object]:
        """What the run's summary says of them (nothing when every credential was planned)."""
        if self.since is None:
            return {}
        return {
            "unchanged": self.unchanged,
            "unchanged_unlinked": self.unchanged_unlinked,
            "unchanged_since": self.since.isoformat(),
        }


def narrow(db: Database, directory: Directory, read: Read) -> Narrowed:
    """The credentials an incremental ``read`` can concern (see the module's docstring) and
    their links, loaded (every one when the vault's side says so), and the read planned over
    their cached accounts with the changes on top."""
    with db.read() as conn:
        since = _since(conn, directory)
        changed = None if since is None else vault_side(conn, directory, since)
        if since is None or changed is None:
            creds = store.sync_credentials(conn, directory.client_id)
            links = store.load_links(conn, directory.id)
            cached = store.load_accounts_for(conn, directory.id, creds, links)
            return Narrowed(creds, links, with_cached(read, cached), len(links))
        gone = [store.account_from_row(r) for r in load_cached(conn, directory.id,
                                                               read.removed, ())]  # fmt: skip
        accounts = sorted({a.id for a in read.changed} | set(read.removed))
        if len(changed) > _FEW:  # many changed: every link at once
            links = store.load_links(conn, directory.id)
        else:
            links = store.load_links(conn, directory.id, sorted(changed))
            links |= store.load_links(conn, directory.id, accounts=accounts)
        creds, out = _concerned(conn, directory, links, changed, accounts, (*read.changed, *gone))
        cached = store.load_accounts_for(conn, directory.id, creds, links)
        read = with_cached(read, cached)
        # The planner tells an account linked to another credential (a conflict): the links of
        # the accounts an unlinked credential's name may match.
        known = {link.account_id for link in links.values()}
        links |= store.load_links(
            conn, directory.id, accounts=[a for a in read.accounts if a not in known]
        )
        linked = link_reads.count_of_directory(conn, directory.id)
    return Narrowed(creds, links, read, linked, since, *out)


def _since(conn: Connection, directory: Directory) -> dt.datetime | None:
    """When the directory's previous whole run started (None: it had none)."""
    return as_utc_opt(run_rows.last_whole_start(conn, directory.id))


def vault_side(conn: Connection, directory: Directory, since: dt.datetime) -> set[str] | None:
    """The credentials changed on the vault's side since ``since`` (see the module's
    docstring); None when every one may have (the directory's or the client's settings)."""
    if as_utc(directory.updated_at) >= since:
        return None
    found = credential_rows.changed_since(conn, directory.client_id, since)
    if found is None:
        return None
    steady = [s.value for s in STEADY]
    found |= link_reads.to_check_again(conn, directory.id, directory.client_id, since, steady)
    found |= flag_rows.touched_since(conn, directory.id, since, _DEPENDS_ON_OTHERS)
    found |= quarantine_rows.credentials_of(conn, directory.id, since)
    found |= push_queue.given_up_credentials(conn, directory.id)
    return found


def _concerned(
    conn: Connection,
    directory: Directory,
    links: dict[str, LinkState],
    vault_changed: Collection[str],
    account_ids: Collection[str],
    accounts: Sequence[Account],
) -> tuple[list[CredentialState], tuple[int, int]]:
    """The credentials a run must plan: linked ones the vault changed or whose account is one
    of ``account_ids`` (changed or removed), unlinked ones the vault changed or whose username
    answers to a name of ``accounts`` (those changed, and those removed the cache knew); and
    how many linked and unlinked ones it leaves out."""
    account_ids = set(account_ids)
    names: set[str] = set()
    for account in accounts:
        names |= account.names()
    client_id = directory.client_id
    unlinked = store.sync_credentials(conn, client_id, unlinked_in=directory.id)
    kept = [c for c in unlinked if c.id in vault_changed or store.name_keys(c.username) & names]
    wanted = sorted(
        cid for cid, link in links.items() if cid in vault_changed or link.account_id in account_ids
    )
    if len(wanted) > _FEW:  # many changed: one read of them all
        chosen = set(wanted)
        linked = [c for c in store.sync_credentials(conn, client_id) if c.id in chosen]
    else:
        linked = [c for at in range(0, len(wanted), _IDS) for c in store.sync_credentials(
            conn, client_id, ids=wanted[at : at + _IDS])]  # fmt: skip
    left = store.linked_count(conn, client_id, directory.id) - len(linked)
    creds = sorted((*linked, *kept), key=lambda c: (c.title.casefold(), c.id))
    return creds, (left, len(unlinked) - len(kept))
