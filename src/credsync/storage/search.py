"""Word-prefix search over title, username, url and tags (``search_terms``).

Each credential's words (made by :func:`credsync.storage.words.credential_terms`: the folded
words of its title, username, url and tags, punctuated ones also joined, less those that start
a longer one of its own) are rows of ``search_terms`` with a B-tree index, so a search is an
index range scan on SQLite and PostgreSQL alike (no extensions): driven from the rarest word
with an index probe per candidate for the others, or, when the words are common but seldom
found together, by intersecting their ranges (:func:`search_ids`). A query matches a
credential when every word of the query is the start of one of its words, so ``cont adm``
finds "Contoso domain admin".
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.sql.expression import UnaryExpression
from sqlalchemy.sql.operators import custom_op

from credsync.storage import term_stats
from credsync.storage._rows import within
from credsync.storage.bulk import bulk_insert
from credsync.storage.credentials import visible
from credsync.storage.tables import clients, credential_tags, credentials, search_terms
from credsync.storage.words import MAX_TERM, joined
from credsync.storage.words import words as words_of

__all__ = [
    "HEAD",
    "MAX_TERM",
    "PROBE_COST",
    "Ranking",
    "add_terms",
    "capped_count",
    "find",
    "forget",
    "intersected_ids",
    "matching_ids",
    "rank",
    "rarest_first",
    "reindex",
    "search_ids",
]


# -- the index ---------------------------------------------------------------------------------
def add_terms(conn: Connection, rows: Iterable[tuple[str, str, str]]) -> None:
    """Index (client id, term, credential id) rows, with one executemany."""
    ordered = sorted(rows)  # in key order: each batch lands in neighbouring B-tree pages
    bulk_insert(conn, search_terms, ("client_id", "term", "credential_id"), ordered)


def forget(conn: Connection, credential_id: str) -> None:
    """Remove a credential's terms."""
    conn.execute(search_terms.delete().where(search_terms.c.credential_id == credential_id))


def reindex(conn: Connection, credential_id: str, client_id: str, terms: Iterable[str]) -> None:
    """Replace a credential's terms with ``terms``."""
    forget(conn, credential_id)
    rows = [{"term": t, "credential_id": credential_id, "client_id": client_id} for t in terms]
    if rows:
        conn.execute(search_terms.insert(), rows)


def find(
    conn: Connection,
    words: list[str],
    *,
    client_id: str | None,
    include_directory_admin: bool,
    tag: str | None = None,
    limit: int = 100,
    client_ids: Collection[str] | None = None,
) -> list[str]:
    """The ids of at most ``limit`` credentials outside the trash that match every word and
    ``tag`` (:func:`search_ids`), in one client or (``client_id`` None) in every client that
    is not archived; only in ``client_ids`` when given (per-client access)."""
    conditions = [
        credentials.c.deleted_at.is_(None),
        visible(include_directory_admin),
        within(credentials.c.client_id, client_ids),
    ]
    return search_ids(conn, words, client_id, conditions, limit, tag=tag)


# -- searching ---------------------------------------------------------------------------------
def _prefix_range(column: sa.ColumnElement[str], prefix: str) -> sa.ColumnElement[bool]:
    upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
    return sa.and_(column >= prefix, column < upper)


# Where a search reads: one client's id, several clients' ids, or None for every client that
# is not archived.
Scope = str | tuple[str, ...] | None


def _scope(terms: sa.FromClause, client_id: Scope) -> sa.ColumnElement[bool]:
    if isinstance(client_id, str):
        return terms.c.client_id == client_id
    if client_id is not None:
        return terms.c.client_id.in_(client_id)
    return terms.c.client_id.in_(sa.select(clients.c.id).where(clients.c.archived_at.is_(None)))


# Counting a word's index entries stops at a cap; when every word of a search reaches it, they
# are counted again with a higher cap (x4 each time, up to the last), so that a word with 3,000
# entries is still told from one with 60,000 (see rarest_first).
WORD_COUNT_CAPS = (2000, 8000, 32000)
WORD_COUNT_CAP = WORD_COUNT_CAPS[0]
# Ranking.cap when the counts of words past the first cap are PostgreSQL's estimates.
UNCAPPED = 2**62


def capped_count(word: str, client_id: Scope, cap: int = WORD_COUNT_CAP) -> sa.Select[int]:
    """How many index entries start with ``word``, counting no further than ``cap``: enough
    to tell a rare word from a common one at the cost of a short index range scan."""
    inner = (
        sa.select(search_terms.c.credential_id)
        .where(_scope(search_terms, client_id), _prefix_range(search_terms.c.term, word))
        .limit(cap)
        .subquery()
    )
    return sa.select(sa.func.count()).select_from(inner)


# When every word of a search has more entries than the last cap, the search is driven from
# the word among whose first entries (in the order the search reads them) the other words
# match most often, found by probing that many of each word's first entries.
SAMPLE_SIZE = 500


def _sample_hits(word: str, others: list[str], client_id: Scope) -> sa.ScalarSelect[int]:
    """How many of ``word``'s first :data:`SAMPLE_SIZE` index entries in scope belong to
    credentials that also have every word of ``others``."""
    terms = search_terms.alias()
    head = (
        sa.select(terms.c.credential_id)
        .where(_scope(terms, client_id), _prefix_range(terms.c.term, word))
        .limit(SAMPLE_SIZE)
        .subquery()
    )
    probes = []
    for other in others:
        alias = search_terms.alias()
        probes.append(
            _probe(
                alias,
                alias.c.credential_id == head.c.credential_id,
                _prefix_range(alias.c.term, other),
            )
        )
    return sa.select(sa.func.count()).select_from(head).where(*probes).scalar_subquery()


@dataclass(frozen=True)
class Ranking:
    """Words in the order a search should use them (see :func:`rarest_first`) and how many
    index entries in scope each has, counted no further than ``cap`` (a word at ``cap`` has at
    least that many). No counts for a single word."""

    words: list[str]
    counts: dict[str, int]
    cap: int


def _counts(conn: Connection, words: list[str], client_id: Scope, cap: int) -> dict[str, int]:
    # One statement: every word's count as a scalar subquery.
    every = sa.select(*(capped_count(w, client_id, cap).scalar_subquery() for w in words))
    return dict(zip(words, conn.execute(every).one(), strict=True))


def rank(conn: Connection, words: list[str], client_id: Scope, *, fallback: str = "") -> Ranking:
    """:func:`rarest_first`'s order with the counts it was made from."""
    if len(words) < 2:
        return Ranking(list(words), {}, 0)
    counts: dict[str, int] = {}
    for cap in WORD_COUNT_CAPS:
        counts = _counts(conn, words, client_id, cap)
        if min(counts.values()) < cap:
            order = sorted(words, key=lambda w: (counts[w], w == fallback, -len(w)))
            return Ranking(order, counts, cap)
        estimated = term_stats.estimates(conn, words)
        if estimated is not None:
            # PostgreSQL's statistics tell the common words apart without reading them.
            counts = {w: max(cap, estimated[w]) for w in words}
            order = sorted(words, key=lambda w: (counts[w], w == fallback, -len(w)))
            return Ranking(order, counts, UNCAPPED)
    cap = WORD_COUNT_CAPS[-1]
    if sum(w != fallback for w in words) < 2:
        # One word and the tag's term: the word drives (a tag is spread over every client).
        return Ranking(sorted(words, key=lambda w: (w == fallback, -len(w))), counts, cap)
    samples = sa.select(*(_sample_hits(w, [o for o in words if o != w], client_id) for w in words))
    hits = dict(zip(words, conn.execute(samples).one(), strict=True))
    return Ranking(sorted(words, key=lambda w: (-hits[w], w == fallback, -len(w))), counts, cap)


def rarest_first(
    conn: Connection, words: list[str], client_id: Scope, *, fallback: str = ""
) -> list[str]:
    """``words`` in the order a search should use them: the one with the fewest index entries
    in scope first (the search is driven from it), longer words first among equals, except
    ``fallback`` (a tag filter's term), which goes after the words it ties with.

    Each word is counted up to the first cap. When every word reaches it on PostgreSQL, the
    terms' statistics rank them (:mod:`credsync.storage.term_stats`: estimates over every
    client, no index entry read; a count is then the larger of the cap and the estimate, and
    the ranking's cap :data:`UNCAPPED`). Else, only while every word reaches the cap (the
    rarest is not known yet) are they counted again with the next one. When every word
    reaches the last cap, the count tells nothing more and the search is driven from the word
    whose first entries give the most matches: words can cluster (a client's name is in that
    client's credentials only, and the search reads one client after another), so the
    word to read from is the one where the matches are found soonest. (Not for one word and
    ``fallback``: the word drives then, without the samples' cost.)"""
    return rank(conn, words, client_id, fallback=fallback).words


def _probe(table: sa.FromClause, *where: sa.ColumnElement[bool]) -> sa.ColumnElement[bool]:
    """``EXISTS (SELECT 1 FROM table WHERE ...)``, evaluated as an index probe per candidate.

    ``OFFSET 0`` keeps PostgreSQL from turning it into a join over every row of ``table`` that
    matches (a hash semi-join, planned on row estimates that prefix ranges make unreliable): the
    search then stops as soon as it has found ``limit`` credentials. SQLite probes either way."""
    zero = sa.literal_column("0", sa.Integer)
    return sa.select(sa.literal_column("1")).select_from(table).where(*where).offset(zero).exists()


def matching_ids(
    words: list[str],
    client_id: Scope,
    conditions: Sequence[sa.ColumnElement[bool]] = (),
    limit: int | None = None,
    *,
    tag: str | None = None,
    head: int | None = None,
    hashed: Sequence[str] = (),
) -> sa.Select[str]:
    """The ids of credentials that match every word, ``tag`` and ``conditions`` (on
    ``credentials``), at most ``limit`` of them, each once, in the order the index yields them
    (so a search that matches a hundred thousand credentials stops after ``limit``).

    The search is driven from ``words[0]``'s index range (only its first ``head`` entries, if
    given); each other word and the tag is a probe (an index lookup) per candidate, made
    before the candidate's credential row is read; each word of ``hashed`` (SQLite only) is
    instead a lookup in a temporary index of the credential ids of its range, built once
    before the first candidate. A credential with several terms starting
    with ``words[0]`` is kept at the first of them only (a probe too, made last): a
    ``DISTINCT`` would make PostgreSQL collect and sort every match before returning the first
    ``limit``."""
    driving = [_scope(search_terms, client_id), _prefix_range(search_terms.c.term, words[0])]
    first: sa.FromClause
    if head is None:
        first = search_terms.alias("t0")
        driving = [_scope(first, client_id), _prefix_range(first.c.term, words[0])]
    else:
        first = (
            sa.select(search_terms.c.term, search_terms.c.credential_id)
            .where(*driving)
            .limit(head)
            .subquery("t0")
        )
        driving = []
    query = (
        sa.select(first.c.credential_id)
        .join(credentials, credentials.c.id == first.c.credential_id)
        .where(*driving)
    )
    for word in hashed:
        # The unary + keeps SQLite from driving the search from that list (through the index
        # on credential_id): it builds a temporary index of the list and looks candidates up.
        unindexed = UnaryExpression(
            first.c.credential_id, operator=custom_op("+"), type_=first.c.credential_id.type
        )
        query = query.where(unindexed.in_(_range_ids(word, client_id)))
    query = query.where(*_word_probes(words[1:], first.c.credential_id, tag))
    # On credentials.id rather than t0.credential_id (the same value), so that it is made
    # with the conditions on the credential's row, after every other test.
    earlier = search_terms.alias("d")
    query = query.where(
        *conditions,
        ~_probe(
            earlier,
            earlier.c.credential_id == credentials.c.id,
            earlier.c.term >= words[0],
            earlier.c.term < first.c.term,
        ),
    )
    return query.limit(limit) if limit is not None else query


def _word_probes(
    words: Sequence[str], credential_id: sa.ColumnElement[str], tag: str | None
) -> list[sa.ColumnElement[bool]]:
    """A probe per word (has the credential a term starting with it?) and one for ``tag``."""
    probes = []
    for index, word in enumerate(words, start=1):
        other = search_terms.alias(f"t{index}")
        probes.append(
            _probe(
                other,
                other.c.credential_id == credential_id,
                _prefix_range(other.c.term, word),
            )
        )
    if tag:
        probes.append(
            _probe(
                credential_tags,
                credential_tags.c.credential_id == credential_id,
                credential_tags.c.tag == tag.strip().lower(),
            )
        )
    return probes


def _range_ids(word: str, client_id: Scope) -> sa.Select[str]:
    """The credential ids of ``word``'s index range in scope (a credential may come twice)."""
    return sa.select(search_terms.c.credential_id).where(
        _scope(search_terms, client_id), _prefix_range(search_terms.c.term, word)
    )


def intersected_ids(
    words: list[str],
    client_id: Scope,
    conditions: Sequence[sa.ColumnElement[bool]] = (),
    limit: int | None = None,
    *,
    probed: Sequence[str] = (),
    tag: str | None = None,
    dialect: str = "postgresql",
) -> sa.Select[str]:
    """The same credentials as :func:`matching_ids` with ``words + probed``, found by
    intersecting the index ranges of ``words`` (each range read whole, once): cheaper than a
    probe per candidate when the words are common but seldom found together. ``probed`` words,
    ``tag`` and ``conditions`` are then checked per credential found (a probe each).

    PostgreSQL hashes the ranges (``INTERSECT``). SQLite would build a temporary B-tree for
    each side of an ``INTERSECT``, so there ``words[0]``'s range drives the search as in
    :func:`matching_ids`, each other word a lookup in one temporary index of its range
    (``hashed``): one index built less, and the search stops at ``limit``."""
    if dialect == "sqlite":
        return matching_ids(
            [words[0], *probed], client_id, conditions, limit, tag=tag, hashed=words[1:]
        )
    both = sa.intersect(*(_range_ids(word, client_id) for word in words)).subquery("m")
    match = both.c.credential_id
    query = sa.select(match).where(
        *_word_probes(probed, match, tag),
        _probe(credentials, credentials.c.id == match, *conditions),
    )
    return query.limit(limit) if limit is not None else query


# A search driven from a word with more index entries than this first reads only this many of
# them (probing the other words): enough matches there end the search; too few tell how long
# reading on would take, against intersecting the words' ranges instead (see search_ids).
HEAD = 1000
# Roughly how many index entries can be read and intersected for the cost of one probe: a
# probe is a random lookup in a large index, a range is read in order.
PROBE_COST = 4


def _clients_having(conn: Connection, words: Sequence[str]) -> tuple[str, ...]:
    """The clients, not archived, with an index entry starting with each of ``words``: one
    index probe a client and word."""
    having = []
    for word in words:
        terms = search_terms.alias()
        having.append(
            sa.select(sa.literal_column("1"))
            .select_from(terms)
            .where(terms.c.client_id == clients.c.id, _prefix_range(terms.c.term, word))
            .exists()
        )
    query = sa.select(clients.c.id).where(clients.c.archived_at.is_(None), *having)
    return tuple(conn.execute(query.order_by(clients.c.id)).scalars())


def _tag_term(tag: str) -> str:
    """The longest of ``tag``'s words and punctuated parts joined: every credential with the
    tag has a term that starts with it (``read-only``: ``readonly``). Empty for a tag without
    a letter or digit (then no word of it drives the search; its probe still applies)."""
    return max([*words_of(tag), *joined(tag)], key=len, default="")


def search_ids(
    conn: Connection,
    words: list[str],
    client_id: Scope,
    conditions: Sequence[sa.ColumnElement[bool]] = (),
    limit: int = 100,
    *,
    tag: str | None = None,
) -> list[str]:
    """The ids of at most ``limit`` credentials that match every word (see
    :func:`credsync.vault.search.query_words`), ``tag`` and ``conditions`` (on
    ``credentials``), each once; which ones, when more match, is not defined.

    The search is driven from the rarest word (:func:`rank`; a tag's index term counts as a
    word there). When that word has more than :data:`HEAD` entries and another word's range
    could be intersected with it, its first :data:`HEAD` entries are tried first
    (:func:`matching_ids`); if they hold too few matches and intersecting the words' ranges
    (:func:`intersected_ids`) would read fewer entries than :data:`PROBE_COST` times the
    probes still to make, the ranges are intersected (the rarest word's, and every other
    word's that fits that budget, rarest first); else the search reads on from the start."""
    words = list(words)
    tag_term = _tag_term(tag) if tag else ""
    if tag_term and tag_term not in words:
        # A tag's words are also index terms, so its longest is one more word the search may
        # be driven from when it is rarer than every word of the text.
        words.append(tag_term)
    scope: Scope = client_id
    if client_id is None and len(words) > 1:
        # A client's name or domain is found in that client alone: when one client (or none)
        # has every word, the search reads that client only (or nothing). Else it reads every
        # client, as a list of the clients that have them costs more to send than it saves.
        having = _clients_having(conn, words)
        if not having:
            return []
        if len(having) == 1:
            scope = having[0]
    ranking = rank(conn, words, scope, fallback=tag_term)
    words = ranking.words
    if tag_term in words[1:]:
        words.remove(tag_term)  # not driving: the tag's own probe checks it

    def run(query: sa.Select[str]) -> list[str]:
        return list(conn.execute(query).scalars())

    everything = matching_ids(words, scope, conditions, limit, tag=tag)
    entries = ranking.counts.get(words[0], 0)
    if len(words) < 2 or not HEAD < entries < ranking.cap:
        return run(everything)
    most = (entries - HEAD) * PROBE_COST - entries  # the budget if the head holds no match
    if min(ranking.counts[w] for w in words[1:]) > most:
        return run(everything)  # no other word could be intersected: no head to try first
    found = run(matching_ids(words, scope, conditions, limit, tag=tag, head=HEAD))
    if len(found) >= limit:
        return found
    # Candidates the search would still read: the rest of the range, or fewer when the head's
    # share of matches says the limit comes sooner.
    left = entries - HEAD
    if found:
        left = min(left, HEAD * (limit - len(found)) // len(found))
    budget = left * PROBE_COST - entries
    counts = dict(ranking.counts)
    beyond = [w for w in words[1:] if counts[w] >= ranking.cap]
    if beyond and budget > ranking.cap:
        # Counted no further than the cap so far: count them up to the budget.
        counts.update(_counts(conn, beyond, scope, budget + 1))
    together = [words[0]]
    for word in sorted(words[1:], key=lambda w: counts[w]):
        if counts[word] <= budget:
            together.append(word)
            budget -= counts[word]
    if len(together) < 2:
        return run(everything)
    probed = [w for w in words[1:] if w not in together]
    query = intersected_ids(
        together, scope, conditions, limit, probed=probed, tag=tag, dialect=conn.dialect.name
    )
    return run(query)
