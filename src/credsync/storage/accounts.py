"""The account cache (``directory_accounts``): what each directory last told us about the
accounts in its scope, the planner's input between full passes. Its owner.

A run stores what it read (:func:`replace`: a full read replaces a directory's cache, an
incremental one its changed and removed accounts) and loads back only what a plan can touch
(:func:`load`: by account id, and by case-folded name for credentials not linked yet). Rows
come back as :class:`CachedAccount`; the sync engine makes its accounts from them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import NamedTuple, Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from credsync.storage._rows import columns_for, records
from credsync.storage.tables import directory_accounts

__all__ = [
    "AccountFacts",
    "CachedAccount",
    "authors",
    "count",
    "forget_directory",
    "load",
    "password_stamp",
    "replace",
]

_IN_LIST = 500  # ids (or names) per IN (...) list; accounts compared and stored per slice


class CachedAccount(NamedTuple):
    account_id: str
    username: str
    upn: str | None
    domain: str | None
    display_name: str | None
    dn: str | None
    enabled: bool
    locked_out: bool
    password_expired: bool
    must_change_password: bool
    password_stamp: str | None
    password_changed_at: dt.datetime | None  # naive on SQLite
    synced_from_on_premises: bool
    protected: bool
    password_changed_by: str | None


class AccountFacts(Protocol):
    """What is stored of an account (the connectors' ``Account`` has these)."""

    @property
    def id(self) -> str: ...
    @property
    def username(self) -> str: ...
    @property
    def upn(self) -> str | None: ...
    @property
    def domain(self) -> str | None: ...
    @property
    def display_name(self) -> str | None: ...
    @property
    def dn(self) -> str | None: ...
    @property
    def enabled(self) -> bool: ...
    @property
    def locked_out(self) -> bool: ...
    @property
    def password_expired(self) -> bool: ...
    @property
    def must_change_password(self) -> bool: ...
    @property
    def password_stamp(self) -> str | None: ...
    @property
    def password_changed_at(self) -> dt.datetime | None: ...
    @property
    def synced_from_on_premises(self) -> bool: ...
    @property
    def protected(self) -> bool: ...
    @property
    def password_changed_by(self) -> str | None: ...


_FACTS = CachedAccount._fields[1:]  # the columns an account's attributes of the same name fill
_SELECT = sa.select(*columns_for(CachedAccount, directory_accounts))


def load(
    conn: Connection, directory_id: str, account_ids: Sequence[str], name_keys: Iterable[str]
) -> list[CachedAccount]:
    """The directory's cached accounts with one of ``account_ids``, then those whose
    case-folded username or UPN is one of ``name_keys`` (500 per query; an account may come
    twice). A directory of 100,000 users with 5,000 credentials reads 5,000 rows."""
    table = directory_accounts
    in_directory = table.c.directory_id == directory_id
    out: list[CachedAccount] = []
    for start in range(0, len(account_ids), _IN_LIST):
        chunk = account_ids[start : start + _IN_LIST]
        out += records(
            CachedAccount, conn.execute(_SELECT.where(in_directory, table.c.account_id.in_(chunk)))
        )
    wanted = sorted(name_keys)
    for start in range(0, len(wanted), _IN_LIST):
        chunk = wanted[start : start + _IN_LIST]
        by_name = sa.or_(table.c.username_key.in_(chunk), table.c.upn_key.in_(chunk))
        out += records(CachedAccount, conn.execute(_SELECT.where(in_directory, by_name)))
    return out


def authors(conn: Connection, directory_id: str) -> dict[str, tuple[str | None, str]]:
    """Account id -> (its password stamp, who changed it) for the directory's cached accounts
    whose directory named who changed their password."""
    table = directory_accounts
    rows = conn.execute(
        sa.select(table.c.account_id, table.c.password_stamp, table.c.password_changed_by).where(
            table.c.directory_id == directory_id, table.c.password_changed_by.is_not(None)
        )
    )
    return {r.account_id: (r.password_stamp, r.password_changed_by) for r in rows}


def password_stamp(conn: Connection, directory_id: str, account_id: str) -> str | None:
    """The cached password stamp of one account (None: not cached, or none known)."""
    stamp = conn.execute(
        sa.select(directory_accounts.c.password_stamp).where(
            directory_accounts.c.directory_id == directory_id,
            directory_accounts.c.account_id == account_id,
        )
    ).scalar()
    return None if stamp is None else str(stamp)


def replace(
    conn: Connection,
    directory_id: str,
    changed: Sequence[AccountFacts],
    removed: Iterable[str],
    now: dt.datetime,
    *,
    full: bool,
) -> None:
    """Store what the directory said: a full read replaces the cache (the accounts it did not
    find are dropped), an incremental one the changed accounts (and drops the removed ones).
    Compared before written: a row whose facts are what it holds is left as it is (its
    ``seen_at`` is when its facts were last written), so that a periodic full pass over
    thousands of unchanged accounts reads the cache and writes nothing."""
    table = directory_accounts
    in_directory = table.c.directory_id == directory_id
    stored: set[str] | None = None  # the ids the cache holds (known for a full read)
    if full:
        found = {a.id for a in changed}
        stored = set(conn.execute(sa.select(table.c.account_id).where(in_directory)).scalars())
        _delete(conn, directory_id, [i for i in stored if i not in found])
    else:
        _delete(conn, directory_id, list(removed))
    for start in range(0, len(changed), _IN_LIST):  # rows compared and built a slice at a time
        some = changed[start : start + _IN_LIST]
        ids = [a.id for a in some if stored is None or a.id in stored]
        held = {
            r.account_id: r[1:]
            for r in (
                conn.execute(_SELECT.where(in_directory, table.c.account_id.in_(ids)))
                if ids
                else ()
            )
        }
        news = [a for a in some if _stored(held.get(a.id)) != _facts(a)]
        _delete(conn, directory_id, [a.id for a in news if a.id in held])
        if news:
            conn.execute(table.insert(), [_row(directory_id, a, now) for a in news])


def _facts(account: AccountFacts) -> tuple[object, ...]:
    return tuple(
        _utc(v) if isinstance(v, dt.datetime) else v
        for v in (getattr(account, name) for name in _FACTS)
    )


def _stored(row: Sequence[object] | None) -> tuple[object, ...] | None:
    if row is None:
        return None
    return tuple(_utc(v) if isinstance(v, dt.datetime) else v for v in row)


def _utc(value: dt.datetime) -> dt.datetime:
    """Comparable whatever the backend (SQLite gives naive UTC back)."""
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def _row(directory_id: str, a: AccountFacts, now: dt.datetime) -> dict[str, object]:
    return {
        "directory_id": directory_id,
        "account_id": a.id,
        **{name: getattr(a, name) for name in _FACTS},
        "username_key": a.username.casefold(),
        "upn_key": a.upn.casefold() if a.upn else None,
        "seen_at": now,
    }


def _delete(conn: Connection, directory_id: str, ids: Sequence[str]) -> None:
    table = directory_accounts
    for start in range(0, len(ids), _IN_LIST):
        conn.execute(
            table.delete().where(
                table.c.directory_id == directory_id,
                table.c.account_id.in_(ids[start : start + _IN_LIST]),
            )
        )


def forget_directory(conn: Connection, directory_id: str) -> None:
    """Drop a directory's whole cache (a full read, or the directory removed)."""
    conn.execute(
        directory_accounts.delete().where(directory_accounts.c.directory_id == directory_id)
    )


def count(conn: Connection, directory_id: str) -> int:
    """How many accounts of the directory the cache holds."""
    query = sa.select(sa.func.count()).where(directory_accounts.c.directory_id == directory_id)
    return int(conn.execute(query).scalar_one())
