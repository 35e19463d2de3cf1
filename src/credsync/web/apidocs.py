"""The API reference page's content, read from the app's own OpenAPI document: operations by
tag with their parameters, request body fields (nested models resolved through ``$ref``, to
:data:`MAX_DEPTH` levels and never round a cycle) and responses, and every schema's fields.

Pure functions from the document (a dict) to plain objects the template shows; the only markup
made here is escaped text with ``code`` spans and links to the schemas (:class:`Markup`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup, escape

from credsync.vault.auth import Permission

__all__ = [
    "MAX_DEPTH",
    "ApiReference",
    "Body",
    "Field",
    "Operation",
    "Response",
    "Schema",
    "Tag",
    "build_reference",
    "fields",
    "prose",
]

MAX_DEPTH = 4  # nested models shown inside a request body, below its top level

Doc = Mapping[str, Any]
_REF = "#/components/schemas/"
_METHODS = ("get", "post", "put", "patch", "delete")
_VERSION_PREFIX = re.compile(r"^/api/v\d+")
_CODE = re.compile(r"``(.+?)``", re.DOTALL)
_PATH_PARAMETER = re.compile(r"\{([^}]+)\}")
_PERMISSION = re.compile(  # one group: split() keeps the names
    "("
    + "|".join(re.escape(p.value) for p in Permission if "." in p.value)
    + r"|(?<=needs )admin\b|(?<=with )admin\b)"
)


@dataclass(frozen=True)
class Field:
    """A parameter, or a field of a body or schema (``name`` dotted below the top level)."""

    name: str
    depth: int
    type: Markup
    required: bool
    description: Markup
    constraints: tuple[str, ...]
    where: str = ""  # a parameter's place: path, query, header, cookie


@dataclass(frozen=True)
class Response:
    status: str
    description: Markup
    type: Markup  # the schema (a link to it), with the content type when not JSON


@dataclass(frozen=True)
class Body:
    content_types: tuple[str, ...]
    required: bool
    description: Markup
    type: Markup
    fields: tuple[Field, ...]


@dataclass(frozen=True)
class Operation:
    anchor: str
    method: str
    path: str
    summary: str
    description: Markup
    parameters: tuple[Field, ...]
    body: Body | None
    responses: tuple[Response, ...]
    common_errors: tuple[str, ...]  # statuses answered as the shared error responses

    @property
    def path_markup(self) -> Markup:
        """The path with its parameters (``{ref}``) marked as variables."""
        return _marked(_PATH_PARAMETER, self.path, Markup("{{<var>{}</var>}}"))


@dataclass(frozen=True)
class Tag:
    name: str
    anchor: str
    operations: tuple[Operation, ...]


@dataclass(frozen=True)
class Schema:
    name: str
    anchor: str
    description: Markup
    fields: tuple[Field, ...]


@dataclass(frozen=True)
class ApiReference:
    title: str
    version: str
    openapi: str
    description: str
    tags: tuple[Tag, ...]
    schemas: tuple[Schema, ...]
    common_errors: tuple[Response, ...]  # the error responses most operations declare alike

    @property
    def operation_count(self) -> int:
        return sum(len(tag.operations) for tag in self.tags)

    @property
    def common_error_type(self) -> Markup:
        return Markup("; ").join(dict.fromkeys(r.type for r in self.common_errors))


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def schema_anchor(name: str) -> str:
    return f"schema-{_slug(name)}"


def _marked(pattern: re.Pattern[str], text: str, template: Markup) -> Markup:
    """``text`` escaped, with what ``pattern``'s one group matches put in ``template``."""
    return Markup("").join(
        template.format(p) if i % 2 else p for i, p in enumerate(pattern.split(text))
    )


def _inline(text: str) -> Markup:
    """``text`` escaped, with permission names marked."""
    return _marked(_PERMISSION, text, Markup('<code class="perm">{}</code>'))


def _line(text: str) -> Markup:
    parts: list[Markup] = []
    for index, piece in enumerate(_CODE.split(text)):
        parts.append(Markup("<code>{}</code>").format(piece) if index % 2 else _inline(piece))
    return Markup("").join(parts)


def prose(text: str | None) -> Markup:
    """A docstring as HTML: paragraphs, ``- `` lists, ````code```` spans, permission names
    marked; everything else escaped."""
    blocks: list[Markup] = []
    for block in re.split(r"\n\s*\n", (text or "").strip()):
        lines = [line.strip() for line in block.splitlines() if line.strip()]
        if not lines:
            continue
        if lines[0].startswith("- "):
            items: list[str] = []
            for line in lines:
                if line.startswith("- ") or not items:
                    items.append(line.removeprefix("- "))
                else:
                    items[-1] += " " + line
            blocks.append(
                Markup("<ul>{}</ul>").format(
                    Markup("").join(Markup("<li>{}</li>").format(_line(i)) for i in items)
                )
            )
        else:
            blocks.append(Markup("<p>{}</p>").format(_line(" ".join(lines))))
    return Markup("\n").join(blocks)


def _ref_name(schema: Doc) -> str | None:
    ref = schema.get("$ref")
    return ref.removeprefix(_REF) if isinstance(ref, str) and ref.startswith(_REF) else None


def _variants(schema: Doc) -> tuple[list[Doc], bool]:
    """The non-null alternatives of ``schema`` and whether null is allowed."""
    options = schema.get("anyOf") or schema.get("oneOf")
    if not isinstance(options, list):
        return [schema], False
    kept = [o for o in options if o.get("type") != "null"]
    return kept, len(kept) < len(options)


def type_of(schema: Doc) -> Markup:
    """A schema's type in words: ``string``, ``array of CredentialJson`` (linked), ``integer or
    null``."""
    variants, nullable = _variants(schema)
    if len(variants) != 1 or variants[0] is not schema:
        words = Markup(" or ").join(type_of(v) for v in variants) or Markup("any")
        return words + Markup(" or null") if nullable else words
    name = _ref_name(schema)
    if name is not None:
        return Markup('<a href="#{}">{}</a>').format(schema_anchor(name), name)
    kind = schema.get("type")
    if kind == "array":
        return Markup("array of ") + type_of(schema.get("items") or {})
    if kind == "object" and isinstance(schema.get("additionalProperties"), dict):
        return Markup("object of ") + type_of(schema["additionalProperties"])
    if isinstance(kind, list):
        return Markup(" or ").join(escape(k) for k in kind)
    words = escape(kind or "any")
    if "format" in schema:
        words += Markup(" ({})").format(schema["format"])
    return words


def _length(low: object, high: object, unit: str) -> str | None:
    if low is not None and high is not None:
        return f"{low}-{high} {unit}" if low != high else f"exactly {low} {unit}"
    if high is not None:
        return f"at most {high} {unit}"
    if low is not None:
        return f"at least {low} {unit}"
    return None


def _number(value: object) -> str:
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def constraints(schema: Doc) -> tuple[str, ...]:
    """A schema's limits in words (of each non-null alternative, and the default)."""
    found: list[str] = []
    variants, _ = _variants(schema)
    for part in [schema, *(v for v in variants if v is not schema)]:
        items: Doc = part["items"] if isinstance(part.get("items"), dict) else {}
        words = [
            _length(part.get("minLength"), part.get("maxLength"), "characters"),
            _length(part.get("minItems"), part.get("maxItems"), "items"),
            _length(part.get("minProperties"), part.get("maxProperties"), "keys"),
            _length(items.get("minLength"), items.get("maxLength"), "characters each"),
        ]
        low, high = part.get("minimum"), part.get("maximum")
        if low is not None and high is not None:
            words.append(f"{_number(low)} to {_number(high)}")
        elif low is not None or high is not None:
            words.append(f"at least {_number(low)}" if high is None else f"at most {_number(high)}")
        for key, sign in (("exclusiveMinimum", "above"), ("exclusiveMaximum", "below")):
            if key in part:
                words.append(f"{sign} {_number(part[key])}")
        if "enum" in part:
            words.append("one of: " + ", ".join(str(v) for v in part["enum"]))
        if "const" in part:
            words.append(f"always {json.dumps(part['const'])}")
        if "pattern" in part:
            words.append(f"matches {part['pattern']}")
        found.extend(w for w in words if w)
    if "default" in schema and schema["default"] is not None:
        found.append(f"default {json.dumps(schema['default'])}")
    return tuple(dict.fromkeys(found))


def _description(*schemas: Doc) -> Markup:
    for schema in schemas:
        text = schema.get("description")
        if isinstance(text, str) and text.strip():
            return prose(text)
    return Markup("")


def _target(doc: Doc, schema: Doc) -> tuple[str | None, Doc, str]:
    """The model a field holds, through ``null`` alternatives and arrays: its name (None for
    an inline object), schema and the name suffix of its fields (``.`` or ``[].``)."""
    variants, _ = _variants(schema)
    if len(variants) != 1:
        return None, {}, ""
    inner, suffix = variants[0], "."
    if inner.get("type") == "array" and isinstance(inner.get("items"), dict):
        inner, suffix = inner["items"], "[]."
    name = _ref_name(inner)
    if name is not None:
        return name, doc.get("components", {}).get("schemas", {}).get(name, {}), suffix
    return None, inner, suffix


def fields(
    doc: Doc,
    schema: Doc,
    *,
    max_depth: int = MAX_DEPTH,
    prefix: str = "",
    depth: int = 0,
    seen: frozenset[str] = frozenset(),
) -> tuple[Field, ...]:
    """The fields of an object schema, each followed by its own fields when it holds a model
    (down to ``max_depth`` levels below the top, and never into a model it is already in)."""
    name, model, _ = _target(doc, schema)
    if name is not None:
        seen |= {name}
    properties = model.get("properties")
    if not isinstance(properties, dict):
        return ()
    required = set(model.get("required", ()))
    found: list[Field] = []
    for key, prop in properties.items():
        found.append(
            Field(
                name=prefix + key,
                depth=depth,
                type=type_of(prop),
                required=key in required,
                description=_description(prop),
                constraints=constraints(prop),
            )
        )
        child, child_model, suffix = _target(doc, prop)
        if depth < max_depth and child not in seen and "properties" in child_model:
            found.extend(
                fields(
                    doc,
                    prop,
                    max_depth=max_depth,
                    prefix=f"{prefix}{key}{suffix}",
                    depth=depth + 1,
                    seen=seen,
                )
            )
    return tuple(found)


def _parameters(raw: Iterable[Doc]) -> tuple[Field, ...]:
    return tuple(
        Field(
            name=str(p["name"]),
            depth=0,
            type=type_of(p.get("schema", {})),
            required=bool(p.get("required")),
            description=_description(p, p.get("schema", {})),
            constraints=constraints(p.get("schema", {})),
            where=str(p.get("in", "")),
        )
        for p in raw
    )


def _body(doc: Doc, raw: Doc | None) -> Body | None:
    if not raw:
        return None
    content: dict[str, Any] = raw.get("content", {})
    media: Doc = next(iter(content.values()), {})
    schema = media.get("schema", {})
    return Body(
        content_types=tuple(content),
        required=bool(raw.get("required")),
        description=_description(raw, schema),
        type=type_of(schema),
        fields=fields(doc, schema),
    )


def _response(status: str, raw: Doc) -> Response:
    parts: list[Markup] = []
    for content_type, media in raw.get("content", {}).items():
        shown = type_of(media.get("schema", {}))
        if content_type != "application/json":
            shown += Markup(" ({})").format(content_type)
        parts.append(shown)
    return Response(status, prose(raw.get("description")), Markup("; ").join(parts))


def _operations(doc: Doc) -> list[tuple[str, str, Doc]]:
    return [
        (method, path, op)
        for path, item in doc.get("paths", {}).items()
        for method, op in item.items()
        if method in _METHODS
    ]


def _shared_errors(doc: Doc) -> dict[str, Doc]:
    """The error responses (4xx, 5xx) most operations declare the same way: per status, the
    declaration more than half of them give (an operation's own shows with it)."""
    operations = _operations(doc)
    votes: dict[tuple[str, str], tuple[int, Doc]] = {}
    for _, _, op in operations:
        for status, response in op.get("responses", {}).items():
            if status[:1] in "45":
                key = (status, json.dumps(response, sort_keys=True))
                votes[key] = (votes.get(key, (0, response))[0] + 1, response)
    return {
        status: response
        for (status, _), (count, response) in sorted(votes.items())
        if count * 2 > len(operations)
    }


def build_reference(doc: Doc) -> ApiReference:
    """The page's content from an OpenAPI 3 document (``app.openapi()``)."""
    shared = _shared_errors(doc)
    by_tag: dict[str, list[Operation]] = {}
    anchors: set[str] = set()
    for method, path, op in _operations(doc):
        anchor = base = "op-" + _slug(f"{method} {_VERSION_PREFIX.sub('', path)}")
        count = 1
        while anchor in anchors:
            count += 1
            anchor = f"{base}-{count}"
        anchors.add(anchor)
        responses = op.get("responses", {})
        operation = Operation(
            anchor=anchor,
            method=method.upper(),
            path=path,
            summary=str(op.get("summary", "")),
            description=prose(op.get("description")),
            parameters=_parameters(op.get("parameters", ())),
            body=_body(doc, op.get("requestBody")),
            responses=tuple(_response(s, r) for s, r in responses.items() if shared.get(s) != r),
            common_errors=tuple(s for s, r in responses.items() if shared.get(s) == r),
        )
        tag = str((op.get("tags") or ["other"])[0])  # under its first tag only: ids are unique
        by_tag.setdefault(tag, []).append(operation)
    schemas = doc.get("components", {}).get("schemas", {})
    info = doc.get("info", {})
    return ApiReference(
        title=str(info.get("title", "API")),
        version=str(info.get("version", "")),
        openapi=str(doc.get("openapi", "")),
        description=str(info.get("description", "")),
        tags=tuple(Tag(name, "tag-" + _slug(name), tuple(ops)) for name, ops in by_tag.items()),
        schemas=tuple(
            Schema(
                name,
                schema_anchor(name),
                _description(schema),
                fields(doc, {"$ref": _REF + name}, max_depth=0),
            )
            for name, schema in sorted(schemas.items())
        ),
        common_errors=tuple(_response(s, r) for s, r in sorted(shared.items())),
    )
