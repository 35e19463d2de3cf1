"""Word-prefix search over title, username, url and tags.

Each credential's text is split into case-folded words (``portal.contoso.com/admin`` ->
``portal``, ``contoso``, ``com``, ``admin``), and its username and tags are also kept whole.
A query matches a credential when every word of the query is the start of one of its words,
so ``cont adm`` finds "Contoso domain admin". The words live in ``search_terms`` with a B-tree
index, so a search is an index range scan on SQLite and PostgreSQL alike (no extensions).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

import sqlalchemy as sa

from credsync.errors import InvalidInput
from credsync.storage.tables import clients, credentials, search_terms

__all__ = [
    "MAX_QUERY_WORDS",
    "MAX_TERM",
    "capped_count",
    "matching_ids",
    "query_words",
    "terms_for",
]

_WORD = re.compile(r"\w+", re.UNICODE)
MAX_TERM = 128
MAX_QUERY_WORDS = 8


def _words(text: str) -> Iterable[str]:
    for word in _WORD.findall(text.casefold()):
        yield word[:MAX_TERM]


# Words every url has: indexing them would cost a row per credential and find everything.
_URL_NOISE = frozenset({"http", "https", "www"})


def terms_for(title: str, username: str, url: str, tags: Iterable[str]) -> set[str]:
    terms: set[str] = set()
    for text in (title, username):
        terms.update(_words(text))
    terms.update(word for word in _words(url) if word not in _URL_NOISE)
    if username:
        terms.add(username.casefold()[:MAX_TERM])
    for tag in tags:
        terms.add(tag[:MAX_TERM])
        terms.update(_words(tag))
    terms.discard("")
    return terms


def query_words(query: str) -> list[str]:
    words = list(dict.fromkeys(_words(query)))
    if not words:
        raise InvalidInput("the search needs at least one letter or digit")
    if len(words) > MAX_QUERY_WORDS:
        raise InvalidInput(f"the search has too many words (at most {MAX_QUERY_WORDS})")
    # The longest word first: it is usually the most selective (searches with several words
    # then measure, see capped_count).
    return sorted(words, key=len, reverse=True)


def _prefix_range(column: sa.ColumnElement[str], prefix: str) -> sa.ColumnElement[bool]:
    upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
    return sa.and_(column >= prefix, column < upper)


def _scope(terms: sa.FromClause, client_id: str | None) -> sa.ColumnElement[bool]:
    if client_id is not None:
        return terms.c.client_id == client_id
    return terms.c.client_id.in_(sa.select(clients.c.id).where(clients.c.archived_at.is_(None)))


WORD_COUNT_CAP = 2000


def capped_count(word: str, client_id: str | None) -> sa.Select[int]:
    """How many index entries start with ``word``, counting no further than the cap: enough
    to tell a rare word from a common one at the cost of a short index range scan."""
    inner = (
        sa.select(search_terms.c.credential_id)
        .where(_scope(search_terms, client_id), _prefix_range(search_terms.c.term, word))
        .limit(WORD_COUNT_CAP)
        .subquery()
    )
    return sa.select(sa.func.count()).select_from(inner)


def matching_ids(
    words: list[str],
    client_id: str | None,
    conditions: Sequence[sa.ColumnElement[bool]] = (),
    limit: int | None = None,
) -> sa.Select[tuple[str]]:
    """The ids of credentials that match every word and ``conditions`` (on ``credentials``),
    at most ``limit`` of them, in the order the index yields them (so a search that matches a
    hundred thousand credentials stops after ``limit``)."""
    first = search_terms.alias("t0")
    query = (
        sa.select(first.c.credential_id)
        .join(credentials, credentials.c.id == first.c.credential_id)
        .where(_scope(first, client_id), _prefix_range(first.c.term, words[0]), *conditions)
    )
    for index, word in enumerate(words[1:], start=1):
        other = search_terms.alias(f"t{index}")
        query = query.where(
            sa.exists().where(
                other.c.credential_id == first.c.credential_id,
                _prefix_range(other.c.term, word),
            )
        )
    query = query.distinct()
    return query.limit(limit) if limit is not None else query
