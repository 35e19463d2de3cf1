"""Word-prefix search over title, username, url and tags: the words.

Each credential's text is split into case-folded words (``portal.contoso.com/admin`` ->
``portal``, ``contoso``, ``com``, ``admin``), and its username and tags are also kept whole.
A query matches a credential when every word of the query is the start of one of its words,
so ``cont adm`` finds "Contoso domain admin". How the words are indexed and searched (index
range scans, the rarest word first) is :mod:`credsync.storage.search`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from credsync.errors import InvalidInput
from credsync.storage.search import MAX_TERM

__all__ = ["MAX_QUERY_WORDS", "MAX_TERM", "query_words", "terms_for"]

_WORD = re.compile(r"\w+", re.UNICODE)
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
    # then measure, see credsync.storage.search.capped_count).
    return sorted(words, key=len, reverse=True)
