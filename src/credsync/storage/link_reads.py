"""Reads about links across directories and clients (read-only; the table is
:mod:`credsync.storage.links`'): the accounts claimed through another directory, the
credentials linked in another directory of the client, the checks of a page of credentials,
what switching credentials to enforce would overwrite, the links confirming them for pushes
concerns, and the credentials whose directory
password the vault does not know (status :data:`credsync.storage.links.PASSWORD_UNKNOWN`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Sequence
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.engine import Connection

from credsync.storage._rows import columns_for, one_of, records, within
from credsync.storage.credentials import effective_mode, visible
from credsync.storage.links import PASSWORD_UNKNOWN
from credsync.storage.tables import clients, credentials, directories, directory_accounts, links

__all__ = [
    "CheckRow",
    "ImpactRow",
    "PendingRow",
    "checks",
    "claimed_elsewhere",
    "count_of_directory",
    "enforce_impact",
    "linked_elsewhere",
    "pair_impact",
    "password_unknown",
    "password_unknown_counts",
    "password_unknown_in",
    "password_unknown_names",
    "to_check_again",
    "unconfirmed_of",
]

_IN_LIST = 500  # ids per IN (...) list


def count_of_directory(conn: Connection, directory_id: str) -> int:
    """How many links the directory has."""
    query = sa.select(sa.func.count()).where(links.c.directory_id == directory_id)
    return int(conn.execute(query).scalar_one())


# -- reads across directories --------------------------------------------------------------------
def claimed_elsewhere(
    conn: Connection, directory_id: str, account_ids: Iterable[str]
) -> dict[str, str]:
    """Which of ``account_ids`` are linked through another directory (the same domain added
    twice, or reached by two clients): account id -> that directory's name."""
    out: dict[str, str] = {}
    ids = list(account_ids)
    for start in range(0, len(ids), _IN_LIST):
        rows = conn.execute(
            sa.select(links.c.account_id, directories.c.name)
            .join(directories, directories.c.id == links.c.directory_id)
            .where(
                links.c.directory_id != directory_id,
                links.c.account_id.in_(ids[start : start + _IN_LIST]),
            )
        )
        out.update({r.account_id: r.name for r in rows})
    return out


def linked_elsewhere(
    conn: Connection, directory_id: str, client_id: str, *, kinds: Sequence[str]
) -> dict[str, str]:
    """Credentials of the client linked in another of its directories of one of ``kinds``:
    credential id -> that directory's name (the first by name)."""
    rows = conn.execute(
        sa.select(links.c.credential_id, directories.c.name)
        .join(directories, directories.c.id == links.c.directory_id)
        .where(
            directories.c.client_id == client_id,
            directories.c.kind.in_(kinds),
            links.c.directory_id != directory_id,
        )
        .order_by(directories.c.name_key)
    )
    out: dict[str, str] = {}
    for row in rows:
        out.setdefault(row.credential_id, row.name)
    return out


def to_check_again(
    conn: Connection, directory_id: str, client_id: str, since: dt.datetime, steady: Collection[str]
) -> set[str]:
    """Credentials whose links changed outside the directory's runs since ``since``, or
    whose last check is not one a run repeats unchanged: in this directory, a link confirmed
    for pushes (or made confirmed) since, a push attempt left without its outcome, a status
    not in ``steady`` (or none); in another directory of the client, a link made since (it
    decides where an account synced from on-premises is managed)."""
    here = sa.select(links.c.credential_id).where(
        links.c.directory_id == directory_id,
        sa.or_(
            links.c.link_confirmed_at >= since,
            links.c.push_attempt_run.is_not(None),
            links.c.status.is_(None),
            links.c.status.not_in(list(steady)),
        ),
    )
    elsewhere = (
        sa.select(links.c.credential_id)
        .join(directories, directories.c.id == links.c.directory_id)
        .where(
            directories.c.client_id == client_id,
            links.c.directory_id != directory_id,
            links.c.linked_at >= since,
        )
    )
    return set(conn.execute(here).scalars()) | set(conn.execute(elsewhere).scalars())


class CheckRow(NamedTuple):
    """A link's last check, with its directory's name and kind."""

    credential_id: str
    directory_id: str
    account_id: str
    status: str | None
    detail: str | None
    checked_at: dt.datetime | None
    directory_name: str
    directory_kind: str


def checks(conn: Connection, credential_ids: Sequence[str]) -> list[CheckRow]:
    """The links of these credentials (at most 500) in every directory."""
    query = (
        sa.select(
            *columns_for(
                CheckRow,
                links,
                directory_name=directories.c.name,
                directory_kind=directories.c.kind,
            )
        )
        .join(directories, directories.c.id == links.c.directory_id)
        .where(links.c.credential_id.in_(list(credential_ids)))
    )
    return records(CheckRow, conn.execute(query))


class ImpactRow(NamedTuple):
    """A credential and one directory of its client, with the link's state there (None when
    not linked) and the cached account's password stamp."""

    id: str
    title: str
    username: str
    directory: str
    account: str | None
    status: str | None
    confirmed_stamp: str | None
    password_stamp: str | None


def enforce_impact(
    conn: Connection,
    client_id: str,
    *,
    credential_id: str | None = None,
    follows_default_only: bool = False,
    not_in_modes: Sequence[str],
) -> list[ImpactRow]:
    """The client's live credentials whose effective mode is none of ``not_in_modes`` (just
    ``credential_id`` when given; only those following the client's default when
    ``follows_default_only``), each with every directory of the client, by title and
    directory name."""
    query = (
        sa.select(
            credentials.c.id,
            credentials.c.title,
            credentials.c.username,
            directories.c.name.label("directory"),
            directory_accounts.c.username.label("account"),
            links.c.status,
            links.c.confirmed_stamp,
            directory_accounts.c.password_stamp,
        )
        .join(clients, clients.c.id == credentials.c.client_id)
        .join(directories, directories.c.client_id == clients.c.id)
        .outerjoin(
            links,
            sa.and_(
                links.c.credential_id == credentials.c.id,
                links.c.directory_id == directories.c.id,
            ),
        )
        .outerjoin(
            directory_accounts,
            sa.and_(
                directory_accounts.c.directory_id == directories.c.id,
                directory_accounts.c.account_id == links.c.account_id,
            ),
        )
        .where(
            credentials.c.client_id == client_id,
            credentials.c.deleted_at.is_(None),
            effective_mode().not_in(list(not_in_modes)),
        )
        .order_by(credentials.c.title_key, directories.c.name_key)
    )
    if credential_id is not None:
        query = query.where(credentials.c.id == credential_id)
    if follows_default_only:
        query = query.where(credentials.c.sync_mode.is_(None))
    return records(ImpactRow, conn.execute(query))


# -- directory passwords the vault does not know -------------------------------------------------
def password_unknown() -> sa.ColumnElement[bool]:
    """The condition on ``credentials``: its password in one of its directories is unknown
    to the vault (for a query over ``credentials``)."""
    return sa.exists().where(
        links.c.credential_id == credentials.c.id, links.c.status == PASSWORD_UNKNOWN
    )


def password_unknown_in(conn: Connection, credential_ids: Sequence[str]) -> dict[str, list[str]]:
    """credential id -> the names of the directories whose password the vault does not know
    (sorted), for those of ``credential_ids`` that have any."""
    out: dict[str, list[str]] = {}
    ids = list(dict.fromkeys(credential_ids))
    for start in range(0, len(ids), _IN_LIST):
        rows = conn.execute(
            sa.select(links.c.credential_id, directories.c.name)
            .join(directories, directories.c.id == links.c.directory_id)
            .where(
                one_of(conn, links.c.credential_id, ids[start : start + _IN_LIST]),
                links.c.status == PASSWORD_UNKNOWN,
            )
            .order_by(directories.c.name_key)
        )
        for row in rows:
            out.setdefault(row.credential_id, []).append(row.name)
    return out


def password_unknown_names() -> sa.ColumnElement[Any]:
    """PostgreSQL: the names of the directories whose password the vault does not know for
    the credential (in :func:`password_unknown_in`'s order) as one array, None without any
    (a column of a query over ``credentials``)."""
    names = sa.func.array_agg(aggregate_order_by(directories.c.name, directories.c.name_key))
    query = (
        sa.select(names)
        .select_from(links)
        .join(directories, directories.c.id == links.c.directory_id)
        .where(links.c.credential_id == credentials.c.id, links.c.status == PASSWORD_UNKNOWN)
    )
    return query.scalar_subquery()


def password_unknown_counts(
    conn: Connection,
    *,
    include_directory_admin: bool,
    client_id: str | None = None,
    client_ids: Collection[str] | None = None,
) -> dict[str, int]:
    """Credentials outside the trash (directory_admin ones only with
    ``include_directory_admin``) whose password the vault does not know in one of their
    directories, per client name (of one client when given; archived clients left out)."""
    query = (
        sa.select(clients.c.name, sa.func.count(sa.distinct(credentials.c.id)))
        .join(credentials, credentials.c.client_id == clients.c.id)
        .join(links, links.c.credential_id == credentials.c.id)
        .where(
            links.c.status == PASSWORD_UNKNOWN,
            credentials.c.deleted_at.is_(None),
            clients.c.archived_at.is_(None),
            visible(include_directory_admin),
            within(clients.c.id, client_ids),
        )
        .group_by(clients.c.name)
    )
    if client_id is not None:
        query = query.where(credentials.c.client_id == client_id)
    return {name: int(count) for name, count in conn.execute(query)}


# -- the links confirming for pushes concerns (the writes are links.confirm_links) ---------------
class PendingRow(NamedTuple):
    """A link of a credential and one directory, with what confirming it means: the cached
    account's name and password stamp, the last check, and whether it is confirmed."""

    credential_id: str
    directory_id: str
    account_id: str
    title: str
    username: str
    directory: str
    account: str | None
    status: str | None
    confirmed_stamp: str | None
    password_stamp: str | None
    link_confirmed_at: dt.datetime | None
    client_id: str


_PENDING = (
    sa.select(
        *columns_for(
            PendingRow,
            links,
            credentials,
            directory=directories.c.name,
            account=directory_accounts.c.username,
            password_stamp=directory_accounts.c.password_stamp,
            client_id=credentials.c.client_id,
        )
    )
    .join(credentials, credentials.c.id == links.c.credential_id)
    .join(directories, directories.c.id == links.c.directory_id)
    .outerjoin(
        directory_accounts,
        sa.and_(
            directory_accounts.c.directory_id == links.c.directory_id,
            directory_accounts.c.account_id == links.c.account_id,
        ),
    )
)


def pair_impact(conn: Connection, pairs: Sequence[tuple[str, str]]) -> list[PendingRow]:
    """The links of these (credential id, directory id) pairs (at most a few hundred), by
    title and directory name."""
    out: list[PendingRow] = []
    for start in range(0, len(pairs), _IN_LIST):
        wanted = pairs[start : start + _IN_LIST]
        query = _PENDING.where(
            sa.or_(
                *(
                    sa.and_(links.c.credential_id == cid, links.c.directory_id == did)
                    for cid, did in wanted
                )
            )
        )
        out += records(PendingRow, conn.execute(query))
    return sorted(out, key=lambda r: (r.title.casefold(), r.directory.casefold()))


def unconfirmed_of(
    conn: Connection,
    client_id: str,
    *,
    credential_id: str | None = None,
    follows_default_only: bool = False,
) -> list[PendingRow]:
    """The client's live credentials' links not confirmed for pushes (just
    ``credential_id``'s when given; only those following the client's default when
    ``follows_default_only``)."""
    query = _PENDING.where(
        credentials.c.client_id == client_id,
        credentials.c.deleted_at.is_(None),
        links.c.link_confirmed_at.is_(None),
    )
    if credential_id is not None:
        query = query.where(credentials.c.id == credential_id)
    if follows_default_only:
        query = query.where(credentials.c.sync_mode.is_(None))
    return records(PendingRow, conn.execute(query))
