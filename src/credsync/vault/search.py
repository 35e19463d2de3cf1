"""Word-prefix search over title, username, url and tags.

Each credential's text is split into case-folded words (``portal.contoso.com/admin`` ->
``portal``, ``contoso``, ``com``, ``admin``), and its username and tags are also kept whole.
A query matches a credential when every word of the query is the start of one of its words,
so ``cont adm`` finds "Contoso domain admin". The words live in ``search_terms`` with a B-tree
index, so a search is an index range scan on SQLite and PostgreSQL alike (no extensions).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import sqlalchemy as sa

from credsync.errors import InvalidInput
from credsync.storage.tables import search_terms

__all__ = ["MAX_QUERY_WORDS", "matching_ids", "query_words", "terms_for"]

_WORD = re.compile(r"\w+", re.UNICODE)
MAX_TERM = 128
MAX_QUERY_WORDS = 8


def _words(text: str) -> Iterable[str]:
    for word in _WORD.findall(text.casefold()):
        yield word[:MAX_TERM]


def terms_for(title: str, username: str, url: str, tags: Iterable[str]) -> set[str]:
    terms: set[str] = set()
    for text in (title, username, url):
        terms.update(_words(text))
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
    # The longest word first: it is usually the most selective.
    return sorted(words, key=len, reverse=True)


def _prefix_range(column: sa.ColumnElement[str], prefix: str) -> sa.ColumnElement[bool]:
    upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
    return sa.and_(column >= prefix, column < upper)


def matching_ids(words: list[str], client_id: str | None) -> sa.Select[tuple[str]]:
    """A SELECT of the ids of credentials matching every word (duplicates removed)."""
    first = search_terms.alias("t0")
    query = sa.select(first.c.credential_id).where(_prefix_range(first.c.term, words[0]))
    if client_id is not None:
        query = query.where(first.c.client_id == client_id)
    for index, word in enumerate(words[1:], start=1):
        other = search_terms.alias(f"t{index}")
        query = query.where(
            sa.exists().where(
                other.c.credential_id == first.c.credential_id,
                _prefix_range(other.c.term, word),
            )
        )
    return query.distinct()
