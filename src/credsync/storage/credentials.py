"""Credentials and their tags (``credentials``, ``credential_tags``). Notes arrive here
sealed; nothing here opens them.

A credential row is read with its client's name and default sync mode and its folder's path
(:class:`CredentialRow`). Its secret history is kept by :mod:`credsync.storage.secrets`, its
word-prefix index by :mod:`credsync.storage.search`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.engine import Connection

from credsync.storage._rows import columns_for, one_of, record, records, repr_without, within
from credsync.storage.bulk import bulk_insert, db_value
from credsync.storage.ids import one_by_id_prefix
from credsync.storage.tables import clients, credential_tags, credentials, folders

__all__ = [
    "DIRECTORY_ADMIN",
    "CredentialRow",
    "NewCredential",
    "SecretState",
    "add_many",
    "bump",
    "count_in_folder",
    "effective_mode",
    "find_by_ref",
    "get",
    "in_title_order",
    "in_title_order_with",
    "live_count",
    "lock",
    "lock_secret_state",
    "page",
    "purge",
    "set_current_secret",
    "set_tags",
    "tag_array",
    "tags_by_id",
    "tags_of",
    "title_key",
    "visible",
    "with_columns",
]

# The type of the credentials directories bind with (CredentialType.DIRECTORY_ADMIN).
DIRECTORY_ADMIN = "directory_admin"


class CredentialRow(NamedTuple):
    id: str
    client_id: str
    folder_id: str | None
    title: str
    title_key: str
    username: str
    url: str
    type: str
    sync_mode: str | None  # None: the client's default
    notes_ct: bytes | None
    secret_version: int
    version: int
    created_at: dt.datetime
    created_by: str
    updated_at: dt.datetime
    updated_by: str
    password_changed_at: dt.datetime
    deleted_at: dt.datetime | None
    deleted_by: str | None
    client_name: str
    client_default_sync_mode: str
    folder_path: str | None

    def __repr__(self) -> str:
        return repr_without(self, ("notes_ct",))


class SecretState(NamedTuple):
    id: str
    client_id: str
    secret_version: int
    version: int


class NewCredential(NamedTuple):
    """A credential to add, its notes already sealed (its first secret version is added with
    :func:`credsync.storage.secrets.add_first`)."""

    id: str
    folder_id: str | None
    title: str
    username: str
    url: str
    type: str
    sync_mode: str | None
    notes_ct: bytes | None
    tags: tuple[str, ...]

    def __repr__(self) -> str:
        return repr_without(self, ("notes_ct",))


_BASE = (
    sa.select(
        *columns_for(
            CredentialRow,
            credentials,
            client_name=clients.c.name,
            client_default_sync_mode=clients.c.default_sync_mode,
            folder_path=folders.c.path,
        )
    )
    .join(clients, clients.c.id == credentials.c.client_id)
    .outerjoin(folders, folders.c.id == credentials.c.folder_id)
)
# What bump() may change, besides the version and who changed it when.
_CHANGEABLE = frozenset(
    {
        "title",
        "title_key",
        "username",
        "url",
        "type",
        "notes_ct",
        "folder_id",
        "sync_mode",
        "deleted_at",
        "deleted_by",
    }
)


def title_key(title: str) -> str:
    """The key credentials are sorted by: the case-folded title."""
    return title.casefold()[:255]


def visible(include_directory_admin: bool) -> sa.ColumnElement[bool]:
    """The condition on ``credentials`` for the ones a reader may know of: directory_admin
    ones only with ``include_directory_admin``."""
    if include_directory_admin:
        return sa.true()
    return credentials.c.type != DIRECTORY_ADMIN


def effective_mode() -> sa.ColumnElement[str]:
    """A credential's sync mode, or its client's default (a query must join ``clients``)."""
    return sa.func.coalesce(credentials.c.sync_mode, clients.c.default_sync_mode)


# -- reading -----------------------------------------------------------------------------------
def find_by_ref(
    conn: Connection,
    ref: str,
    *,
    min_chars: int,
    include_directory_admin: bool,
    client_ids: Collection[str] | None = None,
) -> CredentialRow:
    """The credential whose id is ``ref`` or starts with it (NotFound, or InvalidInput when
    ambiguous), in the trash or not, among those a reader may know of: a directory_admin one
    only with ``include_directory_admin``, and one of ``client_ids`` when given (per-client
    access); without, it is NotFound as an id of nothing is, and takes no part in an
    ambiguity."""
    query = _BASE.where(
        visible(include_directory_admin), within(credentials.c.client_id, client_ids)
    )
    row = one_by_id_prefix(conn, query, credentials.c.id, ref, "credential", min_chars=min_chars)
    return record(CredentialRow, row)


def get(conn: Connection, credential_id: str) -> CredentialRow:
    return record(CredentialRow, conn.execute(_BASE.where(credentials.c.id == credential_id)).one())


def lock(conn: Connection, credential_id: str) -> CredentialRow:
    """Lock the row until the transaction ends, then read it again (on PostgreSQL the read
    before the lock may predate a concurrent commit). ``FOR NO KEY UPDATE`` (see
    :data:`_LOCK_SECRET_STATE`)."""
    conn.execute(
        sa.select(credentials.c.id)
        .where(credentials.c.id == credential_id)
        .with_for_update(key_share=True)
    )
    return get(conn, credential_id)


def _tagged(tag: str) -> sa.ColumnElement[bool]:
    # EXISTS rather than IN: SQLite then walks the page in title order and probes the tag's
    # primary key per row, instead of fetching every credential with the tag and sorting them.
    return sa.exists().where(
        credential_tags.c.credential_id == credentials.c.id,
        credential_tags.c.tag == tag.strip().lower(),
    )


def page(
    conn: Connection,
    client_id: str,
    *,
    include_directory_admin: bool,
    trash: bool,
    fetch: int,
    folder_id: str | None = None,
    tag: str | None = None,
    after: tuple[str, str] | None = None,
    also: sa.ColumnElement[bool] | None = None,
) -> list[CredentialRow]:
    """Up to ``fetch`` of the client's credentials (in the trash, or not) in title order,
    from just after ``after`` (title key, id) on; ``also``: a further condition on
    ``credentials`` from another storage module (``links.password_unknown()``)."""
    query = (
        _BASE.where(credentials.c.client_id == client_id, visible(include_directory_admin))
        .where(
            credentials.c.deleted_at.is_not(None) if trash else credentials.c.deleted_at.is_(None)
        )
        .order_by(credentials.c.title_key, credentials.c.id)
        .limit(fetch)
    )
    if folder_id is not None:
        query = query.where(credentials.c.folder_id == folder_id)
    if tag:
        query = query.where(_tagged(tag))
    if after is not None:
        query = query.where(sa.tuple_(credentials.c.title_key, credentials.c.id) > after)
    if also is not None:
        query = query.where(also)
    return records(CredentialRow, conn.execute(query))


def in_title_order(conn: Connection, ids: Sequence[str]) -> list[CredentialRow]:
    query = _BASE.where(one_of(conn, credentials.c.id, ids))
    return records(
        CredentialRow, conn.execute(query.order_by(credentials.c.title_key, credentials.c.id))
    )


def with_columns(*extra: sa.ColumnElement[Any]) -> sa.Select[Any]:
    """PostgreSQL: the query of :class:`CredentialRow` with the columns ``extra`` after its own
    (columns of a query over ``credentials``, such as :func:`tag_array`), of the credentials
    whose ids are the array parameter ``ids``, in title order; for :func:`in_title_order_with`,
    built once and kept by its caller (a page's statement is then not built anew each time)."""
    ids = sa.bindparam("ids", type_=postgresql.ARRAY(sa.String()))
    query = _BASE.add_columns(*extra).where(credentials.c.id == sa.any_(ids))
    return query.order_by(credentials.c.title_key, credentials.c.id)


def in_title_order_with(
    conn: Connection, ids: Sequence[str], query: sa.Select[Any]
) -> list[tuple[CredentialRow, tuple[Any, ...]]]:
    """:func:`in_title_order` by ``query`` (:func:`with_columns`; PostgreSQL), each row with
    the values of its extra columns: one statement where reading them apart would be
    several."""
    width = len(CredentialRow._fields)
    rows = conn.execute(query, {"ids": list(ids)})
    return [(CredentialRow(*row[:width]), tuple(row[width:])) for row in rows]


def live_count(conn: Connection, client_id: str, *, include_directory_admin: bool) -> int:
    """How many credentials the client holds outside the trash."""
    query = (
        sa.select(sa.func.count())
        .select_from(credentials)
        .where(
            credentials.c.client_id == client_id,
            credentials.c.deleted_at.is_(None),
            visible(include_directory_admin),
        )
    )
    return int(conn.execute(query).scalar_one())


def count_in_folder(conn: Connection, folder_id: str) -> int:
    """How many credentials are in the folder, counting the trash."""
    query = sa.select(sa.func.count()).select_from(credentials)
    return int(conn.execute(query.where(credentials.c.folder_id == folder_id)).scalar_one())


# -- tags --------------------------------------------------------------------------------------
def tags_by_id(conn: Connection, ids: Sequence[str]) -> dict[str, tuple[str, ...]]:
    """The sorted tags of each of ``ids`` that has any."""
    found: dict[str, list[str]] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        rows = conn.execute(
            sa.select(credential_tags).where(one_of(conn, credential_tags.c.credential_id, chunk))
        )
        for row in rows:
            found.setdefault(row.credential_id, []).append(row.tag)
    return {cid: tuple(sorted(tags)) for cid, tags in found.items()}


def tag_array() -> sa.ColumnElement[Any]:
    """PostgreSQL: the credential's tags as one array, None without any (a column of a query
    over ``credentials``, for :func:`in_title_order_with`)."""
    tags = sa.func.array_agg(aggregate_order_by(credential_tags.c.tag, credential_tags.c.tag))
    query = sa.select(tags).where(credential_tags.c.credential_id == credentials.c.id)
    return query.scalar_subquery()


def tags_of(conn: Connection, credential_id: str) -> tuple[str, ...]:
    query = sa.select(credential_tags.c.tag).where(credential_tags.c.credential_id == credential_id)
    return tuple(conn.execute(query).scalars())


def set_tags(conn: Connection, credential_id: str, tags: Iterable[str]) -> None:
    conn.execute(credential_tags.delete().where(credential_tags.c.credential_id == credential_id))
    rows = [{"credential_id": credential_id, "tag": t} for t in tags]
    if rows:
        conn.execute(credential_tags.insert(), rows)


# -- writing -----------------------------------------------------------------------------------
def bump(
    conn: Connection,
    credential_id: str,
    version: int,
    *,
    by: str,
    now: dt.datetime,
    changes: Mapping[str, Any],
) -> bool:
    """Apply ``changes`` and make it version ``version + 1``, if it is still at ``version``;
    False when somebody else changed it first."""
    unknown = set(changes) - _CHANGEABLE
    if unknown:
        raise KeyError(f"credentials: {', '.join(sorted(unknown))} can't be changed this way")
    result = conn.execute(
        credentials.update()
        .where(credentials.c.id == credential_id, credentials.c.version == version)
        .values(version=version + 1, updated_at=now, updated_by=by, **changes)
    )
    return bool(result.rowcount == 1)


def purge(conn: Connection, credential_id: str) -> None:
    """Delete the credential and its tags (its search terms and secret versions must be gone
    first: :func:`credsync.storage.search.forget`, :func:`credsync.storage.secrets.forget`)."""
    conn.execute(credential_tags.delete().where(credential_tags.c.credential_id == credential_id))
    conn.execute(credentials.delete().where(credentials.c.id == credential_id))


_CREDENTIAL_COLUMNS = (
    "id",
    "client_id",
    "folder_id",
    "title",
    "title_key",
    "username",
    "url",
    "type",
    "sync_mode",
    "notes_ct",
    "secret_version",
    "version",
    "created_at",
    "created_by",
    "updated_at",
    "updated_by",
    "password_changed_at",
)


def add_many(
    conn: Connection,
    client_id: str,
    items: Sequence[NewCredential],
    *,
    by: str,
    now: dt.datetime,
) -> None:
    """Insert new credentials at version 1 (secret version 1) with their tags, with one
    executemany per table (see :mod:`credsync.storage.bulk`)."""
    stamp = db_value(conn, credentials, "created_at", now)
    cred_rows: list[tuple[Any, ...]] = []
    tag_rows: list[tuple[str, str]] = []
    for item in items:
        cred_rows.append(
            (
                item.id,
                client_id,
                item.folder_id,
                item.title,
                title_key(item.title),
                item.username,
                item.url,
                item.type,
                item.sync_mode,
                item.notes_ct,
                1,
                1,
                stamp,
                by,
                stamp,
                by,
                stamp,
            )
        )
        tag_rows.extend((item.id, tag) for tag in item.tags)
    bulk_insert(conn, credentials, _CREDENTIAL_COLUMNS, cred_rows)
    bulk_insert(conn, credential_tags, ("credential_id", "tag"), tag_rows)


# -- secret versions ---------------------------------------------------------------------------
# Built once: a capture burst writes a version per event, and building the statement each
# time cost more than running it. The credential's row is locked ``FOR NO KEY UPDATE`` on
# PostgreSQL: writers of the row wait for each other, but the foreign-key checks of rows
# inserted that refer to it (links, queued pushes, run items: ``FOR KEY SHARE``) do not wait,
# so a run storing a chunk and a password change can't deadlock over the audit head.
_LOCK_SECRET_STATE = (
    sa.select(*columns_for(SecretState, credentials))
    .where(credentials.c.id == sa.bindparam("b_id"))
    .with_for_update(key_share=True)
)
_SET_CURRENT_SECRET = (
    credentials.update()
    .where(credentials.c.id == sa.bindparam("b_id"))
    .values(
        secret_version=sa.bindparam("b_secret_version"),
        version=sa.bindparam("b_version"),
        updated_at=sa.bindparam("b_now"),
        updated_by=sa.bindparam("b_by"),
        password_changed_at=sa.bindparam("b_now"),
    )
)


def lock_secret_state(conn: Connection, credential_id: str) -> SecretState:
    """The credential's client, secret version and version, locked until the transaction
    ends."""
    row = conn.execute(_LOCK_SECRET_STATE, {"b_id": credential_id}).one()
    return record(SecretState, row)


def set_current_secret(
    conn: Connection,
    credential_id: str,
    *,
    secret_version: int,
    version: int,
    by: str,
    now: dt.datetime,
) -> None:
    """Point the credential at ``secret_version`` (changed now) and set its ``version``."""
    conn.execute(
        _SET_CURRENT_SECRET,
        {
            "b_id": credential_id,
            "b_secret_version": secret_version,
            "b_version": version,
            "b_now": now,
            "b_by": by,
        },
    )
