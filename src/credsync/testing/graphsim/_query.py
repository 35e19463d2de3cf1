"""OData query options as Graph's directory endpoints take them: ``$select``, ``$top`` and a
``$filter`` subset compiled to a predicate.

$filter grammar: ``or``/``and``/``not``, parentheses, ``prop eq|ne|ge|le|gt|lt literal``,
``prop in ('a', 'b')``, ``startswith(prop,'x')``, ``endswith(prop,'x')``; literals are quoted
strings (``''`` escapes a quote), true/false/null, numbers and bare GUIDs. String comparisons
ignore case, as Graph's do for the directory's names. ``ne``, ``not``, ``endswith``,
``gt``/``lt`` and comparing with null are advanced queries: they need ConsistencyLevel:
eventual (:attr:`Filter.advanced`). A ``DateTimeOffset`` literal is read as a time
(``2026-12-01``, ``2026-12-01T10:00:00.5Z``, ``+01:00`` offsets) and compared in Graph's form.

A caller may declare ``collection/any(x: x/prop ...)`` lambdas over a collection of objects
(``lambdas``), and may restrict each property to some operators (``operators``: then ``or``,
``not`` and anything not listed answer 400 naming the operator and the property), as the audit
log's narrow ``$filter`` does.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ._clock import iso
from ._errors import GraphError, bad_request, unsupported_query

__all__ = ["Filter", "parse_filter", "parse_select", "parse_top"]

Getter = Callable[[Any, str], Any]
Predicate = Callable[[Any, Getter], bool]

_TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<punct>[(),])|(?P<word>[A-Za-z_$@][\w./$@:-]*)"
    r"|(?P<raw>[0-9][\w.:+-]*))"
)
_COMPARE = {"eq", "ne", "ge", "le", "gt", "lt"}
_ADVANCED_OPS = {"ne", "gt", "lt"}


def parse_select(text: str | None, known: Sequence[str], type_name: str) -> list[str] | None:
    """The properties named by ``$select`` in their canonical spelling, or None if absent."""
    if text is None or not text.strip():
        return None
    canonical = {name.lower(): name for name in known}
    chosen: list[str] = []
    for raw in text.split(","):
        name = raw.strip()
        found = canonical.get(name.lower())
        if found is None:
            raise bad_request(f"Could not find a property named '{name}' on type '{type_name}'.")
        if found not in chosen:
            chosen.append(found)
    return chosen


def parse_top(text: str | None, default: int, maximum: int = 999) -> int:
    if text is None:
        return default
    try:
        value = int(text)
    except ValueError:
        raise bad_request(f"Invalid page size specified: '{text}'.", "BadRequest") from None
    if not 1 <= value <= maximum:
        raise bad_request(
            f"Invalid page size specified: '{text}'. Must be between 1 and {maximum} inclusive."
        )
    return value


@dataclass
class Filter:
    predicate: Predicate
    advanced: bool  # needs ConsistencyLevel: eventual
    ids: tuple[str, ...] | None  # the ids it is limited to, when it is only `id eq`/`id in`
    # (property, values) when it is only `prop eq v` / `prop in (...)` on one property, joined
    # by `or`: a caller with an index may look the values up instead of scanning
    keys: tuple[str, tuple[Any, ...]] | None = None

    def __call__(self, record: Any, get: Getter) -> bool:
        return self.predicate(record, get)


def _literal(token: tuple[str, str]) -> Any:
    kind, text = token
    if kind == "str":
        return text[1:-1].replace("''", "'")
    if kind == "raw":
        if re.fullmatch(r"-?\d+", text):
            return int(text)
        return text  # a bare GUID
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered == "null":
        return None
    raise ValueError(f"not a literal: {text}")


def _moment(value: Any) -> str:
    """A DateTimeOffset literal in Graph's whole-second UTC form (ValueError if it is none)."""
    text = str(value).strip()
    if re.fullmatch(r"\d{4}-\d\d-\d\d", text):
        text += "T00:00:00Z"
    moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return iso(moment)


def _item_get(item: Any, name: str) -> Any:
    return item.get(name) if isinstance(item, dict) else None


def _fold(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def _compare(op: str, left: Any, right: Any) -> bool:
    left, right = _fold(left), _fold(right)
    if op == "eq":
        return bool(left == right)
    if op == "ne":
        return bool(left != right)
    if left is None or right is None:
        return False
    try:
        return bool(
            {"ge": left >= right, "le": left <= right, "gt": left > right, "lt": left < right}[op]
        )
    except TypeError:
        return False


def _either(first: Predicate, second: Predicate) -> Predicate:
    return lambda r, g: first(r, g) or second(r, g)


def _both(first: Predicate, second: Predicate) -> Predicate:
    return lambda r, g: first(r, g) and second(r, g)


class _Parser:
    def __init__(
        self,
        text: str,
        props: Mapping[str, str],
        type_name: str,
        operators: Mapping[str, frozenset[str]] | None = None,
        lambdas: Mapping[str, Mapping[str, str]] | None = None,
    ) -> None:
        self.tokens = self._tokenize(text)
        self.pos = 0
        self.props = {name.lower(): name for name in props}
        self.types: Mapping[str, str] = props
        self.type_name = type_name
        self.operators = operators
        self.lambdas = {name.lower(): (name, inner) for name, inner in (lambdas or {}).items()}
        self.scope = ""  # "collection/" inside a lambda (for ``operators``)
        self.advanced = False
        self.id_only = True
        self.ids: list[str] = []
        self.key_only = True  # only eq/in on one property, or'ed (see Filter.keys)
        self.keys: list[tuple[str, Any]] = []

    @staticmethod
    def _tokenize(text: str) -> list[tuple[str, str]]:
        tokens, pos = [], 0
        while pos < len(text):
            if text[pos:].strip() == "":
                break
            match = _TOKEN.match(text, pos)
            if not match or match.end() == pos:
                raise ValueError(f"unexpected text at {pos}")
            kind = match.lastgroup or ""
            tokens.append((kind, match.group(kind)))
            pos = match.end()
        return tokens

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self, expected: str | None = None) -> tuple[str, str]:
        token = self.peek()
        if token is None or (expected is not None and token[1].lower() != expected):
            raise ValueError(f"expected {expected or 'more'}")
        self.pos += 1
        return token

    def at_word(self, *words: str) -> bool:
        token = self.peek()
        return token is not None and token[0] == "word" and token[1].lower() in words

    def prop(self) -> str:
        kind, text = self.take()
        if kind != "word":
            raise ValueError("expected a property")
        name = self.props.get(text.lower())
        if name is None:
            raise unsupported_query(
                f"Unsupported or invalid query filter clause specified for property '{text}' "
                f"of resource '{self.type_name}'."
            )
        if name != "id":
            self.id_only = False
        return name

    def allow(self, name: str, op: str) -> None:
        """Refuse ``op`` on ``name`` when the caller restricted operators."""
        if self.operators is None:
            return
        if op not in self.operators.get(self.scope + name, frozenset()):
            raise unsupported_query(
                f"Unsupported filter operator '{op}' for property '{self.scope + name}' of "
                f"resource '{self.type_name}'."
            )

    def connective(self, word: str) -> None:
        if self.operators is not None:
            raise unsupported_query(
                f"Unsupported filter operator '{word}' for resource '{self.type_name}'."
            )

    def lambda_any(self, collection: str) -> Predicate:
        """``collection/any(x: <expression over x/prop>)`` (the ``any`` word already taken)."""
        found = self.lambdas.get(collection.lower())
        if found is None:
            raise unsupported_query(
                f"Unsupported or invalid query filter clause specified for property "
                f"'{collection}' of resource '{self.type_name}'."
            )
        name, inner = found
        self.take("(")
        kind, text = self.take()
        variable, colon, rest = text.partition(":")
        if kind != "word" or not colon or not variable:
            raise ValueError("expected a lambda variable and ':'")
        if rest:
            self.tokens.insert(self.pos, ("word", rest))
        saved = (self.props, self.types, self.scope)
        self.props = {f"{variable}/{p}".lower(): p for p in inner}
        self.types, self.scope = inner, f"{name}/"
        try:
            test = self.expression()
        finally:
            self.props, self.types, self.scope = saved
        self.take(")")
        self.id_only = self.key_only = False
        return lambda r, g: any(test(item, _item_get) for item in (g(r, name) or ()))

    def expression(self) -> Predicate:
        left = self.conjunction()
        while self.at_word("or"):
            self.connective("or")
            self.take()
            left = _either(left, self.conjunction())
        return left

    def conjunction(self) -> Predicate:
        left = self.unary()
        while self.at_word("and"):
            self.take()
            self.id_only = self.key_only = False
            left = _both(left, self.unary())
        return left

    def unary(self) -> Predicate:
        if self.at_word("not"):
            self.connective("not")
            self.take()
            self.advanced = True
            self.key_only = False
            inner = self.unary()
            return lambda r, g: not inner(r, g)
        return self.primary()

    def primary(self) -> Predicate:
        token = self.peek()
        if token == ("punct", "("):
            self.take()
            inner = self.expression()
            self.take(")")
            return inner
        if self.at_word("startswith", "endswith"):
            func = self.take()[1].lower()
            self.take("(")
            name = self.prop()
            self.take(",")
            value = _literal(self.take())
            self.take(")")
            if not isinstance(value, str):
                raise ValueError("startswith/endswith take a string")
            self.allow(name, func)
            self.id_only = self.key_only = False
            needle = value.lower()
            if func == "endswith":
                self.advanced = True
                return lambda r, g: str(g(r, name) or "").lower().endswith(needle)
            return lambda r, g: str(g(r, name) or "").lower().startswith(needle)
        if token is not None and token[0] == "word" and token[1].lower().endswith("/any"):
            self.take()
            return self.lambda_any(token[1][: -len("/any")])
        if token is not None and token[0] == "word" and token[1].lower() in ("contains", "any"):
            raise unsupported_query("Unsupported Query.")
        name = self.prop()
        op = self.take()[1].lower()
        if op == "in":
            self.allow(name, "in")
            self.take("(")
            values = [_literal(self.take())]
            while self.peek() == ("punct", ","):
                self.take()
                values.append(_literal(self.take()))
            self.take(")")
            folded = {_fold(v) for v in values}
            self.keys.extend((name, v) for v in values)
            if None in values:
                self.key_only = False
            if name == "id":
                self.ids.extend(str(v) for v in values)
            return lambda r, g: _fold(g(r, name)) in folded
        if op not in _COMPARE:
            raise ValueError(f"unknown operator {op}")
        self.allow(name, op)
        value = _literal(self.take())
        if self.types.get(name) == "Edm.DateTimeOffset" and value is not None:
            value = _moment(value)
        if op in _ADVANCED_OPS or value is None:
            self.advanced = True
        if op == "eq" and value is not None:
            self.keys.append((name, value))
        else:
            self.key_only = False
        if name == "id" and op == "eq":
            self.ids.append(str(value))
        elif name == "id":
            self.id_only = False
        return lambda r, g: _compare(op, g(r, name), value)


def parse_filter(
    text: str | None,
    props: Mapping[str, str],
    type_name: str,
    *,
    operators: Mapping[str, frozenset[str]] | None = None,
    lambdas: Mapping[str, Mapping[str, str]] | None = None,
) -> Filter | None:
    """Compile ``$filter`` over the filterable ``props`` (name -> Edm type) of ``type_name``;
    ``operators`` (name -> allowed operators) and ``lambdas`` (collection -> its items'
    filterable props) as the module docstring says."""
    if text is None or not text.strip():
        return None
    parser = _Parser(text, props, type_name, operators, lambdas)
    try:
        predicate = parser.expression()
        if parser.peek() is not None:
            raise ValueError("trailing text")
    except GraphError:
        raise
    except (ValueError, IndexError) as exc:
        raise bad_request(f"Invalid filter clause: {exc}", "BadRequest") from None
    ids = tuple(parser.ids) if parser.id_only and parser.ids else None
    names = {name for name, _value in parser.keys}
    keys = None
    if parser.key_only and len(names) == 1:
        keys = (names.pop(), tuple(value for _name, value in parser.keys))
    return Filter(predicate, parser.advanced, ids, keys)
