"""The ASGI application: the REST API under /api/v1 with the dashboard's pages beside it."""

from __future__ import annotations

from fastapi import FastAPI

from credsync.api.app import create_api
from credsync.api.routing import EncodedSlashes, NoSniff, largest_body_limit
from credsync.api.state import ServerState
from credsync.server.middleware import AnswerHeaders, LimitBodies
from credsync.web.mount import mount_web

__all__ = ["create_app"]


def create_app(state: ServerState, *, tls: bool = False) -> FastAPI:
    """The API and the dashboard on one app, every answer behind the same middleware (names
    with an escaped slash reach their routes; request bodies within their limit; nothing is
    sniffed; API answers never cached; HSTS when the server speaks TLS itself: ``tls``)."""
    app = create_api(state)
    mount_web(app)
    app.add_middleware(LimitBodies, ceiling=largest_body_limit())
    app.add_middleware(EncodedSlashes)
    app.add_middleware(NoSniff)
    app.add_middleware(AnswerHeaders, hsts=tls)
    return app
