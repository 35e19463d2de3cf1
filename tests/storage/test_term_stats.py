"""PostgreSQL's statistics of the search terms read as estimates (storage.term_stats): the
most common terms' shares plus the histogram buckets a word's range spans."""

from __future__ import annotations

from credsync.storage import term_stats
from credsync.storage.term_stats import _estimate, _Statistics


def test_an_estimate_adds_common_terms_and_histogram_buckets() -> None:
    statistics = _Statistics(
        rows=1_000_000,
        common=["admin", "com", "contoso"],
        common_sums=[0.0, 0.1, 0.3, 0.35],
        bounds=["a", "b", "ca", "cb", "d", "e"],  # 5 buckets of 13% each
        others=0.65,
    )
    assert _estimate(statistics, "adm") == 100_000  # "admin" alone: within the first bucket
    assert _estimate(statistics, "co") == 250_000  # two common terms
    assert _estimate(statistics, "c") == round(1_000_000 * (0.25 + 0.65 * 2 / 5))
    assert _estimate(statistics, "zz") == 0


def test_no_estimates_on_sqlite(sqlite_world) -> None:
    with sqlite_world.db.read() as conn:
        assert term_stats.estimates(conn, ["admin"]) is None
