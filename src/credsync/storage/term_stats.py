"""PostgreSQL's own statistics of ``search_terms.term``, read as estimates of how many index
entries start with a word (for :func:`credsync.storage.search.rank`).

A search of several common words has to know which of them is the rarest. Counting their
index entries up to 8,000 and then 32,000 each reads as many entries as the search itself
(and two more round trips, each of which waits for a CPU on a busy machine). PostgreSQL
already knows: ``ANALYZE`` keeps the most common terms with their frequencies and a histogram
of the others, so an estimate is a few binary searches in Python. Fine ones, from the
statistics object :data:`STATISTICS_NAME` on ``term || ''`` (revision 0044), target
:data:`STATISTICS_TARGET`: a bucket for every ~0.02% of the terms, some 2,000 entries of
10,000,000. Not from the column's own statistics, which the planner reads for every range of
terms at each execution (the column keeps the default target: revision 0041 had 5,000 there,
~1.2 ms of planning a range). The statistics are read from ``pg_stats_ext_exprs`` once per
:data:`TTL_S` seconds per database (engine) and kept in this process; stale or missing ones
cost speed, never results (no statistics yet: None, and the words are counted). Nothing on
SQLite.
"""

from __future__ import annotations

import bisect
import threading
import time
import weakref
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

__all__ = ["STATISTICS_NAME", "STATISTICS_TARGET", "TTL_S", "estimates", "forget"]

STATISTICS_NAME = "search_terms_term"
STATISTICS_TARGET = 5000
TTL_S = 300.0

_QUERY = sa.text(
    "SELECT c.reltuples, s.null_frac, s.most_common_vals::text::text[], s.most_common_freqs, "
    "s.histogram_bounds::text::text[] "
    "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
    "JOIN pg_stats_ext_exprs s ON s.schemaname = n.nspname AND s.tablename = c.relname "
    "AND s.statistics_name = :name AND NOT s.inherited "
    "WHERE c.relname = 'search_terms' AND n.nspname = current_schema()"
).bindparams(name=STATISTICS_NAME)


@dataclass(frozen=True)
class _Statistics:
    rows: float  # the table's rows, as of the last ANALYZE
    common: list[str]  # the most common terms, sorted
    common_sums: list[float]  # common_sums[i]: the share of rows of common[:i]
    bounds: list[str]  # the histogram of the other terms: equal shares between bounds
    others: float  # the share of rows that are not common terms


# Per engine (one database), held as long as the engine is: no key made per search.
_CACHE: weakref.WeakKeyDictionary[Engine, tuple[float, _Statistics | None]] = (
    weakref.WeakKeyDictionary()
)
_LOCK = threading.Lock()


def estimates(conn: Connection, words: Sequence[str]) -> dict[str, int] | None:
    """How many index entries (in every client) start with each of ``words``, as PostgreSQL's
    statistics tell; None on SQLite or before the table's first ANALYZE."""
    if conn.dialect.name != "postgresql":
        return None
    statistics = _statistics(conn)
    if statistics is None:
        return None
    return {word: _estimate(statistics, word) for word in words}


def forget() -> None:
    """Drop the statistics kept in this process (read again at the next search)."""
    with _LOCK:
        _CACHE.clear()


def _statistics(conn: Connection) -> _Statistics | None:
    key = conn.engine
    now = time.monotonic()
    with _LOCK:
        kept = _CACHE.get(key)
    if kept is not None and now - kept[0] < TTL_S:
        return kept[1]
    row = conn.execute(_QUERY).first()
    statistics = None
    if row is not None and row[0] > 0:
        rows, null_frac, values, freqs, bounds = row
        pairs = sorted(zip(values or [], freqs or [], strict=True))
        sums = [0.0]
        for _, freq in pairs:
            sums.append(sums[-1] + freq)
        statistics = _Statistics(
            rows=float(rows),
            common=[value for value, _ in pairs],
            common_sums=sums,
            bounds=list(bounds or []),
            others=max(0.0, 1.0 - float(null_frac or 0.0) - sums[-1]),
        )
    with _LOCK:
        _CACHE[key] = (now, statistics)
    return statistics


def _estimate(statistics: _Statistics, word: str) -> int:
    """Rows whose term starts with ``word``: its common terms' shares and its share of the
    histogram's buckets (PostgreSQL's C collation orders terms as Python orders strings)."""
    upper = word[:-1] + chr(ord(word[-1]) + 1)
    common = statistics.common
    low, high = bisect.bisect_left(common, word), bisect.bisect_left(common, upper)
    share = statistics.common_sums[high] - statistics.common_sums[low]
    bounds = statistics.bounds
    if len(bounds) > 1:
        buckets = bisect.bisect_left(bounds, upper) - bisect.bisect_left(bounds, word)
        share += statistics.others * buckets / (len(bounds) - 1)
    return round(statistics.rows * share)
