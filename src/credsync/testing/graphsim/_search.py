"""Graph's ``$search`` on directory objects (users, groups, group members), as Microsoft
documents it in "Use the $search query parameter"
(https://learn.microsoft.com/en-us/graph/search-query-parameter, "Using $search on directory
object collections"):

* Every clause is ``"property:text"`` inside double quotes; clauses combine with ``AND`` and
  ``OR`` (upper case, outside the quotes) and parentheses. ``AND`` binds tighter than ``OR``.
* ``displayName`` and ``description`` are **tokenized**: the value is split on spaces and
  symbols, on a change from lower to upper case (camelCase) and between letters and digits;
  each token of the search text must be the start of some token of the value, in any order
  (``"displayName:one video"`` finds "OneVideo Sales"). Case never matters.
* Every other property is matched with **startswith** on the whole value (no "contains").
* Combined with ``$filter``, both must hold (AND).

Bad syntax (a clause not in quotes, a lone operator, unbalanced parentheses) is a 400
``BadRequest`` "Syntax error: ..." as Graph answers; a property the collection does not
search a 400 naming it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ._errors import bad_request

__all__ = ["TOKENIZED", "compile_search", "tokens"]

Record = Mapping[str, Any]
Predicate = Callable[[Record], bool]
TOKENIZED = frozenset({"displayName", "description"})
# a clause, an operator or a parenthesis; anything else is a syntax error
_LEXEME = re.compile(r'\s*(?:(?P<clause>"[^"]*")|(?P<op>AND|OR)(?=[\s("]|$)|(?P<paren>[()]))')
# camelCase boundaries, letter/digit boundaries, runs of letters or digits
_TOKEN = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+|[^\W\d_]+")


def tokens(text: str) -> list[str]:
    """The lower-case tokens Graph indexes a displayName or description by."""
    return [t.lower() for t in _TOKEN.findall(text)]


def _syntax(detail: str) -> Exception:
    return bad_request(f"Syntax error: {detail} in $search query.", "BadRequest")


def _lex(text: str) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    at = 0
    while at < len(text):
        if not text[at:].strip():
            break
        match = _LEXEME.match(text, at)
        if match is None:
            raise _syntax(f"character '{text[at:].lstrip()[0]}' is not valid at position {at}")
        kind = match.lastgroup or ""
        found.append((kind, match.group(kind)))
        at = match.end()
    if not found:
        raise _syntax("an empty search")
    return found


def _clause(raw: str, searchable: Sequence[str]) -> Predicate:
    prop, colon, term = raw[1:-1].partition(":")
    prop = prop.strip()
    if not colon or not prop:
        raise _syntax(f'the clause {raw} is not of the form "property:text"')
    names = {name.lower(): name for name in searchable}
    name = names.get(prop.lower())
    if name is None:
        raise bad_request(f"Unsupported property '{prop}' in $search.")
    if name in TOKENIZED:
        wanted = tokens(term)
        if not wanted:
            return lambda record: True

        def tokenized(record: Record) -> bool:
            have = tokens(str(record.get(name) or ""))
            return all(any(h.startswith(w) for h in have) for w in wanted)

        return tokenized
    prefix = term.strip().lower()
    return lambda record: str(record.get(name) or "").lower().startswith(prefix)


class _Parser:
    def __init__(self, lexemes: list[tuple[str, str]], searchable: Sequence[str]) -> None:
        self._lexemes = lexemes
        self._at = 0
        self._searchable = searchable

    def _peek(self) -> tuple[str, str] | None:
        return self._lexemes[self._at] if self._at < len(self._lexemes) else None

    def parse(self) -> Predicate:
        found = self._or()
        if self._peek() is not None:
            raise _syntax(f"unexpected '{self._lexemes[self._at][1]}'")
        return found

    def _or(self) -> Predicate:
        parts = [self._and()]
        while self._peek() == ("op", "OR"):
            self._at += 1
            parts.append(self._and())
        return parts[0] if len(parts) == 1 else (lambda r: any(p(r) for p in parts))

    def _and(self) -> Predicate:
        parts = [self._factor()]
        while self._peek() == ("op", "AND"):
            self._at += 1
            parts.append(self._factor())
        return parts[0] if len(parts) == 1 else (lambda r: all(p(r) for p in parts))

    def _factor(self) -> Predicate:
        lexeme = self._peek()
        if lexeme is None:
            raise _syntax("the search ends where a clause was expected")
        self._at += 1
        kind, value = lexeme
        if kind == "clause":
            return _clause(value, self._searchable)
        if lexeme == ("paren", "("):
            inner = self._or()
            if self._peek() != ("paren", ")"):
                raise _syntax("a '(' is not closed")
            self._at += 1
            return inner
        raise _syntax(f"'{value}' where a clause was expected")


def compile_search(text: str, searchable: Sequence[str]) -> Predicate:
    """The records ``$search=text`` keeps (the grammar in the module docstring)."""
    return _Parser(_lex(text), searchable).parse()
