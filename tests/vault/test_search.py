"""Word-prefix search when every word is common: the head of the rarest word's range first,
then the words' index ranges intersected (credsync.storage.search.search_ids); on PostgreSQL
common words ranked from the terms' statistics (credsync.storage.term_stats).

The count caps and the head are made small so that a few dozen credentials pass them."""

from __future__ import annotations

import uuid

import pytest

from credsync.storage import search, term_stats
from credsync.types import Secret
from credsync.vault.drafts import make_draft
from credsync.vault.search import query_words

term_stats_real = term_stats.estimates


def word() -> str:
    """A word no other test uses, so that searches in the shared vault are exact."""
    return "w" + uuid.uuid4().hex[:10]


def ids(items):
    return [c.id for c in items]


def draft(title):
    return make_draft(title=title, password=Secret("Pw-12345!"))


@pytest.fixture
def small_caps(monkeypatch):
    """Caps of 4, 8 and 16 entries, a head of 3 and a probe cost of 4 (both backends); the
    calls of intersected_ids are recorded."""
    monkeypatch.setattr(search, "WORD_COUNT_CAPS", (4, 8, 16))
    # Words past the first cap are counted, not estimated from PostgreSQL's statistics
    # (which an autovacuum of the shared vault may have made meanwhile).
    monkeypatch.setattr(term_stats, "estimates", lambda *_args, **_kwargs: None)
    monkeypatch.setattr(search, "HEAD", {"sqlite": 3, "postgresql": 3})
    monkeypatch.setattr(search, "PROBE_COST", {"sqlite": 4, "postgresql": 4})
    calls = []
    real = search.intersected_ids

    def spy(words, *args, **kwargs):
        calls.append((list(words), list(kwargs.get("probed", ()))))
        return real(words, *args, **kwargs)

    monkeypatch.setattr(search, "intersected_ids", spy)
    return calls


def probe_path(ctx, text, client_id, limit=100, tag=None):
    """The ids the probe-per-candidate search finds (matching_ids over the whole range)."""
    with ctx.world.db.read() as conn:
        query = search.matching_ids(query_words(text), client_id, search.Filter(), limit, tag=tag)
        return sorted(query.ids(conn))


def test_common_words_seldom_together_are_intersected(ctx, small_caps):
    a, b = word(), word()
    # 8 credentials with only a, 8 with only b: each word passes the first two caps.
    for i in range(8):
        ctx.add(f"{a} alone {i}")
        ctx.add(f"{b} alone {i}")
    both = [
        ctx.add(f"{a} {b} title"),
        ctx.add("username", username=f"{a}.{b}@example.com"),
        # a credential with several terms starting with each word is found once
        ctx.add(f"{a}x {a}y {b}x", url=f"https://{b}y.example/{a}z", tags=[f"{b}tag"]),
    ]
    trashed = ctx.add(f"{a} {b} trashed")
    ctx.vault.credentials.delete(ctx.admin, trashed.id)

    found = ctx.vault.credentials.search(ctx.admin, f"{a} {b}", client_ref=ctx.name)

    assert sorted(ids(found)) == sorted(ids(both))
    assert sorted(ids(found)) == probe_path(ctx, f"{a} {b}", ctx.client.id)
    assert [sorted(words) for words, _ in small_caps] == [sorted([a, b])]


def test_the_intersection_keeps_limit_tag_scope_and_archived_clients(ctx, small_caps):
    a, b, tag = word(), word(), word()
    for i in range(6):
        ctx.add(f"{a} only {i}", tags=[tag])
        ctx.add(f"{b} only {i}")
    tagged = [ctx.add(f"{a} {b} {i}", tags=[tag]) for i in range(3)]
    untagged = [ctx.add(f"{a} {b} plain {i}") for i in range(2)]
    other = ctx.other_client()
    theirs = ctx.vault.credentials.add(ctx.admin, ctx.keys, other.name, draft(f"{a} {b} theirs"))
    archived = ctx.other_client("Archived")
    ctx.vault.credentials.add(ctx.admin, ctx.keys, archived.name, draft(f"{a} {b} gone"))
    ctx.vault.clients.set_archived(ctx.admin, archived.name, True)
    find = ctx.vault.credentials.search

    mine = find(ctx.admin, f"{a} {b}", client_ref=ctx.name)
    assert sorted(ids(mine)) == sorted(ids(tagged + untagged))
    everywhere = find(ctx.admin, f"{b} {a}")
    assert sorted(ids(everywhere)) == sorted(ids([*tagged, *untagged, theirs]))
    # the tag's term (9 entries) drives; the budget takes one word into the intersection, the
    # other word and the exact tag are probed
    assert sorted(ids(find(ctx.admin, f"{a} {b}", tag=tag.upper()))) == sorted(ids(tagged))
    limited = ids(find(ctx.admin, f"{a} {b}", client_ref=ctx.name, limit=4))
    assert len(limited) == len(set(limited)) == 4
    assert set(limited) <= set(ids(tagged + untagged))
    # (whether the limited search intersects depends on what the head holds)
    assert [len(words) + len(probed) for words, probed in small_caps[:3]] == [2, 2, 3]
    assert small_caps[2][0][0] == tag


def test_a_third_word_too_common_to_read_is_probed(ctx, small_caps):
    a, b, c = word(), word(), word()
    for i in range(10):
        ctx.add(f"{a} {c} {i}")
        ctx.add(f"{b} {c} {i}")
    for i in range(30):
        ctx.add(f"{c} filler {i}")
    with_c = ctx.add(f"{a} {b} {c}")
    without_c = ctx.add(f"{a} {b}")

    found = ctx.vault.credentials.search(ctx.admin, f"{a} {b} {c}", client_ref=ctx.name)

    assert ids(found) == [with_c.id]
    assert sorted(ids(ctx.vault.credentials.search(ctx.admin, f"{a} {b}"))) == sorted(
        [with_c.id, without_c.id]
    )
    [(together, probed), _] = small_caps
    assert sorted(together) == sorted([a, b])
    assert probed == [c]


def test_matches_in_the_head_end_the_search_without_intersecting(ctx, small_caps):
    a, b = word(), word()
    together = [ctx.add(f"{a} {b} {i}") for i in range(12)]

    found = ctx.vault.credentials.search(ctx.admin, f"{a} {b}", client_ref=ctx.name, limit=2)

    assert len(found) == 2
    assert set(ids(found)) <= set(ids(together))
    assert small_caps == []
    everything = ctx.vault.credentials.search(ctx.admin, f"{a} {b}", client_ref=ctx.name)
    assert sorted(ids(everything)) == sorted(ids(together))


def test_rarest_first_still_orders_by_count(ctx):
    rare, common = word(), word()
    for i in range(5):
        ctx.add(f"{common} {i}")
    ctx.add(f"{common} {rare}")
    with ctx.world.db.read() as conn:
        ranking = search.rank(conn, [common, rare], ctx.client.id)
        assert search.rarest_first(conn, [common, rare], ctx.client.id) == [rare, common]
    assert ranking.words == [rare, common]
    assert ranking.counts == {rare: 1, common: 6}
    assert ranking.cap == search.WORD_COUNT_CAPS[0]


def test_no_head_when_no_other_word_could_be_intersected(ctx, small_caps, monkeypatch):
    rare, common = word(), word()
    for i in range(5):
        ctx.add(f"{rare} {common} {i}")
    for i in range(20):
        ctx.add(f"{common} {i}")
    heads = []
    real = search.matching_ids

    def spy(*args, **kwargs):
        heads.append(kwargs.get("head"))
        return real(*args, **kwargs)

    monkeypatch.setattr(search, "matching_ids", spy)

    # rare: 5 entries, 2 past the head of 3, a budget of 3 at most; common: 16 or more
    found = ctx.vault.credentials.search(ctx.admin, f"{rare} {common}", client_ref=ctx.name)

    assert len(found) == 5
    assert heads == [None]
    assert small_caps == []


def test_common_words_ranked_from_postgresql_statistics_find_the_same(ctx, small_caps, monkeypatch):
    a, b = word(), word()
    for i in range(8):
        ctx.add(f"{a} alone {i}")
        ctx.add(f"{b} alone {i}")
    both = [ctx.add(f"{a} {b} {i}") for i in range(3)]
    with ctx.world.db.write() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("ANALYZE search_terms")
    monkeypatch.setattr(term_stats, "estimates", term_stats_real)
    term_stats.forget()
    with ctx.world.db.read() as conn:
        estimated = term_stats.estimates(conn, [a, b])
        if conn.dialect.name == "postgresql":
            assert estimated is not None
            assert all(isinstance(n, int) and n >= 0 for n in estimated.values())
        else:
            assert estimated is None

    found = ctx.vault.credentials.search(ctx.admin, f"{a} {b}", client_ref=ctx.name)
    everywhere = ctx.vault.credentials.search(ctx.admin, f"{b} {a}")

    assert sorted(ids(found)) == sorted(ids(both)) == probe_path(ctx, f"{a} {b}", ctx.client.id)
    assert sorted(ids(everywhere)) == sorted(ids(both))


def test_a_word_that_starts_another_word_of_the_search_is_left_out(ctx, monkeypatch):
    short, other = word(), word()
    longer = short + "zz"
    found_before = [
        ctx.add(f"{longer} {other}"),
        ctx.add(f"{short}-zz {other}"),  # "shortzz" joined
        ctx.add("by username", username=f"{longer}@{other}.example"),
    ]
    ctx.add(f"{short} {other}")  # has short but not longer: no match
    ctx.add(f"{longer} alone")
    searched = []
    real = search.matching_ids

    def spy(words, *args, **kwargs):
        searched.append(list(words))
        return real(words, *args, **kwargs)

    monkeypatch.setattr(search, "matching_ids", spy)

    found = ctx.vault.credentials.search(
        ctx.admin, f"{short} {longer} {other}", client_ref=ctx.name
    )

    assert sorted(ids(found)) == sorted(ids(found_before))
    monkeypatch.setattr(search, "matching_ids", real)
    # the same as every word probed, the short one too
    assert sorted(ids(found)) == probe_path(ctx, f"{short} {longer} {other}", ctx.client.id)
    assert searched
    assert all(short not in words for words in searched)
