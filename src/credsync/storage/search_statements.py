"""The statements of the word-prefix search (:mod:`credsync.storage.search`), each built once
per shape and run with the values of a search as parameters.

A search makes 3-5 statements, each of a handful of aliases, subqueries and prefix ranges.
Built anew at every call, SQLAlchemy spent ~1 ms of Python on each (making the construct and
its cache key) before it found the compiled SQL in its cache. Here a statement is built the
first time its *shape* is asked for (how many words, one client or several or all, a tag
filter or not, a head or not, the reader's access) with named bind parameters in place of
the words, the client ids, the caps and the limits, and kept (:func:`functools.lru_cache`);
a search only fills in a :class:`Query`'s parameters. The SQL is the text it was when built
per call, so PostgreSQL plans it the same (but for the all-clients intersection, now made
client by client: :func:`intersected_ids`).

Parameters: ``w0``, ``w0_end`` ... (the prefix range of each word: ``term >= w0 AND term <
w0_end``), ``client`` (one client) or ``clients`` (several, an expanding ``IN``), ``access``
(the reader's clients, expanding), ``tag``, ``cap``, ``head`` and ``lim``.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.engine import Connection
from sqlalchemy.sql.expression import UnaryExpression
from sqlalchemy.sql.operators import custom_op

from credsync.storage.credentials import visible
from credsync.storage.tables import clients, credential_tags, credentials, search_terms

__all__ = [
    "Filter",
    "Query",
    "Scope",
    "capped_counts",
    "clients_having",
    "having_and_counts",
    "intersected_ids",
    "matching_ids",
    "prefix_end",
    "sample_hits",
]

# Where a search reads: one client's id, several clients' ids, or None for every client that
# is not archived.
Scope = str | tuple[str, ...] | None
_ScopeKind = Literal["one", "some", "all"]


@dataclass(frozen=True)
class Filter:
    """Which credentials a search may return, besides matching its words: never one in the
    trash; one of type directory_admin only with ``include_directory_admin``; only one of
    ``client_ids`` when given (per-client access)."""

    include_directory_admin: bool = True
    client_ids: tuple[str, ...] | None = None

    @property
    def _shape(self) -> tuple[bool, bool]:
        return self.include_directory_admin, self.client_ids is not None


@dataclass(frozen=True)
class Query:
    """A statement of one shape (built once) and the values of its parameters."""

    statement: sa.Select[Any]
    params: Mapping[str, Any] = field(default_factory=dict)

    def ids(self, conn: Connection) -> list[str]:
        """Run it: the first column of every row."""
        return list(conn.execute(self.statement, self.params).scalars())

    def row(self, conn: Connection) -> sa.Row[Any]:
        """Run it: its one row."""
        return conn.execute(self.statement, self.params).one()


def prefix_end(prefix: str) -> str:
    """The first string after every string that starts with ``prefix`` (not empty)."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


def _word_params(words: Sequence[str], name: str = "w") -> dict[str, str]:
    params = {}
    for index, word in enumerate(words):
        params[f"{name}{index}"] = word
        params[f"{name}{index}_end"] = prefix_end(word)
    return params


def _scope_kind(scope: Scope) -> _ScopeKind:
    if isinstance(scope, str):
        return "one"
    return "all" if scope is None else "some"


def _scope_params(scope: Scope) -> dict[str, Any]:
    if isinstance(scope, str):
        return {"client": scope}
    return {} if scope is None else {"clients": list(scope)}


def _filter_params(where: Filter) -> dict[str, Any]:
    return {} if where.client_ids is None else {"access": sorted(where.client_ids)}


# -- pieces of statements (called only while a shape is built) ----------------------------------
def _in_range(column: sa.ColumnElement[str], name: str) -> sa.ColumnElement[bool]:
    return sa.and_(column >= sa.bindparam(name), column < sa.bindparam(f"{name}_end"))


def _in_scope(terms: sa.FromClause, kind: _ScopeKind) -> sa.ColumnElement[bool]:
    if kind == "one":
        return terms.c.client_id == sa.bindparam("client")
    if kind == "some":
        return terms.c.client_id.in_(sa.bindparam("clients", expanding=True))
    return terms.c.client_id.in_(sa.select(clients.c.id).where(clients.c.archived_at.is_(None)))


def _conditions(shape: tuple[bool, bool]) -> list[sa.ColumnElement[bool]]:
    include_directory_admin, restricted = shape
    conditions = [credentials.c.deleted_at.is_(None), visible(include_directory_admin)]
    if restricted:
        conditions.append(credentials.c.client_id.in_(sa.bindparam("access", expanding=True)))
    else:
        conditions.append(sa.true())
    return conditions


def _int(name: str) -> sa.BindParameter[int]:
    return sa.bindparam(name, type_=sa.Integer)


def _probe(table: sa.FromClause, *where: sa.ColumnElement[bool]) -> sa.ColumnElement[bool]:
    """``EXISTS (SELECT 1 FROM table WHERE ...)``, evaluated as an index probe per candidate.

    ``OFFSET 0`` keeps PostgreSQL from turning it into a join over every row of ``table`` that
    matches (a hash semi-join, planned on row estimates that prefix ranges make unreliable): the
    search then stops as soon as it has found ``limit`` credentials. SQLite probes either way."""
    zero = sa.literal_column("0", sa.Integer)
    return sa.select(sa.literal_column("1")).select_from(table).where(*where).offset(zero).exists()


def _word_probes(
    count: int, credential_id: sa.ColumnElement[str], tag: bool, first: int = 1, name: str = "w"
) -> list[sa.ColumnElement[bool]]:
    """A probe per word ``name{first}`` .. (has the credential a term starting with it?) and
    one for the tag."""
    probes = []
    for index in range(first, first + count):
        other = search_terms.alias(f"t{index}")
        probes.append(
            _probe(
                other,
                other.c.credential_id == credential_id,
                _in_range(other.c.term, f"{name}{index}"),
            )
        )
    if tag:
        probes.append(
            _probe(
                credential_tags,
                credential_tags.c.credential_id == credential_id,
                credential_tags.c.tag == sa.bindparam("tag"),
            )
        )
    return probes


def _range_ids(name: str, kind: _ScopeKind) -> sa.Select[Any]:
    """The credential ids of a word's index range in scope (a credential may come twice)."""
    return sa.select(search_terms.c.credential_id).where(
        _in_scope(search_terms, kind), _in_range(search_terms.c.term, name)
    )


def _limited(query: sa.Select[Any], limited: bool) -> sa.Select[Any]:
    return query.limit(_int("lim")) if limited else query


# -- counting ---------------------------------------------------------------------------------
@functools.lru_cache(maxsize=64)
def _capped_counts(count: int, kind: _ScopeKind) -> sa.Select[Any]:
    columns = []
    for index in range(count):
        inner = (
            sa.select(search_terms.c.credential_id)
            .where(_in_scope(search_terms, kind), _in_range(search_terms.c.term, f"w{index}"))
            .limit(_int("cap"))
            .subquery()
        )
        columns.append(sa.select(sa.func.count()).select_from(inner).scalar_subquery())
    return sa.select(*columns)


def capped_counts(words: Sequence[str], scope: Scope, cap: int) -> Query:
    """How many index entries in scope start with each of ``words`` (one column each),
    counting no further than ``cap``: enough to tell a rare word from a common one at the cost
    of a short index range scan."""
    params = {**_word_params(words), **_scope_params(scope), "cap": cap}
    return Query(_capped_counts(len(words), _scope_kind(scope)), params)


# When every word of a search has more entries than the last cap, the search is driven from
# the word among whose first entries the other words match most often (see search.rank).
SAMPLE_SIZE = 500


@functools.lru_cache(maxsize=64)
def _sample_hits(count: int, kind: _ScopeKind) -> sa.Select[Any]:
    columns = []
    for index in range(count):
        terms = search_terms.alias()
        head = (
            sa.select(terms.c.credential_id)
            .where(_in_scope(terms, kind), _in_range(terms.c.term, f"w{index}"))
            .limit(SAMPLE_SIZE)
            .subquery()
        )
        probes = []
        for other in range(count):
            if other != index:
                alias = search_terms.alias()
                probes.append(
                    _probe(
                        alias,
                        alias.c.credential_id == head.c.credential_id,
                        _in_range(alias.c.term, f"w{other}"),
                    )
                )
        hits = sa.select(sa.func.count()).select_from(head).where(*probes)
        columns.append(hits.scalar_subquery())
    return sa.select(*columns)


def sample_hits(words: Sequence[str], scope: Scope) -> Query:
    """For each of ``words`` (one column each): how many of its first :data:`SAMPLE_SIZE`
    index entries in scope belong to credentials that also have every other word."""
    params = {**_word_params(words), **_scope_params(scope)}
    return Query(_sample_hits(len(words), _scope_kind(scope)), params)


@functools.lru_cache(maxsize=16)
def _clients_having(count: int) -> sa.Select[Any]:
    having = []
    for index in range(count):
        terms = search_terms.alias()
        having.append(
            sa.select(sa.literal_column("1"))
            .select_from(terms)
            .where(terms.c.client_id == clients.c.id, _in_range(terms.c.term, f"w{index}"))
            .exists()
        )
    query = sa.select(clients.c.id).where(clients.c.archived_at.is_(None), *having)
    return query.order_by(clients.c.id)


def clients_having(words: Sequence[str]) -> Query:
    """The clients, not archived, with an index entry starting with each of ``words``: one
    index probe a client and word."""
    return Query(_clients_having(len(words)), _word_params(words))


@functools.lru_cache(maxsize=16)
def _having_and_counts(count: int) -> sa.Select[Any]:
    having = _clients_having(count).subquery("having")
    clients_array = sa.select(
        sa.func.array_agg(aggregate_order_by(having.c.id, having.c.id))
    ).scalar_subquery()
    return sa.select(clients_array, *_capped_counts(count, "all").selected_columns)


def having_and_counts(words: Sequence[str], cap: int) -> Query:
    """PostgreSQL: :func:`clients_having` (an array, None for none) and
    :func:`capped_counts` in every client that is not archived, in one row: one round trip
    where an all-clients search made two."""
    return Query(_having_and_counts(len(words)), {**_word_params(words), "cap": cap})


# -- searching --------------------------------------------------------------------------------
@functools.lru_cache(maxsize=256)
def _matching_ids(
    count: int,
    kind: _ScopeKind,
    shape: tuple[bool, bool],
    tag: bool,
    head: bool,
    hashed: int,
    limited: bool,
) -> sa.Select[Any]:
    first: sa.FromClause
    driving: list[sa.ColumnElement[bool]]
    if not head:
        first = search_terms.alias("t0")
        driving = [_in_scope(first, kind), _in_range(first.c.term, "w0")]
    else:
        first = (
            sa.select(search_terms.c.term, search_terms.c.credential_id)
            .where(_in_scope(search_terms, kind), _in_range(search_terms.c.term, "w0"))
            .limit(_int("head"))
            .subquery("t0")
        )
        driving = []
    query = (
        sa.select(first.c.credential_id)
        .join(credentials, credentials.c.id == first.c.credential_id)
        .where(*driving)
    )
    for index in range(hashed):
        # The unary + keeps SQLite from driving the search from that list (through the index
        # on credential_id): it builds a temporary index of the list and looks candidates up.
        unindexed = UnaryExpression(
            first.c.credential_id, operator=custom_op("+"), type_=first.c.credential_id.type
        )
        query = query.where(unindexed.in_(_range_ids(f"h{index}", kind)))
    query = query.where(*_word_probes(count - 1, first.c.credential_id, tag))
    # On credentials.id rather than t0.credential_id (the same value), so that it is made
    # with the conditions on the credential's row, after every other test.
    earlier = search_terms.alias("d")
    query = query.where(
        *_conditions(shape),
        ~_probe(
            earlier,
            earlier.c.credential_id == credentials.c.id,
            earlier.c.term >= sa.bindparam("w0"),
            earlier.c.term < first.c.term,
        ),
    )
    return _limited(query, limited)


def matching_ids(
    words: Sequence[str],
    client_id: Scope,
    where: Filter = Filter(),
    limit: int | None = None,
    *,
    tag: str | None = None,
    head: int | None = None,
    hashed: Sequence[str] = (),
) -> Query:
    """The ids of credentials that match every word, ``tag`` and ``where``, at most
    ``limit`` of them, each once, in the order the index yields them (so a search that matches
    a hundred thousand credentials stops after ``limit``).

    The search is driven from ``words[0]``'s index range (only its first ``head`` entries, if
    given); each other word and the tag is a probe (an index lookup) per candidate, made
    before the candidate's credential row is read; each word of ``hashed`` (SQLite only) is
    instead a lookup in a temporary index of the credential ids of its range, built once
    before the first candidate. A credential with several terms starting
    with ``words[0]`` is kept at the first of them only (a probe too, made last): a
    ``DISTINCT`` would make PostgreSQL collect and sort every match before returning the first
    ``limit``."""
    statement = _matching_ids(
        len(words),
        _scope_kind(client_id),
        where._shape,
        bool(tag),
        head is not None,
        len(hashed),
        limit is not None,
    )
    params: dict[str, Any] = {
        **_word_params(words),
        **_word_params(hashed, "h"),
        **_scope_params(client_id),
        **_filter_params(where),
    }
    if tag:
        params["tag"] = tag.strip().lower()
    if head is not None:
        params["head"] = head
    if limit is not None:
        params["lim"] = limit
    return Query(statement, params)


@functools.lru_cache(maxsize=256)
def _intersected_ids(
    count: int, probed: int, kind: _ScopeKind, shape: tuple[bool, bool], tag: bool, limited: bool
) -> sa.Select[Any]:
    if kind == "one":
        both = sa.intersect(*(_range_ids(f"w{index}", kind) for index in range(count)))
        match = both.subquery("m").c.credential_id
        query = sa.select(match)
    else:
        # Client by client (a LATERAL subquery each): the search stops after the client in
        # which the limit is reached, rather than reading every client's ranges first.
        owner = clients.alias("c")
        ranges = []
        for index in range(count):
            terms = search_terms.alias(f"r{index}")
            ranges.append(
                sa.select(terms.c.credential_id)
                .where(terms.c.client_id == owner.c.id, _in_range(terms.c.term, f"w{index}"))
                .correlate(owner)
            )
        per_client = sa.intersect(*ranges).lateral("m")
        match = per_client.c.credential_id
        in_scope = (
            owner.c.id.in_(sa.bindparam("clients", expanding=True))
            if kind == "some"
            else owner.c.archived_at.is_(None)
        )
        query = sa.select(match).select_from(owner).join(per_client, sa.true()).where(in_scope)
    query = query.where(
        *_word_probes(probed, match, tag, first=count),
        _probe(credentials, credentials.c.id == match, *_conditions(shape)),
    )
    return _limited(query, limited)


def intersected_ids(
    words: Sequence[str],
    client_id: Scope,
    where: Filter = Filter(),
    limit: int | None = None,
    *,
    probed: Sequence[str] = (),
    tag: str | None = None,
    dialect: str = "postgresql",
) -> Query:
    """The same credentials as :func:`matching_ids` with ``words + probed``, found by
    intersecting the index ranges of ``words`` (each range read whole, once): cheaper than a
    probe per candidate when the words are common but seldom found together. ``probed`` words,
    ``tag`` and ``where`` are then checked per credential found (a probe each).

    PostgreSQL hashes the ranges (``INTERSECT``). SQLite would build a temporary B-tree for
    each side of an ``INTERSECT``, so there ``words[0]``'s range drives the search as in
    :func:`matching_ids`, each other word a lookup in one temporary index of its range
    (``hashed``): one index built less, and the search stops at ``limit``."""
    if dialect == "sqlite":
        return matching_ids([words[0], *probed], client_id, where, limit, tag=tag, hashed=words[1:])
    statement = _intersected_ids(
        len(words), len(probed), _scope_kind(client_id), where._shape, bool(tag), limit is not None
    )
    params: dict[str, Any] = {
        **_word_params([*words, *probed]),
        **_scope_params(client_id),
        **_filter_params(where),
    }
    if tag:
        params["tag"] = tag.strip().lower()
    if limit is not None:
        params["lim"] = limit
    return Query(statement, params)
