"""A request id for every HTTP request, and one log line per answer.

The caller's ``X-Request-ID`` is taken when it is well formed
(:func:`credsync.logcontext.valid_request_id`; a proxy or a load balancer that sets one keeps
its id end to end), otherwise a new one is made; either way the answer carries it back in
``X-Request-ID``. While the request is handled the id is in
:data:`credsync.logcontext.REQUEST_ID`, so every log record of the request says it (the JSON
lines' ``request_id``), and so do the records of a run the request started (its thread copies
the request's context).

Each answer is logged at INFO on ``credsync.http``: method, the route's template
(``/my/{client}/reset/{token}``, never the path itself: a welcome or reset link carries its
token in the path, and a client's name is no business of the log; nor the query string, which
may carry a sign-in's code or state), status and milliseconds.
"""

from __future__ import annotations

import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from credsync.api import API_PREFIX
from credsync.logcontext import REQUEST_ID, new_request_id, valid_request_id

__all__ = ["HEADER", "RequestIds"]

HEADER = "X-Request-ID"
_NAME = HEADER.lower().encode()

log = logging.getLogger("credsync.http")


class RequestIds:
    """Gives each HTTP request its id (see the module's doc); the outermost middleware, so
    that every answer carries it, refusals included."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = next(
            (v.decode("latin-1") for k, v in scope.get("headers", ()) if k.lower() == _NAME),
            None,
        )
        request_id = given if valid_request_id(given) and given else new_request_id()
        token = REQUEST_ID.set(request_id)
        started = time.perf_counter()
        status = 500

        async def with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != _NAME]
                headers.append((_NAME, request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, with_id)
        finally:
            log.info(
                "%s %s %d %.1f ms",
                scope.get("method", "?"),
                _template(scope),
                status,
                (time.perf_counter() - started) * 1000,
            )
            REQUEST_ID.reset(token)


def _template(scope: Scope) -> str:
    """The template of the route the request went to, with the API's prefix (FastAPI keeps
    a router's routes without the prefix they were included under)."""
    route = getattr(scope.get("route"), "path", None)
    if not isinstance(route, str):
        return "(no route)"
    path = str(scope.get("path", ""))
    if path.startswith(f"{API_PREFIX}/") and not route.startswith(API_PREFIX):
        return f"{API_PREFIX}{route}"
    return route
