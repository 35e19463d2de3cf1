"""The API reference at /api/v1/docs, in-process: made from the app's own OpenAPI document
(every operation, its parameters, body fields and responses), public like that document,
with the dashboard's strict headers, no script and nothing from another host."""

from __future__ import annotations

import functools
import itertools
import re
from collections import Counter
from dataclasses import dataclass, field
from html.parser import HTMLParser
from importlib import resources
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from credsync.web.apidocs import MAX_DEPTH, build_reference, fields, prose
from credsync.web.pages import _HEADERS

from .conftest import WebWorld

DOCS = "/api/v1/docs"
_VOID = {"meta", "link", "input", "br", "img", "hr", "source", "col", "wbr"}
_BLOCKS = {"p", "li", "td", "th", "tr", "ul", "div", "pre"}


@dataclass
class Node:
    tag: str
    attrs: dict[str, str]
    children: list[Node | str] = field(default_factory=list)

    @property
    def text(self) -> str:
        raw = "".join(
            c if isinstance(c, str) else f" {c.text} " if c.tag in _BLOCKS else c.text
            for c in self.children
        )
        return " ".join(raw.split())

    def all(self, tag: str = "", **attrs: str) -> list[Node]:
        found = []
        for child in self.children:
            if isinstance(child, Node):
                if (not tag or child.tag == tag) and all(
                    child.attrs.get(k.rstrip("_")) == v for k, v in attrs.items()
                ):
                    found.append(child)
                found.extend(child.all(tag, **attrs))
        return found

    def one(self, tag: str = "", **attrs: str) -> Node:
        found = self.all(tag, **attrs)
        assert len(found) == 1, (tag, attrs, len(found))
        return found[0]


class _Tree(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self._open = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {k: v or "" for k, v in attrs})
        self._open[-1].children.append(node)
        if tag not in _VOID:
            self._open.append(node)

    def handle_endtag(self, tag: str) -> None:
        assert self._open[-1].tag == tag, f"</{tag}> closes <{self._open[-1].tag}>"
        self._open.pop()

    def handle_data(self, data: str) -> None:
        self._open[-1].children.append(data)


def parse(html: str) -> Node:
    tree = _Tree()
    tree.feed(html)
    tree.close()
    assert [n.tag for n in tree._open] == ["#document"], "unclosed elements"
    return tree.root


@dataclass
class Docs:
    app: FastAPI
    response: Any
    page: Node
    openapi: dict[str, Any]

    @functools.cached_property
    def headed_operations(self) -> list[tuple[str, Node]]:
        """Each operation's article with the text of its one heading, in page order (found
        once: the page is large, and the tests look up operations by the dozen)."""
        return [(a.one("h3").text, a) for a in self.page.all("article", class_="op")]

    def operation(self, method: str, path: str) -> Node:
        for heading, article in self.headed_operations:
            if heading.startswith(f"{method} {path} "):
                return article
        raise AssertionError(f"{method} {path} is not on the page")


@pytest.fixture(scope="module")
def docs(web_app: FastAPI) -> Docs:
    """The page as a signed-out browser gets it (the route reads no vault state)."""
    response = TestClient(web_app, follow_redirects=False).get(DOCS)
    assert response.status_code == 200
    return Docs(web_app, response, parse(response.text), web_app.openapi())


def test_every_operation_is_on_the_page_and_in_the_contents(docs: Docs) -> None:
    documented = [
        (method.upper(), path)
        for path, item in docs.openapi["paths"].items()
        for method in item
        if method in {"get", "post", "put", "patch", "delete"}
    ]
    assert len(documented) > 50
    for method, path in documented:
        docs.operation(method, path)
    assert len(docs.page.all("article", class_="op")) == len(documented)
    toc = docs.page.one("nav", class_="api-toc")
    linked = {a.attrs["href"] for a in toc.all("a")}
    assert {f"#{a.attrs['id']}" for a in docs.page.all("article", class_="op")} <= linked
    # Every link on the page leads somewhere: an id of the page (each id once), or this server.
    id_list = [n.attrs["id"] for n in docs.page.all() if "id" in n.attrs]
    ids = set(id_list)
    assert len(id_list) == len(ids)
    for a in docs.page.all("a"):
        href = a.attrs["href"]
        assert href[1:] in ids if href.startswith("#") else href.startswith("/"), href
    assert docs.page.one("a", href="/api/v1/openapi.json")


def test_parameters_body_fields_and_responses_of_known_routes(docs: Docs) -> None:
    listing = docs.operation("GET", "/api/v1/clients/{client}/credentials")
    rows = {r.one("th").text: r.text for r in listing.all("tr") if r.all("th", scope="row")}
    assert rows["client required"].startswith("client required path string")
    assert (
        "query integer At most this many items (1-500). 1 to 500 · default 100"
        in rows["limit optional"]
    )
    assert "query string or null next_cursor of the previous page." in rows["cursor optional"]
    assert "query boolean The client's trash instead. default false" in rows["trash optional"]
    assert rows["200"] == "200 Successful Response CredentialPage"
    assert listing.one("a", href="#schema-credentialpage").text == "CredentialPage"
    assert rows["400, 401, 403, 404, 409, 422, 429"].endswith("The usual errors ErrorOut")

    add = docs.operation("POST", "/api/v1/clients/{client}/credentials")
    assert "application/json · required · CredentialIn" in add.one("p", class_="body-meta").text
    body = add.one("table", **{"aria-labelledby": f"{add.attrs['id']}-body"})
    fields_ = {r.one("th").text: r.text for r in body.all("tr") if r.all("th", scope="row")}
    assert fields_["title required"] == "title required string 1-255 characters"
    assert fields_["sync_mode optional"].endswith("one of: off, report, enforce, two_way")
    assert "array of string at most 50 items" in fields_["tags optional"]
    # The permissions an operation needs stay in sight, marked.
    resolve = docs.operation("POST", "/api/v1/flags/{ref}/resolve")
    marked = [c.text for c in resolve.all("code", class_="perm")]
    assert marked[:3] == ["vault.read", "vault.write", "directory_admin.use"]
    assert len(resolve.one("ul").all("li")) == 3  # the description's list of actions
    csv = docs.operation("POST", "/api/v1/clients/{client}/import")
    assert csv.one("p", class_="body-meta").text.startswith("text/csv · required · string")
    assert "The CSV, UTF-8, with a header row" in csv.text
    answers = {r.one("th").text: r.text for r in csv.all("tr") if r.all("th", scope="row")}
    assert answers["400"].endswith("ImportRejectedOut")  # its own 400, apart from the usual
    assert answers["401, 403, 404, 409, 422, 429"].endswith("The usual errors ErrorOut")
    assert answers["413"].endswith("ErrorOut")
    export = docs.operation("POST", "/api/v1/clients/{client}/export")
    assert "string (text/csv)" in export.text
    # Each schema has its section, fields and links to the models it holds.
    error_out = docs.page.one("article", id="schema-errorout")
    assert error_out.one("a", href="#schema-errorbody").text == "ErrorBody"


def test_nested_models_are_resolved_with_a_depth_limit_and_no_cycles(docs: Docs) -> None:
    doc = docs.openapi
    names = [f.name for f in fields(doc, {"$ref": "#/components/schemas/ImportRejectedOut"})]
    assert names[:3] == ["error", "error.status", "error.code"]
    assert "error.report.rejected[].line" in names

    def ref(name: str) -> dict[str, str]:
        return {"$ref": f"#/components/schemas/{name}"}

    def model(**properties: Any) -> dict[str, Any]:
        return {"type": "object", "properties": properties}

    looped: dict[str, Any] = {
        "components": {
            "schemas": {
                "Node": {
                    **model(
                        name={"type": "string"},
                        parent={"anyOf": [ref("Node"), {"type": "null"}]},
                        wrap=ref("Wrap"),
                    ),
                    "required": ["name"],
                },
                "Wrap": model(node=ref("Node"), next=ref("Wrap2")),
                "Wrap2": model(inner=ref("Wrap3")),
                "Wrap3": model(inner=ref("Wrap4")),
                "Wrap4": model(inner=ref("Wrap5")),
                "Wrap5": model(last={"type": "integer"}),
            }
        }
    }
    found = fields(looped, {"$ref": "#/components/schemas/Node"})
    assert [f.name for f in found] == [
        "name",
        "parent",  # a Node in a Node: shown, not opened again
        "wrap",
        "wrap.node",
        "wrap.next",
        "wrap.next.inner",
        "wrap.next.inner.inner",
        "wrap.next.inner.inner.inner",  # MAX_DEPTH levels below the top: not opened
    ]
    assert max(f.depth for f in found) == MAX_DEPTH
    assert found[0].required
    assert not found[1].required
    assert str(found[1].type) == '<a href="#schema-node">Node</a> or null'


def test_descriptions_are_escaped_with_code_lists_and_permissions() -> None:
    html = str(
        prose(
            'Reveal <b>it</b> (needs secret.reveal; with admin: ``{"a": 1}``).\n\n'
            "- ``push``: one\n  two;\n- three"
        )
    )
    assert html == (
        '<p>Reveal &lt;b&gt;it&lt;/b&gt; (needs <code class="perm">secret.reveal</code>; with '
        '<code class="perm">admin</code>: <code>{&#34;a&#34;: 1}</code>).</p>\n'
        "<ul><li><code>push</code>: one two;</li><li>three</li></ul>"
    )
    assert str(prose(None)) == ""


def test_no_script_nothing_from_elsewhere_and_the_strict_headers(docs: Docs) -> None:
    headers = docs.response.headers
    for name, value in _HEADERS.items():
        assert headers[name] == value
    html = docs.response.text
    assert not docs.page.all("script")
    assert not re.search(r"<script|swagger-ui|jsdelivr|tiangolo", html, re.IGNORECASE)
    for node in docs.page.all():
        for attribute in ("src", "href", "srcset", "action", "style"):
            value = node.attrs.get(attribute)
            assert value is None or not re.search(r"(https?:)?//|url\(", value), (node.tag, value)
    assert [n.attrs["href"] for n in docs.page.all("link")] == [
        "/static/web.css",
        "/static/favicon.svg",
    ]
    stylesheet = (resources.files("credsync.web") / "static" / "web.css").read_text()
    assert not re.search(r"@import|url\(", stylesheet)
    # FastAPI's own Swagger UI is gone with its helper route.
    http = TestClient(docs.app, follow_redirects=False)
    assert http.get("/api/v1/docs/oauth2-redirect").status_code == 404


def test_the_page_is_public_like_the_openapi_document_and_accessible(
    docs: Docs, web: WebWorld
) -> None:
    assert web.http.get("/api/v1/openapi.json").status_code == 200
    page = docs.page
    assert not page.all("nav", **{"aria-label": "Main"})  # signed out: no dashboard navigation
    assert page.one("a", class_="skip").attrs["href"] == "#main"
    assert page.one("main").attrs["id"] == "main"
    levels = [int(n.tag[1]) for n in page.all() if re.fullmatch(r"h[1-6]", n.tag)]
    assert levels[0] == 1
    assert levels.count(1) == 1
    assert all(b <= a + 1 for a, b in itertools.pairwise(levels)), "a heading skipped"
    for table in page.all("table"):
        assert table.attrs.get("aria-labelledby") or table.attrs.get("aria-label")
        assert all(th.attrs.get("scope") in {"col", "row"} for th in table.all("th"))
    # every region is labelled by exactly one element of the page (ids counted in one walk
    # of the page rather than one walk per region: there are hundreds)
    ids = Counter(n.attrs["id"] for n in page.all() if "id" in n.attrs)
    for region in page.all("section") + page.all("article"):
        assert ids[region.attrs["aria-labelledby"]] == 1, region.attrs
    # A signed-in operator gets the dashboard's navigation with it.
    signed = web.signed_in("viewer").get(DOCS)
    assert signed.status_code == 200
    assert parse(signed.text).one("nav", **{"aria-label": "Main"})
    assert "Sign out" in signed.text


def test_the_reference_follows_the_document() -> None:
    """Made from whatever document it is given: an operation without tags or description,
    a duplicate anchor, no shared errors."""
    doc = {
        "openapi": "3.1.0",
        "info": {"title": "t", "version": "2"},
        "paths": {
            "/api/v2/a-b": {"get": {"responses": {"200": {"description": "ok"}}}},
            "/api/v2/a/b": {
                "get": {"responses": {"404": {"description": "no"}}},
                "head": {"responses": {}},
            },
        },
    }
    reference = build_reference(doc)
    (tag,) = reference.tags
    assert tag.name == "other"
    assert [op.anchor for op in tag.operations] == ["op-get-a-b", "op-get-a-b-2"]
    assert reference.common_errors == ()
    assert [r.status for r in tag.operations[1].responses] == ["404"]
