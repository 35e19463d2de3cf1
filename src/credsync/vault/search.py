"""Word-prefix search over title, username, url and tags: a query's words.

A credential's text and a query are made into words by the same rules
(:mod:`credsync.storage.words`): case and accents folded, split on punctuation
(``portal.contoso.com/admin`` -> ``portal``, ``contoso``, ``com``, ``admin``), and a
credential's punctuated words also kept joined ("Wi-Fi" is ``wi``, ``fi`` and ``wifi``); its
words that start a longer word of the same credential are left out (revision 0041: they find
nothing the longer one does not). A query matches a credential when every word of the
query is the start of one of its words, so ``cont adm`` finds "Contoso domain admin" and
``cafe`` finds "Café". How the words are indexed and searched (index range scans, the rarest
word first) is :mod:`credsync.storage.search`.
"""

from __future__ import annotations

from credsync.errors import InvalidInput
from credsync.storage.words import credential_terms, words

__all__ = ["MAX_QUERY_WORDS", "credential_terms", "query_words"]

MAX_QUERY_WORDS = 8


def query_words(query: str) -> list[str]:
    found = list(dict.fromkeys(words(query)))
    if not found:
        raise InvalidInput("the search needs at least one letter or digit")
    if len(found) > MAX_QUERY_WORDS:
        raise InvalidInput(f"the search has too many words (at most {MAX_QUERY_WORDS})")
    # The longest word first: it is usually the most selective (searches with several words
    # then measure, see credsync.storage.search_statements.capped_counts).
    return sorted(found, key=len, reverse=True)
