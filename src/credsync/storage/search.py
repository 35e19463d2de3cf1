"""Word-prefix search over title, username, url and tags (``search_terms``).

Each credential's words (made by :func:`credsync.storage.words.credential_terms`: the folded
words of its title, username, url and tags, punctuated ones also joined, less those that start
a longer one of its own) are rows of ``search_terms`` with a B-tree index, so a search is an
index range scan on SQLite and PostgreSQL alike (no extensions): driven from the rarest word
with an index probe per candidate for the others, or, when the words are common but seldom
found together, by intersecting their ranges (:func:`search_ids`). A query matches a
credential when every word of the query is the start of one of its words, so ``cont adm``
finds "Contoso domain admin". The statements are built once per shape
(:mod:`credsync.storage.search_statements`).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass

from sqlalchemy.engine import Connection

from credsync.storage import term_stats
from credsync.storage.bulk import bulk_insert
from credsync.storage.search_statements import (
    SAMPLE_SIZE,
    Filter,
    Query,
    Scope,
    capped_counts,
    clients_having,
    having_and_counts,
    intersected_ids,
    matching_ids,
    sample_hits,
)
from credsync.storage.tables import search_terms
from credsync.storage.words import MAX_TERM, joined
from credsync.storage.words import words as words_of

__all__ = [
    "HEAD",
    "MAX_TERM",
    "PROBE_COST",
    "SAMPLE_SIZE",
    "Filter",
    "Query",
    "Ranking",
    "Scope",
    "add_terms",
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
    where = Filter(include_directory_admin, None if client_ids is None else tuple(client_ids))
    return search_ids(conn, words, client_id, where, limit, tag=tag)


# Counting a word's index entries stops at a cap; when every word of a search reaches it, they
# are counted again with a higher cap (x4 each time, up to the last), so that a word with 3,000
# entries is still told from one with 60,000 (see rarest_first).
WORD_COUNT_CAPS = (2000, 8000, 32000)
WORD_COUNT_CAP = WORD_COUNT_CAPS[0]
# Ranking.cap when the counts of words past the first cap are PostgreSQL's estimates.
UNCAPPED = 2**62


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
    return dict(zip(words, capped_counts(words, client_id, cap).row(conn), strict=True))


def rank(
    conn: Connection,
    words: list[str],
    client_id: Scope,
    *,
    fallback: str = "",
    counted: dict[str, int] | None = None,
) -> Ranking:
    """:func:`rarest_first`'s order with the counts it was made from; ``counted``: the counts
    at the first cap, when read already (with the clients that have every word)."""
    if len(words) < 2:
        return Ranking(list(words), {}, 0)
    counts: dict[str, int] = {}
    for cap in WORD_COUNT_CAPS:
        if counted is not None and cap == WORD_COUNT_CAPS[0]:
            counts = counted
        else:
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
    hits = dict(zip(words, sample_hits(words, client_id).row(conn), strict=True))
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
    whose first :data:`SAMPLE_SIZE` entries give the most matches: words can cluster (a
    client's name is in that client's credentials only, and the search reads one client after
    another), so the word to read from is the one where the matches are found soonest. (Not
    for one word and ``fallback``: the word drives then, without the samples' cost.)"""
    return rank(conn, words, client_id, fallback=fallback).words


# Per dialect: a search driven from a word with more index entries than HEAD first reads only
# that many of them (probing the other words): enough matches there end the search; too few
# tell how long reading on would take, against intersecting the words' ranges instead (see
# search_ids). PROBE_COST: roughly how many index entries can be read and intersected for the
# cost of one probe (a probe is a random lookup in a large index, a range is read in order).
# PostgreSQL, measured on 1,000,000 credentials (bench/README.md, search_list.py, third
# pass): a probe 12-19 us, an entry of a hashed INTERSECT 0.6-1 us, so 20; and a head of 250
# (250 probes, 1-8 ms) rather than 1,000 (10-21 ms, as much as most intersections).
HEAD = {"postgresql": 250, "sqlite": 1000}
PROBE_COST = {"postgresql": 20, "sqlite": 4}


def _tag_term(tag: str) -> str:
    """The longest of ``tag``'s words and punctuated parts joined: every credential with the
    tag has a term that starts with it (``read-only``: ``readonly``). Empty for a tag without
    a letter or digit (then no word of it drives the search; its probe still applies)."""
    return max([*words_of(tag), *joined(tag)], key=len, default="")


def search_ids(
    conn: Connection,
    words: list[str],
    client_id: Scope,
    where: Filter = Filter(),  # noqa: B008 - frozen, never changed
    limit: int = 100,
    *,
    tag: str | None = None,
) -> list[str]:
    """The ids of at most ``limit`` credentials that match every word (see
    :func:`credsync.vault.search.query_words`), ``tag`` and ``where``, each once; which
    ones, when more match, is not defined.

    The search is driven from the rarest word (:func:`rank`; a tag's index term counts as a
    word there). When that word has more than :data:`HEAD` entries and another word's range
    could be intersected with it, its first :data:`HEAD` entries are tried first
    (:func:`matching_ids`); if they hold too few matches and intersecting the words' ranges
    (:func:`intersected_ids`) would read fewer entries than :data:`PROBE_COST` times the
    probes still to make, the ranges are intersected (the rarest word's, and every other
    word's that fits that budget, rarest first); else the search reads on from the start."""
    # A word that starts another word of the search is implied by it (a term that starts
    # with "wifi" starts with "wi"): "wi-fi" searches for wifi and fi, not wi too.
    words = [w for w in words if not any(o != w and o.startswith(w) for o in words)]
    tag_term = _tag_term(tag) if tag else ""
    if tag_term and tag_term not in words:
        # A tag's words are also index terms, so its longest is one more word the search may
        # be driven from when it is rarer than every word of the text.
        words.append(tag_term)
    scope: Scope = client_id
    dialect = conn.dialect.name
    counted: dict[str, int] | None = None
    if client_id is None and len(words) > 1:
        # A client's name or domain is found in that client alone: when one client (or none)
        # has every word, the search reads that client only (or nothing). Else it reads every
        # client, as a list of the clients that have them costs more to send than it saves.
        # On PostgreSQL the words are counted in every client by the same statement (one
        # round trip less; counted again in the one client when only one has them).
        if dialect == "postgresql":
            row = having_and_counts(words, WORD_COUNT_CAPS[0]).row(conn)
            having = tuple(row[0] or ())
            counted = dict(zip(words, row[1:], strict=True))
        else:
            having = tuple(clients_having(words).ids(conn))
        if not having:
            return []
        if len(having) == 1:
            scope, counted = having[0], None
    ranking = rank(conn, words, scope, fallback=tag_term, counted=counted)
    words = ranking.words
    if tag_term in words[1:]:
        words.remove(tag_term)  # not driving: the tag's own probe checks it

    def run(query: Query) -> list[str]:
        return query.ids(conn)

    everything = matching_ids(words, scope, where, limit, tag=tag)
    entries = ranking.counts.get(words[0], 0)
    head, probe_cost = HEAD[dialect], PROBE_COST[dialect]
    if len(words) < 2 or not head < entries < ranking.cap:
        return run(everything)
    most = (entries - head) * probe_cost - entries  # the budget if the head holds no match
    if min(ranking.counts[w] for w in words[1:]) > most:
        return run(everything)  # no other word could be intersected: no head to try first
    found = run(matching_ids(words, scope, where, limit, tag=tag, head=head))
    if len(found) >= limit:
        return found
    # Candidates the search would still read: the rest of the range, or fewer when the head's
    # share of matches says the limit comes sooner.
    left = entries - head
    if found:
        left = min(left, head * (limit - len(found)) // len(found))
    budget = left * probe_cost - entries
    counts = dict(ranking.counts)
    beyond = [w for w in words[1:] if counts[w] >= ranking.cap]
    if beyond and budget > ranking.cap:
        estimated = term_stats.estimates(conn, beyond) if scope is None else None
        if estimated is not None:
            # Every client: PostgreSQL's statistics tell a word too common for the budget
            # without reading it (up to the budget, ~1/3 of the cost of intersecting it).
            counts.update({w: n for w, n in estimated.items() if n > budget})
            beyond = [w for w in beyond if estimated[w] <= budget]
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
    query = intersected_ids(together, scope, where, limit, probed=probed, tag=tag, dialect=dialect)
    return run(query)
