"""The words of the search index, made the same way from a credential's text and from a query.

Text is *folded* first (:func:`fold`): Unicode compatibility decomposition (NFKD), combining
marks dropped, case folded; so "Café" and "CAFE" are both ``cafe``, "Straße" ``strasse`` and
"ﬁle" ``file``. Then it is split on everything that is not a letter or a digit (spaces,
punctuation, underscores): "Wi-Fi router" is ``wi``, ``fi``, ``router``. A run of text without
spaces that punctuation splits is also kept joined ("Wi-Fi" is ``wifi`` too; "e-mail"
``email``), so a search typed without the punctuation finds it as well.

These are the rules of :mod:`credsync.storage.search` (whose index holds the words) and of
revision 0013, which made the index anew with them; :mod:`credsync.vault.search` checks a
query's words.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator

__all__ = [
    "MAX_TERM",
    "credential_terms",
    "fold",
    "identity_terms",
    "joined",
    "terms_for",
    "terms_of",
    "words",
]

MAX_TERM = 128  # the width of search_terms.term

_WORD = re.compile(r"[^\W_]+")
# Words every url has: indexing them would cost a row per credential and find everything.
_URL_NOISE = frozenset({"http", "https", "www"})


def fold(text: str) -> str:
    """``text`` without case and accents: NFKD, combining marks dropped, case-folded."""
    if text.isascii():
        return text.lower()  # the same for ASCII, without a pass over each character
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def words(text: str) -> Iterator[str]:
    """The folded words of ``text``, split on everything but letters and digits."""
    for word in _WORD.findall(fold(text)):
        yield word[:MAX_TERM]


def joined(text: str) -> Iterator[str]:
    """Each space-separated part of ``text`` that punctuation splits into several words,
    as one word."""
    for chunk in text.split():
        parts = _WORD.findall(fold(chunk))
        if len(parts) > 1:
            yield "".join(parts)[:MAX_TERM]


def terms_for(title: str, username: str, url: str, tags: Iterable[str]) -> set[str]:
    """A credential's index terms: the words of its title, username, url and tags, the
    punctuated parts of its title, username and tags joined, and its username and each tag
    whole (folded)."""
    terms: set[str] = set()
    for text in (title, username):
        terms.update(words(text))
        terms.update(joined(text))
    terms.update(word for word in words(url) if word not in _URL_NOISE)
    if username:
        terms.add(fold(username)[:MAX_TERM])
    for tag in tags:
        terms.add(fold(tag)[:MAX_TERM])
        terms.update(words(tag))
        terms.update(joined(tag))
    terms.discard("")
    return terms


def credential_terms(title: str, username: str, url: str, tags: Iterable[str]) -> set[str]:
    """A credential's index terms (revision 0041): the words of its title, username, url and
    tags and the punctuated parts of its title, username and tags joined, less every term
    that starts another one: "Contoso domain admin", ``CONTOSO\\jsmith`` is ``domain``,
    ``admin``, ``jsmith`` and ``contosojsmith`` (``contoso`` starts the last).

    A search finds exactly what it found with :func:`terms_for`'s terms (see
    :func:`identity_terms`: what starts a term starts every longer term that term starts, and a
    query's words have no punctuation, so one that starts a username or tag whole starts its
    first word too), from about half the index entries: each range of a search holds about
    one entry a credential instead of several, and the search reads, counts and probes those."""
    terms: set[str] = set()
    for text in (title, username, *tags):
        terms.update(words(text))
        terms.update(joined(text))
    terms.update(word for word in words(url) if word not in _URL_NOISE)
    return _longest(terms)


def _longest(found: set[str]) -> set[str]:
    """``found`` less every term that starts another one of them."""
    terms = sorted(found - {""})
    if not terms:
        return set()
    # sorted, the terms a term starts come right after it
    return {t for t, after in zip(terms, [*terms[1:], ""], strict=True) if not after.startswith(t)}


def terms_of(texts: Iterable[str], whole: Iterable[str] = ()) -> set[str]:
    """The index terms of a person or a group (:mod:`credsync.storage.identity_search`): the
    words of ``texts``, their punctuated parts joined, and each of ``whole`` whole (folded):
    "anna.berg@contoso.com" is ``anna``, ``berg``, ``contoso``, ``com``, ``annabergcontosocom``
    and itself."""
    terms: set[str] = set()
    for text in texts:
        terms.update(words(text))
        terms.update(joined(text))
    terms.update(fold(text)[:MAX_TERM] for text in whole)
    terms.discard("")
    return terms


def identity_terms(texts: Iterable[str]) -> set[str]:
    """The index terms of a person or a group (:mod:`credsync.storage.identity_search`,
    revision 0033): the words of ``texts`` and their punctuated parts joined, less every
    term that starts another one: "Anna Berg", "anna.berg@contoso.com" is ``berg``, ``com``,
    ``contoso`` and ``annabergcontosocom`` (``anna`` starts the last).

    A search finds a record when each of its words starts one of the record's terms; what
    starts a term also starts every longer term that term starts, so leaving the shorter out
    finds exactly what it found with them, from fewer index entries (a given name's range
    held ~5 entries a person with the username and e-mail also whole; now ~1). Texts whole
    are not terms: a query's words have no punctuation, so one that starts a whole username
    starts its first word too."""
    return _longest(terms_of(texts))
