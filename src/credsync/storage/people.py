"""The people tables (``people``, ``person_accounts``): their owner.

A person is a client's end user as an identity (:mod:`credsync.vault.people` says what each
field means). Changes go through :func:`bump` (optimistic concurrency: it succeeds only from
the version read). The trash is ``deleted_at``, as for credentials. A person's accounts are
one per directory of the client, each known by its stable id there; one account belongs to
at most one person (a unique key).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping, Sequence
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from credsync.storage import _identity_rows as shared
from credsync.storage import federation, onboarding, person_links
from credsync.storage._rows import columns_for, one_of, record, records, within
from credsync.storage.bulk import insert_records, refresh_statistics
from credsync.storage.tables import people, person_accounts

__all__ = [
    "AccountRow",
    "MemberFacts",
    "PersonRow",
    "accounts_of",
    "bump",
    "by_account",
    "by_accounts",
    "by_username",
    "find_by_ref",
    "forget_credential",
    "forget_directory",
    "get",
    "in_display_order",
    "insert",
    "insert_many",
    "keep_statistics",
    "link_account",
    "link_new_accounts",
    "linked_to",
    "live",
    "live_ids_by_accounts",
    "lock",
    "member_facts",
    "owners_of",
    "page",
    "purge",
    "unlink_account",
    "usernames_taken",
]


class PersonRow(NamedTuple):
    id: str
    client_id: str
    given_name: str
    surname: str
    display_name: str
    display_key: str
    username: str
    username_key: str
    email: str
    usage_location: str
    department: str
    job_title: str
    enabled: bool
    credential_id: str | None
    source_directory_id: str | None
    sourced: str
    version: int
    created_at: dt.datetime
    created_by: str
    updated_at: dt.datetime
    updated_by: str
    deleted_at: dt.datetime | None
    deleted_by: str | None


class AccountRow(NamedTuple):
    person_id: str
    directory_id: str
    object_id: str
    linked_at: dt.datetime
    linked_by: str


_BASE = sa.select(*columns_for(PersonRow, people))
_CHANGEABLE = shared.changeable(PersonRow)


def insert(conn: Connection, row: PersonRow) -> None:
    conn.execute(people.insert().values(**row._asdict()))


_GET = _BASE.where(people.c.id == sa.bindparam("person_id"))  # built once: hot (sessions)


def get(conn: Connection, person_id: str) -> PersonRow | None:
    row = conn.execute(_GET, {"person_id": person_id}).first()
    return None if row is None else record(PersonRow, row)


def lock(conn: Connection, person_id: str) -> PersonRow | None:
    """Lock the row until the transaction ends, then read it again."""
    conn.execute(shared.lock(people, person_id))
    return get(conn, person_id)


def find_by_ref(
    conn: Connection, ref: str, *, min_chars: int, client_ids: Collection[str] | None
) -> PersonRow:
    """The person whose id is ``ref`` or starts with it (NotFound, or InvalidInput when
    ambiguous), in the trash or not, among ``client_ids`` (None: every client)."""
    found = shared.by_ref(
        conn, _BASE, people, ref, "person", min_chars=min_chars, client_ids=client_ids
    )
    return record(PersonRow, found)


def by_username(
    conn: Connection, username_key: str, client_ids: Collection[str] | None
) -> list[PersonRow]:
    """The people (at most one per client) with this case-folded username."""
    query = _BASE.where(
        people.c.username_key == username_key, within(people.c.client_id, client_ids)
    )
    return records(PersonRow, conn.execute(query.limit(50)))


def page(
    conn: Connection,
    client_id: str,
    *,
    trash: bool,
    fetch: int,
    after: tuple[str, str] | None = None,
) -> list[PersonRow]:
    """Up to ``fetch`` of the client's people (in the trash, or not) by display name, from
    just after ``after`` (display key, id) on."""
    query = (
        _BASE.where(people.c.client_id == client_id)
        .where(people.c.deleted_at.is_not(None) if trash else people.c.deleted_at.is_(None))
        .order_by(people.c.display_key, people.c.id)
        .limit(fetch)
    )
    if after is not None:
        query = query.where(sa.tuple_(people.c.display_key, people.c.id) > after)
    return records(PersonRow, conn.execute(query))


def in_display_order(conn: Connection, ids: Sequence[str]) -> list[PersonRow]:
    if not ids:
        return []
    return records(
        PersonRow, conn.execute(shared.in_order(_BASE, people, people.c.display_key, ids))
    )


def live(client_id: str | None, client_ids: Collection[str] | None) -> list[sa.ColumnElement[bool]]:
    """The conditions on ``people`` of a search: outside the trash, in reach, and (without a
    client) of a client that is not archived."""
    return shared.live(people, client_id, client_ids)


def bump(
    conn: Connection,
    person_id: str,
    version: int,
    *,
    by: str,
    now: dt.datetime,
    changes: Mapping[str, Any],
) -> bool:
    """Apply ``changes`` and make it version ``version + 1``, if it is still at ``version``;
    False when somebody else changed it first."""
    update = shared.bump(people, _CHANGEABLE, person_id, version, by=by, now=now, changes=changes)
    return bool(conn.execute(update).rowcount == 1)


def purge(conn: Connection, person_id: str) -> None:
    """Delete the person and their accounts (their search terms and memberships must be gone
    first: :mod:`credsync.storage.identity_search`, :mod:`credsync.storage.groups`)."""
    onboarding.forget_person(conn, person_id)
    federation.forget_person(conn, person_id)
    person_links.forget_person(conn, person_id)
    conn.execute(person_accounts.delete().where(person_accounts.c.person_id == person_id))
    conn.execute(people.delete().where(people.c.id == person_id))


# -- accounts ----------------------------------------------------------------------------------
_ACCOUNT = sa.select(*columns_for(AccountRow, person_accounts))


def accounts_of(conn: Connection, person_ids: Sequence[str]) -> dict[str, list[AccountRow]]:
    found: dict[str, list[AccountRow]] = {p: [] for p in person_ids}
    if not person_ids:
        return found
    query = _ACCOUNT.where(person_accounts.c.person_id.in_(list(person_ids))).order_by(
        person_accounts.c.person_id, person_accounts.c.linked_at
    )
    for row in records(AccountRow, conn.execute(query)):
        found[row.person_id].append(row)
    return found


def by_account(conn: Connection, directory_id: str, object_id: str) -> PersonRow | None:
    """The person linked to that account of that directory, if any."""
    query = _BASE.join_from(
        people, person_accounts, person_accounts.c.person_id == people.c.id
    ).where(
        person_accounts.c.directory_id == directory_id, person_accounts.c.object_id == object_id
    )
    row = conn.execute(query).first()
    return None if row is None else record(PersonRow, row)


def linked_to(conn: Connection, directory_id: str) -> list[tuple[PersonRow, str]]:
    """The directory's accounts linked to people not in the trash: (person, object id), in
    display order."""
    return shared.linked_to(
        conn, PersonRow, people, person_accounts.c.person_id, people.c.display_key, directory_id
    )


def owners_of(conn: Connection, directory_id: str, object_ids: Sequence[str]) -> dict[str, str]:
    """Object id -> the person (in the trash or not) linked to that account of the
    directory, for those of ``object_ids`` that are one (500 ids a query)."""
    ids = sorted(set(object_ids))
    found: dict[str, str] = {}
    for start in range(0, len(ids), 500):
        query = sa.select(person_accounts.c.object_id, person_accounts.c.person_id).where(
            person_accounts.c.directory_id == directory_id,
            person_accounts.c.object_id.in_(ids[start : start + 500]),
        )
        found.update((str(o), str(p)) for o, p in conn.execute(query).all())
    return found


def link_account(conn: Connection, row: AccountRow) -> None:
    """Link a person to an account (replacing their link in that directory, if any)."""
    unlink_account(conn, row.person_id, row.directory_id)
    conn.execute(person_accounts.insert().values(**row._asdict()))


def unlink_account(conn: Connection, person_id: str, directory_id: str) -> bool:
    result = conn.execute(
        person_accounts.delete().where(
            person_accounts.c.person_id == person_id,
            person_accounts.c.directory_id == directory_id,
        )
    )
    return bool(result.rowcount)


def forget_credential(conn: Connection, credential_id: str) -> None:
    """A purged credential is nobody's primary credential any more."""
    conn.execute(
        people.update().where(people.c.credential_id == credential_id).values(credential_id=None)
    )


def forget_directory(conn: Connection, directory_id: str) -> None:
    """A removed directory: its accounts are unlinked and the attributes it was the source
    of truth of become the vault's own."""
    unlink, own = shared.forget_directory(people, person_accounts, directory_id)
    conn.execute(unlink)
    conn.execute(own)


# -- many at a time (the directory import) -----------------------------------------------------
def by_accounts(
    conn: Connection, directory_id: str, object_ids: Sequence[str]
) -> dict[str, PersonRow]:
    """Object id -> the person linked to that account of that directory (those linked)."""
    return shared.by_objects(
        conn, PersonRow, people, person_accounts.c.person_id, directory_id, object_ids
    )


def usernames_taken(conn: Connection, client_id: str, username_keys: Sequence[str]) -> set[str]:
    """Those of the case-folded usernames a person of the client has (in the trash or not)."""
    found: set[str] = set()
    for chunk in shared.chunks(username_keys):
        query = sa.select(people.c.username_key).where(
            people.c.client_id == client_id, one_of(conn, people.c.username_key, chunk)
        )
        found.update(conn.execute(query).scalars())
    return found


def live_ids_by_accounts(
    conn: Connection, directory_id: str, object_ids: Sequence[str]
) -> dict[str, str]:
    """Object id -> the id of the person outside the trash linked to that account."""
    return shared.live_ids_by_objects(
        conn, people, person_accounts.c.person_id, directory_id, object_ids
    )


class MemberFacts(NamedTuple):
    """What adding a person to a group needs to know of them."""

    client_id: str
    username: str
    in_trash: bool


def member_facts(conn: Connection, person_ids: Sequence[str]) -> dict[str, MemberFacts]:
    found: dict[str, MemberFacts] = {}
    columns = (people.c.id, people.c.client_id, people.c.username, people.c.deleted_at)
    for chunk in shared.chunks(person_ids):
        query = sa.select(*columns).where(one_of(conn, people.c.id, chunk))
        for person_id, client_id, username, deleted_at in conn.execute(query):
            found[person_id] = MemberFacts(client_id, username, deleted_at is not None)
    return found


def insert_many(conn: Connection, rows: Sequence[PersonRow]) -> None:
    insert_records(conn, people, rows)


def link_new_accounts(conn: Connection, rows: Sequence[AccountRow]) -> None:
    """Link accounts to people who have none in that directory yet (new people)."""
    insert_records(conn, person_accounts, rows)


def keep_statistics(conn: Connection) -> None:
    """Fresh planner statistics of the tables of people and their directory links, once an
    import has grown them (PostgreSQL: :func:`credsync.storage.bulk.refresh_statistics`).
    Called before a batch's reads."""
    refresh_statistics(conn, (people, person_accounts))
