"""What every request and answer of the server goes through besides its route: the limit on
request bodies, and the headers of transport and caching.

**Request bodies** (:class:`LimitBodies`). A body may hold at most 1 MiB
(:data:`credsync.api.routing.BODY_LIMIT`: JSON and form posts, the unauthenticated sign-in
included), except on a route that declares more (:func:`credsync.api.routing.body_limit`: the
CSV import, 32 MiB). A larger one is refused with 413, and never read:

- a ``Content-Length`` over the largest limit of any route is refused before the application
  sees the request: no route runs;
- one over the limit of its route is refused at the route's first read of its body, before a
  byte of it is read (a route's limit is known once the request is routed; the API and the
  pages read a body before doing anything with the request);
- a body without one (``Transfer-Encoding: chunked``) is counted as the route reads it: the
  read that passes the limit raises :class:`BodyTooLarge`, so at most the limit and one chunk
  are ever held.

The answer is the API's error shape under ``/api/v1`` (``too_large``) and the dashboard's
error page elsewhere, and it closes the connection (``Connection: close``), so the rest of the
body is not read either (a route that answers without reading a body over its limit closes
the connection too).

**Headers** (:class:`AnswerHeaders`). ``Strict-Transport-Security`` on every answer when the
server itself speaks TLS (``serve --tls-cert``; behind a proxy that does HTTPS, the proxy sends
it), and ``Cache-Control: no-store`` on every answer of the API that sets no caching of its own:
revealed passwords and notes, generated passwords, new API tokens and exports must not stay in
a cache (the dashboard's pages say so themselves, see :mod:`credsync.web.pages`).
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import HTTPException
from fastapi.responses import JSONResponse
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from credsync.api import API_PREFIX
from credsync.api.errors import error_body
from credsync.api.routing import BODY_LIMIT, BodyLimit, body_limit_of
from credsync.web.pages import error_response

__all__ = ["HSTS", "AnswerHeaders", "BodyTooLarge", "LimitBodies"]

HSTS = "max-age=31536000"  # a year; not for subdomains (the vault's host may share its domain)


class BodyTooLarge(HTTPException):
    """A request body read past its limit (raised where the route reads it)."""

    def __init__(self, limit: BodyLimit) -> None:
        super().__init__(413, limit.message)
        self.limit = limit


@dataclass
class _Reading:
    limit: BodyLimit
    routed: bool  # whether ``limit`` is already the route's own
    received: int = 0
    refused: bool = False
    started: bool = False


class LimitBodies:
    """Refuses request bodies over their limit with 413 (see the module's doc). ``ceiling``:
    the largest limit of any route (a larger ``Content-Length`` is refused before routing);
    ``default``: the limit of a route that declares none."""

    def __init__(
        self, app: ASGIApp, *, ceiling: BodyLimit, default: BodyLimit = BODY_LIMIT
    ) -> None:
        self.app = app
        self._ceiling = ceiling
        self._default = default

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self._ceiling.size:
            await _refuse(scope, receive, send, self._ceiling)
            return
        reading = _Reading(self._default, routed=False)

        async def counted() -> Message:
            if not reading.routed:  # the first read: the request has found its route
                reading.limit, reading.routed = self._limit_of(scope), True
                if declared is not None and declared > reading.limit.size:
                    reading.refused = True
                    raise BodyTooLarge(reading.limit)
            message = await receive()
            if message["type"] == "http.request":
                reading.received += len(message.get("body", b""))
                if reading.received > reading.limit.size:
                    reading.refused = True
                    raise BodyTooLarge(reading.limit)
            return message

        async def answer(message: Message) -> None:
            if message["type"] == "http.response.start":
                reading.started = True
                unread = declared is not None and declared > self._limit_of(scope).size
                if reading.refused or unread:  # the rest of the body is not read: close
                    headers = [(k, v) for k, v in message.get("headers", []) if k != b"connection"]
                    message = {**message, "headers": [*headers, (b"connection", b"close")]}
            await send(message)

        try:
            await self.app(scope, counted, answer)
        except BodyTooLarge as refused:
            if reading.started:  # pragma: no cover - no route answers before reading its body
                raise
            await _refuse(scope, receive, send, refused.limit)

    def _limit_of(self, scope: Scope) -> BodyLimit:
        """The limit of the route the request went to (the router has put it in the scope),
        else the default."""
        route = scope.get("route")
        endpoint = getattr(route, "endpoint", None) or scope.get("endpoint")
        return body_limit_of(endpoint) or self._default


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name.lower() == b"content-length":
            text = value.decode("latin-1").strip()
            return int(text) if text.isascii() and text.isdigit() else None
    return None


async def _refuse(scope: Scope, receive: Receive, send: Send, limit: BodyLimit) -> None:
    headers = {"Connection": "close"}
    response: Response
    if str(scope.get("path", "")).startswith(f"{API_PREFIX}/"):
        response = JSONResponse(error_body(413, "too_large", limit.message), 413, headers=headers)
    else:
        response = error_response(Request(scope, receive), 413, limit.message)
        response.headers.update(headers)
    await response(scope, receive, send)


class AnswerHeaders:
    """``Strict-Transport-Security`` on every answer when ``hsts`` (the server speaks TLS), and
    ``Cache-Control: no-store`` on the API's answers that set none."""

    def __init__(self, app: ASGIApp, *, hsts: bool) -> None:
        self.app = app
        self._hsts = hsts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        api = str(scope.get("path", "")).startswith(f"{API_PREFIX}/")

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {name.lower() for name, _ in headers}
                if self._hsts and b"strict-transport-security" not in names:
                    headers.append((b"strict-transport-security", HSTS.encode()))
                if api and b"cache-control" not in names:
                    headers.append((b"cache-control", b"no-store"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)
