"""Word-prefix search over people and groups (``people_terms``, ``group_terms``): their owner.

The approach of :mod:`credsync.storage.search` (credentials), on tables of the same shape:
each person's words (given name, surname, display name, username, e-mail; made by
:func:`credsync.storage.words.terms_of`) and each group's (name, e-mail) are rows clustered
by (client, term), so a search is an index range scan on SQLite and PostgreSQL alike: driven
from the rarest word of the query (each word's entries counted up to a cap, in one
statement), with an index probe per candidate for the other words, stopping at the limit. A
query matches when every one of its words is the start of one of the record's words, so
``ann ber`` finds "Anna Berg".
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from typing import Literal

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.sql.expression import UnaryExpression
from sqlalchemy.sql.operators import custom_op

from credsync.storage.bulk import bulk_insert
from credsync.storage.tables import clients, group_terms, groups, people, people_terms

__all__ = ["Kind", "forget", "index_new", "reindex", "search_ids"]

Kind = Literal["person", "group"]

# kind -> (terms table, its owner column, the records' table)
_TABLES: dict[str, tuple[sa.Table, str, sa.Table]] = {
    "person": (people_terms, "person_id", people),
    "group": (group_terms, "group_id", groups),
}
# Counting a word's entries stops at a cap: enough to tell a rare word from a common one.
# While every word reaches it, they are counted again with the next (as credentials' search).
WORD_COUNT_CAPS = (2000, 8000, 32000)
# A search whose rarest word has more entries than this first probes only this many of them
# (see search_ids).
HEAD = 1000
# Roughly how many index entries can be read into a hash for the cost of one probe.
PROBE_COST = 4


def forget(conn: Connection, kind: Kind, owner_id: str) -> None:
    """Remove a person's or a group's terms."""
    if kind == "person":
        conn.execute(people_terms.delete().where(people_terms.c.person_id == owner_id))
    else:
        conn.execute(group_terms.delete().where(group_terms.c.group_id == owner_id))


def reindex(
    conn: Connection, kind: Kind, owner_id: str, client_id: str, words: Iterable[str]
) -> None:
    """Replace a person's or a group's terms with ``words``."""
    forget(conn, kind, owner_id)
    _, owner, _ = _TABLES[kind]
    rows = [{"client_id": client_id, "term": w, owner: owner_id} for w in sorted(set(words))]
    if not rows:
        return
    if kind == "person":
        conn.execute(people_terms.insert(), rows)
    else:
        conn.execute(group_terms.insert(), rows)


def index_new(
    conn: Connection, kind: Kind, entries: Iterable[tuple[str, str, Iterable[str]]]
) -> None:
    """Index new people or groups (none has terms yet): ``(owner id, client id, words)``
    each, in one executemany."""
    table, owner, _ = _TABLES[kind]
    rows = [(client_id, w, owner_id) for owner_id, client_id, words in entries for w in set(words)]
    rows.sort()  # in the index's order: each page of it written once
    bulk_insert(conn, table, ("client_id", "term", owner), rows)


def _prefix_range(column: sa.ColumnElement[str], prefix: str) -> sa.ColumnElement[bool]:
    upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
    return sa.and_(column >= prefix, column < upper)


def _scope(
    terms: sa.FromClause, client_id: str | None, reach: Collection[str] | None
) -> sa.ColumnElement[bool]:
    """The terms of ``client_id``, or (None) of every client not archived among ``reach``
    (None: every client): an operator limited to some clients reads only their entries."""
    if client_id is not None:
        return terms.c.client_id == client_id
    live = sa.select(clients.c.id).where(clients.c.archived_at.is_(None))
    if reach is not None:
        live = live.where(clients.c.id.in_(sorted(reach)))
    return terms.c.client_id.in_(live)


def _probe(table: sa.FromClause, *where: sa.ColumnElement[bool]) -> sa.ColumnElement[bool]:
    """``EXISTS (... OFFSET 0)``: an index probe per candidate on both backends (see
    :func:`credsync.storage.search._probe` for why the OFFSET)."""
    zero = sa.literal_column("0", sa.Integer)
    return sa.select(sa.literal_column("1")).select_from(table).where(*where).offset(zero).exists()


def _rarest_first(
    conn: Connection,
    kind: Kind,
    words: list[str],
    client_id: str | None,
    reach: Collection[str] | None,
) -> tuple[list[str], dict[str, int]]:
    """``words``, the one with the fewest entries in scope first (longer first among
    equals), and their counts (none for a single word)."""
    if len(words) < 2:
        return words, {}
    terms, owner, _ = _TABLES[kind]
    found: dict[str, int] = {}
    for cap in WORD_COUNT_CAPS:
        counts = []
        for word in words:
            inner = (
                sa.select(terms.c[owner])
                .where(_scope(terms, client_id, reach), _prefix_range(terms.c.term, word))
                .limit(cap)
                .subquery()
            )
            counts.append(sa.select(sa.func.count()).select_from(inner).scalar_subquery())
        found = dict(zip(words, conn.execute(sa.select(*counts)).one(), strict=True))
        if min(found.values()) < cap:
            break
    return sorted(words, key=lambda w: (found[w], -len(w))), found


def search_ids(
    conn: Connection,
    kind: Kind,
    words: Sequence[str],
    client_id: str | None,
    conditions: Sequence[sa.ColumnElement[bool]],
    limit: int,
    *,
    reach: Collection[str] | None = None,
) -> list[str]:
    """The ids of at most ``limit`` people or groups of ``client_id`` (None: every client not
    archived, among ``reach`` when given: the clients the actor may see) that match every
    word and ``conditions`` (on the records' table), each once; which ones, when more match,
    is not defined.

    Driven from the rarest word, each other word a probe per candidate. When every word is
    common (the rarest has more than :data:`HEAD` entries) the matches may be few and far
    apart: each other word's range is then read once into a temporary index (SQLite), or
    every word's range hashed and intersected (PostgreSQL), instead of a probe per
    candidate."""
    ordered, counts = _rarest_first(conn, kind, [w for w in words if w], client_id, reach)
    if not ordered:
        return []
    scope = (client_id, reach)
    if len(ordered) < 2 or counts[ordered[0]] <= HEAD:
        return _run(conn, kind, ordered, scope, conditions, limit)
    found = _run(conn, kind, ordered, scope, conditions, limit, head=HEAD)
    if len(found) >= limit:
        return found
    # Probing on until the limit (as many candidates as the head's share of matches says)
    # against reading the other words' ranges whole (counted up to a cap: at least that).
    to_probe = counts[ordered[0]] if not found else HEAD * limit // len(found)
    if to_probe * PROBE_COST < sum(counts[w] for w in ordered[1:]):
        return _run(conn, kind, ordered, scope, conditions, limit)
    return _run(conn, kind, ordered, scope, conditions, limit, hashed=True)


def _intersected(
    conn: Connection,
    kind: Kind,
    ordered: list[str],
    scope: tuple[str | None, Collection[str] | None],
    conditions: Sequence[sa.ColumnElement[bool]],
    limit: int,
) -> list[str]:
    """PostgreSQL: the words' ranges hashed and intersected (``INTERSECT``: each record
    once), then ``conditions`` per record found, as credentials' search does
    (:func:`credsync.storage.search.intersected_ids`). Written as ``IN (subquery)``, the
    planner turned the lookup into a join it drove from the wrong side on a mis-estimate
    (seconds among 1,000,000 people, bench/people_search.py)."""
    terms, owner, table = _TABLES[kind]
    client_id, reach = scope
    ranges = [
        sa.select(terms.c[owner]).where(
            _scope(terms, client_id, reach), _prefix_range(terms.c.term, word)
        )
        for word in ordered
    ]
    both = sa.intersect(*ranges).subquery("m")
    query = (
        sa.select(both.c[owner])
        .join(table, table.c.id == both.c[owner])
        .where(*conditions)
        .limit(limit)
    )
    return list(conn.execute(query).scalars())


def _run(
    conn: Connection,
    kind: Kind,
    ordered: list[str],
    scope: tuple[str | None, Collection[str] | None],
    conditions: Sequence[sa.ColumnElement[bool]],
    limit: int,
    *,
    head: int | None = None,
    hashed: bool = False,
) -> list[str]:
    """The search driven from ``ordered[0]``'s range (only its first ``head`` entries, if
    given), each other word a probe per candidate, or with ``hashed`` a lookup in its range
    read once."""
    terms, owner, table = _TABLES[kind]
    client_id, reach = scope
    if hashed and conn.dialect.name != "sqlite":
        return _intersected(conn, kind, ordered, scope, conditions, limit)
    first: sa.FromClause
    if head is None:
        first = terms.alias("t0")
        driving = [_scope(first, client_id, reach), _prefix_range(first.c.term, ordered[0])]
    else:
        scoped = [_scope(terms, client_id, reach), _prefix_range(terms.c.term, ordered[0])]
        first = sa.select(terms.c.term, terms.c[owner]).where(*scoped).limit(head).subquery("t0")
        driving = []
    query = sa.select(first.c[owner]).join(table, table.c.id == first.c[owner]).where(*driving)
    for index, word in enumerate(ordered[1:], start=1):
        other = terms.alias(f"t{index}")
        if hashed:
            candidate: sa.ColumnElement[str] = first.c[owner]
            if conn.dialect.name == "sqlite":
                # The unary + keeps SQLite from driving the search from the list (see
                # credsync.storage.search.matching_ids).
                candidate = UnaryExpression(
                    candidate, operator=custom_op("+"), type_=candidate.type
                )
            ids = sa.select(other.c[owner]).where(
                _scope(other, client_id, reach), _prefix_range(other.c.term, word)
            )
            query = query.where(candidate.in_(ids))
            continue
        query = query.where(
            _probe(other, other.c[owner] == first.c[owner], _prefix_range(other.c.term, word))
        )
    # Once per record: only at the first of its terms that start with the driving word.
    earlier = terms.alias("d")
    query = query.where(
        *conditions,
        ~_probe(
            earlier,
            earlier.c[owner] == table.c.id,
            earlier.c.term >= ordered[0],
            earlier.c.term < first.c.term,
        ),
    )
    return list(conn.execute(query.limit(limit)).scalars())
