"""Path parameters that hold a slash: a client named "A/B Corp" is reached as
``/clients/A%2FB%20Corp``.

Servers decode a path before routing, so an escaped slash would split the name into two path
segments and match no route. :class:`EncodedSlashes` (middleware) routes on the path with
each escaped slash decoded to a stand-in instead (a NUL: names can't hold control
characters), and :class:`NamedRoute` turns the stand-in back into a slash in the path
parameters the route is called with. Every router of the API is made by :func:`api_router`.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote

from fastapi import APIRouter
from fastapi.routing import APIRoute
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["EncodedSlashes", "NamedRoute", "NoSniff", "api_router"]

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
