"""The records' JSON shapes in the API.

A record's shape is a ``TypedDict`` declared next to the record (see
:mod:`credsync.vault.models`); a route names it as its ``response_model`` and returns what the
record's ``to_json`` made, and pydantic validates it once and documents it in the OpenAPI
document. The app calls :func:`document_routes` once its routes are in: every shape a route
answers with, and every shape inside one, gets the pydantic config that makes the docstring
under each field its description, in the OpenAPI document (the fields of the shapes it extends
too: pydantic's own ``use_attribute_docstrings`` reads a class's own fields only). So the
vault never imports pydantic, and no list of shapes is kept here.
"""

from __future__ import annotations

import ast
import functools
import inspect
import itertools
import textwrap
import typing
from collections.abc import Iterable, Iterator
from typing import Any

from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict
from starlette.routing import BaseRoute
from typing_extensions import is_typeddict

__all__ = ["document_routes", "documented", "field_docs"]


def document_routes(routes: Iterable[BaseRoute]) -> None:
    """:func:`documented` for what each route answers (its response model and its other
    responses' models)."""
    for route in routes:
        if isinstance(route, APIRoute):
            models = [r.get("model") for r in route.responses.values()]
            documented(route.response_model, *models)


def documented(*hints: Any) -> None:
    """Give each shape among ``hints``, and each shape inside one (in a field's type), the
    config that describes its fields with their docstrings in the JSON schema."""
    seen: set[int] = set()
    for hint in hints:
        for shape in _shapes_in(hint, seen):
            shape.__pydantic_config__ = _CONFIG  # type: ignore[attr-defined]


def field_docs(shape: type) -> dict[str, str]:
    """The docstring under each field of ``shape`` or of a shape it extends (the nearest)."""
    docs: dict[str, str] = {}
    for base in getattr(shape, "__orig_bases__", ()):
        if is_typeddict(base):
            docs.update(field_docs(base))
    docs.update(_own_docs(shape))
    return docs


@functools.cache
def _own_docs(shape: type) -> dict[str, str]:
    try:
        source = textwrap.dedent(inspect.getsource(shape))
    except (OSError, TypeError):  # made at run time (no source): no docstrings
        return {}
    body = typing.cast(ast.ClassDef, ast.parse(source).body[0]).body
    docs = {}
    for node, after in itertools.pairwise(body):
        if (
            isinstance(node, ast.AnnAssign)
            and isinstance(node.target, ast.Name)
            and isinstance(after, ast.Expr)
            and isinstance(after.value, ast.Constant)
            and isinstance(after.value.value, str)
        ):
            docs[node.target.id] = _unwrapped(inspect.cleandoc(after.value.value))
    return docs


def _unwrapped(text: str) -> str:
    """A docstring's paragraphs, each on one line (as a ``Field`` description is written)."""
    return "\n\n".join(" ".join(p.split()) for p in text.split("\n\n"))


def _describe(schema: dict[str, Any], shape: type) -> None:
    properties = schema.get("properties", {})
    for name, doc in field_docs(shape).items():
        if name in properties:
            properties[name].setdefault("description", doc)


_CONFIG = ConfigDict(json_schema_extra=_describe)


def _shapes_in(hint: Any, seen: set[int]) -> Iterator[type]:
    """``hint`` if it is a shape, and the shapes inside it (in a shape's or a model's fields,
    in a list or union), each once."""
    if hint is None or id(hint) in seen:
        return
    seen.add(id(hint))
    inner: Iterable[Any]
    if is_typeddict(hint):
        yield hint
        inner = typing.get_type_hints(hint).values()
    elif isinstance(hint, type) and issubclass(hint, BaseModel):
        inner = [f.annotation for f in hint.model_fields.values()]
    else:
        inner = typing.get_args(hint)
    for each in inner:
        yield from _shapes_in(each, seen)
