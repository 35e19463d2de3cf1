"""Routing helpers of the API: path parameters that hold a slash, and the request body a route
takes.

Path parameters that hold a slash: a client named "A/B Corp" is reached as
``/clients/A%2FB%20Corp``.

Servers decode a path before routing, so an escaped slash would split the name into two path
segments and match no route. :class:`EncodedSlashes` (middleware) routes on the path with
each escaped slash decoded to a stand-in instead (a NUL: names can't hold control
characters), and :class:`NamedRoute` turns the stand-in back into a slash in the path
parameters the route is called with. Every router of the API is made by :func:`api_router`.

Request bodies: the server refuses one larger than :data:`BODY_LIMIT` (see
:mod:`credsync.server.middleware`); a route that takes more says so with :func:`body_limit` on
its function (CSV import).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import unquote

from fastapi import APIRouter
from fastapi.routing import APIRoute
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "BODY_LIMIT",
    "BodyLimit",
    "EncodedSlashes",
    "NamedRoute",
    "NoSniff",
    "api_router",
    "body_limit",
    "body_limit_of",
    "largest_body_limit",
]

_STAND_IN = "\x00"
_ESCAPED_SLASH = re.compile(r"%2f", re.IGNORECASE)


class EncodedSlashes:
    """Routes a request whose path holds ``%2F`` on that path with the escaped slashes kept
    apart from the path's own (see the module's doc)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        raw = scope.get("raw_path") if scope["type"] == "http" else None
        if raw and b"%2" in raw and _ESCAPED_SLASH.search(text := raw.decode("latin-1")):
            segments = (unquote(_ESCAPED_SLASH.sub("%00", part)) for part in text.split("/"))
            scope = {**scope, "path": "/".join(segments)}
        await self.app(scope, receive, send)


class NoSniff:
    """``X-Content-Type-Options: nosniff`` on every answer that lacks it (the pages set their
    own): a browser takes a JSON or CSV answer for what it says it is, never for a page."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_header(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                if not any(name.lower() == b"x-content-type-options" for name, _ in headers):
                    headers.append((b"x-content-type-options", b"nosniff"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_header)


class NamedRoute(APIRoute):
    """An API route whose path parameters get back the slashes :class:`EncodedSlashes` set
    apart."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        match, child = super().matches(scope)
        params: dict[str, Any] | None = child.get("path_params")
        if params and any(isinstance(v, str) and _STAND_IN in v for v in params.values()):
            child["path_params"] = {
                name: value.replace(_STAND_IN, "/") if isinstance(value, str) else value
                for name, value in params.items()
            }
        return match, child


def api_router(**options: Any) -> APIRouter:
    """An APIRouter of :class:`NamedRoute` routes."""
    return APIRouter(route_class=NamedRoute, **options)


@dataclass(frozen=True)
class BodyLimit:
    """The most a request body may hold (``size`` bytes), and what a refusal says."""

    size: int
    message: str


_MIB = 1024 * 1024
# JSON bodies and form posts: the largest real one (a CA bundle, a credential's notes) is well
# under it.
BODY_LIMIT = BodyLimit(_MIB, "the request body is larger than 1 MiB, the most this request takes")

F = TypeVar("F", bound=Callable[..., Any])
_BODY_LIMIT = "__credsync_body_limit__"
_declared: set[int] = set()  # the limits routes declared


def body_limit(size: int, message: str) -> Callable[[F], F]:
    """Declare that a route takes a body of up to ``size`` bytes (more than
    :data:`BODY_LIMIT`), refused with ``message`` beyond it. Goes on the route's function."""

    def declare(endpoint: F) -> F:
        setattr(endpoint, _BODY_LIMIT, BodyLimit(size, message))
        _declared.add(size)
        return endpoint

    return declare


def body_limit_of(endpoint: object) -> BodyLimit | None:
    """The body limit a route's function declared (:func:`body_limit`), None for none."""
    found = getattr(endpoint, _BODY_LIMIT, None)
    return found if isinstance(found, BodyLimit) else None


def largest_body_limit() -> BodyLimit:
    """The largest limit of any route (of the routes imported so far)."""
    size = max(_declared | {BODY_LIMIT.size})
    if size == BODY_LIMIT.size:
        return BODY_LIMIT
    return BodyLimit(
        size, f"the request body is larger than {size / _MIB:g} MiB, the most any request takes"
    )
