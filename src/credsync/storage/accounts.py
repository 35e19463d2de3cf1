"""The account cache (``directory_accounts``): what each directory last told us about the
accounts in its scope, the planner's input between full passes. Its owner.

A run stores what it read (:func:`replace`: a full read replaces a directory's cache, an
incremental one its changed and removed accounts) and loads back only what a plan can touch
(:func:`load`: by account id, and by case-folded name for credentials not linked yet). Rows
come back as :class:`CachedAccount`; the sync engine makes its accounts from them.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import operator
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from typing import Any, NamedTuple, Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from credsync.storage._rows import columns_for, records
from credsync.storage.bulk import bulk_insert
from credsync.storage.tables import directory_accounts

__all__ = [
    "AccountFacts",
    "CachedAccount",
    "authors",
    "count",
    "forget_directory",
    "keep_only",
    "load",
    "password_stamp",
    "replace",
]

_IN_LIST = 500  # ids (or names) per IN (...) list; accounts compared and stored per slice
# SQLite page cache (KiB) of a connection while it writes or sweeps the cache: see _small_cache.
_WRITE_CACHE_KIB = 16384
_SMALL_CACHE_ROWS = 1000  # accounts written at once from which the cache is held small
_INSERT_ROWS = 5000  # accounts stored per statement: memory stays flat for big directories


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
_FACT_VALUES = operator.attrgetter(*_FACTS)
_AT = _FACTS.index("password_changed_at")  # the one datetime among them
# What :func:`_row` takes from an account as it is: its id and facts but the datetime.
_AS_IS = tuple(f for f in CachedAccount._fields if f != "password_changed_at")
_AS_IS_VALUES = operator.attrgetter(*(f if f != "account_id" else "id" for f in _AS_IS))
# A stored row's columns, in the order :func:`_row` builds its tuples.
_COLUMNS = (
    "directory_id", *_AS_IS, "password_changed_at", "seen_at", "username_key", "upn_key"
)  # fmt: skip
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
        query = _SELECT.where(in_directory, table.c.account_id.in_(chunk))
        out += records(CachedAccount, conn.execute(query).all())  # fetchall: not row by row
    wanted = sorted(name_keys)
    for start in range(0, len(wanted), _IN_LIST):
        chunk = wanted[start : start + _IN_LIST]
        by_name = sa.or_(table.c.username_key.in_(chunk), table.c.upn_key.in_(chunk))
        out += records(CachedAccount, conn.execute(_SELECT.where(in_directory, by_name)).all())
    return out


def authors(
    conn: Connection, directory_id: str, account_ids: Sequence[str] | None = None
) -> dict[str, tuple[str | None, str]]:
    """Account id -> (its password stamp, who changed it) for the directory's cached accounts
    whose directory named who changed their password; ``account_ids``: of these only (looked
    up by key, 500 a query: a delta's hundred changed users need not scan the cache)."""
    table = directory_accounts
    query = sa.select(
        table.c.account_id, table.c.password_stamp, table.c.password_changed_by
    ).where(table.c.directory_id == directory_id, table.c.password_changed_by.is_not(None))
    if account_ids is None:
        chunks = [query]
    else:
        ids = list(account_ids)
        chunks = [
            query.where(table.c.account_id.in_(ids[start : start + _IN_LIST]))
            for start in range(0, len(ids), _IN_LIST)
        ]
    out: dict[str, tuple[str | None, str]] = {}
    for chunk in chunks:
        out.update(
            {r.account_id: (r.password_stamp, r.password_changed_by) for r in conn.execute(chunk)}
        )
    return out


def password_stamp(conn: Connection, directory_id: str, account_id: str) -> str | None:
    """The cached password stamp of one account (None: not cached, or none known)."""
    stamp = conn.execute(
        sa.select(directory_accounts.c.password_stamp).where(
            directory_accounts.c.directory_id == directory_id,
            directory_accounts.c.account_id == account_id,
        )
    ).scalar()
    return None if stamp is None else str(stamp)


@contextlib.contextmanager
def _small_cache(conn: Connection) -> Iterator[None]:
    """On SQLite, the connection's page cache held small while the account cache is written
    or swept, then set back: a tenant's 100,000 rows and their three indexes (~50 MB) would
    otherwise fill its 64 MiB of cache with pages that few reads come back to, and stay in
    the process's memory (shrinking the cache frees them). 16 MiB, not less: the index pages
    being written should mostly stay in it."""
    if conn.dialect.name != "sqlite":
        yield
        return
    before = int(conn.exec_driver_sql("PRAGMA cache_size").scalar_one())
    conn.exec_driver_sql(f"PRAGMA cache_size=-{_WRITE_CACHE_KIB}")
    try:
        yield
    finally:
        conn.exec_driver_sql(f"PRAGMA cache_size={before}")


def replace(
    conn: Connection,
    directory_id: str,
    changed: Sequence[AccountFacts],
    removed: Iterable[str],
    now: dt.datetime,
    *,
    full: bool,
    fresh: bool = False,
) -> None:
    """Store what the directory said: a full read replaces the cache (the accounts it did not
    find are dropped), an incremental one the changed accounts (and drops the removed ones).
    Compared before written: a row whose facts are what it holds is left as it is (its
    ``seen_at`` is when its facts were last written), so that a periodic full pass over
    thousands of unchanged accounts reads the cache and writes nothing. ``fresh``: none of
    ``changed`` is cached (nothing to compare or drop first). New rows go to the driver as
    plain tuples (:func:`~credsync.storage.bulk.bulk_insert`, each column's type conversion
    looked up once): SQLAlchemy's per-row parameter work cost more than SQLite's own for the
    100,000 users of a tenant."""
    # The page cache held small only for a write that could fill it: a push's one account
    # (three PRAGMA statements of a push's ~23, issue 19) or a delta's hundred never do.
    big = full or len(changed) >= _SMALL_CACHE_ROWS
    with _small_cache(conn) if big else contextlib.nullcontext():
        _replace(conn, directory_id, changed, removed, now, full=full, fresh=fresh)


def _replace(
    conn: Connection,
    directory_id: str,
    changed: Sequence[AccountFacts],
    removed: Iterable[str],
    now: dt.datetime,
    *,
    full: bool,
    fresh: bool,
) -> None:
    table = directory_accounts
    in_directory = table.c.directory_id == directory_id
    stored: set[str] | None = None  # the ids the cache holds (known for a full read)
    if full:
        found = {a.id for a in changed}
        stored = set(conn.execute(sa.select(table.c.account_id).where(in_directory)).scalars())
        _delete(conn, directory_id, [i for i in stored if i not in found])
    else:
        _delete(conn, directory_id, list(removed))
        if not fresh and len(changed) < _SMALL_CACHE_ROWS:
            _upsert(conn, directory_id, changed, now)  # compared by the database
            return
    if fresh or stored == set():  # nothing cached to compare with
        _insert(conn, directory_id, changed, now)
        return
    for start in range(0, len(changed), _IN_LIST):  # rows compared a slice at a time
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
        _insert(conn, directory_id, news, now)


def _insert(
    conn: Connection, directory_id: str, accounts: Sequence[AccountFacts], now: dt.datetime
) -> None:
    if not accounts:
        return
    # Each column's bind processor once (a datetime becomes SQLite's text), not per value.
    as_time = _processor(conn, "seen_at")
    seen_at = as_time(now) if as_time is not None else now
    for start in range(0, len(accounts), _INSERT_ROWS):  # rows built a slice at a time
        rows = [
            _row(directory_id, a, seen_at, as_time) for a in accounts[start : start + _INSERT_ROWS]
        ]
        bulk_insert(conn, directory_accounts, _COLUMNS, rows)


def _upsert(
    conn: Connection, directory_id: str, accounts: Sequence[AccountFacts], now: dt.datetime
) -> None:
    """An incremental write of a few accounts (a push's one, a delta's hundred): one INSERT
    ... ON CONFLICT per slice, the row rewritten only where its facts differ (the database
    compares), instead of a SELECT to compare, a DELETE and an INSERT (issue 19: a push's
    outcome paid all three for its one account)."""
    if not accounts:
        return
    as_time = _processor(conn, "seen_at")
    seen_at = as_time(now) if as_time is not None else now
    rows = [_row(directory_id, a, seen_at, as_time) for a in accounts]
    conn.exec_driver_sql(_upsert_sql(conn.dialect.name, conn.dialect.paramstyle), rows)


_UPSERTS: dict[tuple[str, str], str] = {}


def _upsert_sql(dialect: str, paramstyle: str) -> str:
    """The upsert's text for a backend, built once: SQLite's ``IS`` and PostgreSQL's ``IS NOT
    DISTINCT FROM`` compare NULLs as values."""
    key = (dialect, paramstyle)
    if key not in _UPSERTS:
        mark = "?" if paramstyle == "qmark" else "%s"
        same = "IS" if dialect == "sqlite" else "IS NOT DISTINCT FROM"
        table = directory_accounts.name
        keys = ("directory_id", "account_id")
        updated = [c for c in _COLUMNS if c not in keys]
        differs = " AND ".join(f"{table}.{c} {same} excluded.{c}" for c in _FACTS)
        _UPSERTS[key] = (
            f"INSERT INTO {table} ({', '.join(_COLUMNS)}) "  # noqa: S608 - our names, bound values
            f"VALUES ({', '.join([mark] * len(_COLUMNS))}) "
            f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET "
            + ", ".join(f"{c} = excluded.{c}" for c in updated)
            + f" WHERE NOT ({differs})"
        )
    return _UPSERTS[key]


def _row(
    directory_id: str,
    a: AccountFacts,
    seen_at: object,
    as_time: Callable[[Any], Any] | None,
) -> tuple[object, ...]:
    """An account's row in :data:`_COLUMNS` order, in the driver's form: its attributes
    fetched in one C call (a tenant's 100,000 rows are built in a full pass), the datetime
    through the column's bind processor. ``upn_key`` only when it is not the username's
    (revision 0043): the name lookup asks both columns."""
    username_key = a.username.casefold()
    upn = a.upn
    upn_key = upn.casefold() if upn else None
    changed_at = a.password_changed_at
    return (
        directory_id,
        *_AS_IS_VALUES(a),
        changed_at if changed_at is None or as_time is None else as_time(changed_at),
        seen_at,
        username_key,
        None if upn_key == username_key else upn_key,
    )


def _facts(account: AccountFacts) -> tuple[object, ...]:
    return _comparable(_FACT_VALUES(account))


def _stored(row: Sequence[object] | None) -> tuple[object, ...] | None:
    return None if row is None else _comparable(tuple(row))


def _comparable(values: tuple[object, ...]) -> tuple[object, ...]:
    """An account's facts with its one datetime in UTC (attributes fetched in one C call:
    a full pass compares 100,000 of them)."""
    at = values[_AT]
    if isinstance(at, dt.datetime):
        return (*values[:_AT], _utc(at), *values[_AT + 1 :])
    return values


def _utc(value: dt.datetime) -> dt.datetime:
    """Comparable whatever the backend (SQLite gives naive UTC back)."""
    if value.tzinfo is dt.UTC:  # the connectors' own
        return value
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def _delete(conn: Connection, directory_id: str, ids: Sequence[str]) -> None:
    table = directory_accounts
    for start in range(0, len(ids), _IN_LIST):
        conn.execute(
            table.delete().where(
                table.c.directory_id == directory_id,
                table.c.account_id.in_(ids[start : start + _IN_LIST]),
            )
        )


def _processor(conn: Connection, column: str) -> Callable[[Any], Any] | None:
    """The driver's form of ``column``'s values (None: as they are)."""
    column_type = directory_accounts.c[column].type.dialect_impl(conn.dialect)
    processor: Callable[[Any], Any] | None = column_type.bind_processor(conn.dialect)
    return processor


def keep_only(conn: Connection, directory_id: str, seen: Collection[str]) -> int:
    """Drop the directory's cached accounts whose id is not in ``seen`` (a full read stored
    page by page: what it did not see is gone from the directory); how many were dropped."""
    table = directory_accounts
    with _small_cache(conn):
        cached = conn.execute(
            sa.select(table.c.account_id).where(table.c.directory_id == directory_id)
        ).scalars()
        gone = [account_id for account_id in cached if account_id not in seen]
        for start in range(0, len(gone), _IN_LIST):
            conn.execute(
                table.delete().where(
                    table.c.directory_id == directory_id,
                    table.c.account_id.in_(gone[start : start + _IN_LIST]),
                )
            )
    return len(gone)


def forget_directory(conn: Connection, directory_id: str) -> None:
    """Drop a directory's whole cache (a full read, or the directory removed)."""
    conn.execute(
        directory_accounts.delete().where(directory_accounts.c.directory_id == directory_id)
    )


def count(conn: Connection, directory_id: str) -> int:
    """How many accounts of the directory the cache holds."""
    query = sa.select(sa.func.count()).where(directory_accounts.c.directory_id == directory_id)
    return int(conn.execute(query).scalar_one())
