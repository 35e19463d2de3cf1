"""The ASGI application: the REST API under /api/v1 with the dashboard's pages beside it."""

from __future__ import annotations

from fastapi import FastAPI

from credsync.api.app import create_api
from credsync.api.routing import EncodedSlashes, NoSniff
from credsync.api.state import ServerState
from credsync.web.mount import mount_web

__all__ = ["create_app"]


def create_app(state: ServerState) -> FastAPI:
    """The API and the dashboard on one app, every answer behind the same middleware (names
    with an escaped slash reach their routes; nothing is sniffed)."""
    app = create_api(state)
    mount_web(app)
    app.add_middleware(EncodedSlashes)
    app.add_middleware(NoSniff)
    return app
