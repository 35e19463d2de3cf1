"""A full read of the tenant handed to the engine page by page (``streamed_reads``).

A first round of ``/users/delta`` lists every user; held at once, 100,000 users are some
hundred megabytes of accounts. Streamed, each page of up to 999 users is made into accounts
(objects that came with only some properties read again by id, as a whole read does), given
``password_changed_by`` from the audit log's new entries, and awaited by the caller's sink
(which stores it) while the next page is already on its way (:meth:`GraphClient.pages`
fetches ahead). The audit log is read first, so that each page can be attributed as it
comes; an entry that names a user the listing does not hold (deleted since) says nothing.
"""

from __future__ import annotations

import datetime as dt
import operator
from collections.abc import Iterable, Iterator
from dataclasses import fields
from typing import TYPE_CHECKING, Any, cast

from credsync.connectors.base import Account, AccountSink, ChangeSet
from credsync.connectors.graph import _audits
from credsync.connectors.graph._cursor import encode_cursor
from credsync.connectors.graph._mapping import SELECT, complete, to_account

if TYPE_CHECKING:
    from credsync.connectors.graph.connector import GraphConnector

__all__ = ["AUTHOR_TOLERANCE", "delta_states", "streamed_full", "with_author"]

# An audit entry names the change whose lastPasswordChangeDateTime is this close to it.
AUTHOR_TOLERANCE = dt.timedelta(minutes=2)
# An account's fields in order, fetched in one call; where its author goes among them.
_FIELDS = tuple(f.name for f in fields(Account))
_VALUES = operator.attrgetter(*_FIELDS)
_BY = _FIELDS.index("password_changed_by")


def delta_states(
    items: Iterable[dict[str, Any]],
) -> Iterator[tuple[str, Account | dict[str, Any] | None]]:
    """Each object of a delta page as (id, state): an Account, the raw object when delta
    sent only some properties, None when removed."""
    for item in items:
        key = str(item.get("id"))
        if "@removed" in item:
            yield key, None
        else:
            yield key, to_account(item) if complete(item) else item


def with_author(account: Account, attribution: _audits.Attribution) -> Account | None:
    """``account`` saying who changed its password, when the audit entry is about its
    current password (lastPasswordChangeDateTime within :data:`AUTHOR_TOLERANCE`); else
    None."""
    moment = account.password_changed_at
    if moment is None or abs(moment - attribution.at) > AUTHOR_TOLERANCE:
        return None
    values = list(_VALUES(account))  # dataclasses.replace by name cost ~4x (10,000 a pass)
    values[_BY] = attribution.by
    return Account(*values)


async def streamed_full(
    connector: GraphConnector, mark: _audits.Watermark, sink: AccountSink
) -> ChangeSet:
    """Every user, a page at a time into ``sink`` (see the module docstring)."""
    named, notes = await connector._named(mark)
    where = "read every user (delta)"
    pages = connector._delta_pages("/users/delta", {"$select": SELECT}, where, refusable=False)
    try:
        async for items, link in pages:
            states = dict(delta_states(items))  # the last appearance in a page wins
            if any(isinstance(state, dict) for state in states.values()):  # some properties
                current = await connector._complete(states)
            else:  # every user whole (a first round's pages): nothing to read again
                current = cast("dict[str, Account | None]", states)
            accounts: list[Account] = []
            removed: list[str] = []
            for key, account in current.items():
                if account is None:
                    removed.append(key)
                    continue
                if named:
                    attribution = named.get(key)
                    if attribution is not None:
                        account = with_author(account, attribution) or account
                accounts.append(account)
            await sink(accounts, removed)
            if link is not None:
                cursor = encode_cursor(connector._tenant, link, mark)
                return ChangeSet((), (), cursor, full=True, notes=notes, streamed=True)
    finally:
        await pages.aclose()
    raise AssertionError("unreachable: the delta pages end with a deltaLink or raise")
