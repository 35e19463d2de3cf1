"""The ASGI application: the REST API under /api/v1 with the dashboard's pages beside it."""

from __future__ import annotations

from fastapi import FastAPI

from credsync.api.app import create_api
from credsync.api.routing import EncodedSlashes, NoSniff, largest_body_limit
from credsync.api.state import ServerState
from credsync.server.health import AgentWatch, install_health
from credsync.server.metrics import install_metrics
from credsync.server.middleware import AnswerHeaders, LimitBodies
from credsync.server.request_ids import RequestIds
from credsync.types import Secret
from credsync.web.mount import mount_web

__all__ = ["create_app"]


def create_app(
    state: ServerState,
    *,
    tls: bool = False,
    agent: AgentWatch | None = None,
    metrics_token: Secret | None = None,
) -> FastAPI:
    """The API and the dashboard on one app, every answer behind the same middleware (a
    request id; names with an escaped slash reach their routes; request bodies within their
    limit; nothing is sniffed; API answers never cached; HSTS when the server speaks TLS
    itself: ``tls``), with ``/healthz``, ``/readyz`` (``agent``: how to know the agent is
    alive; None: none expected) and ``/metrics`` (``metrics_token``: the scrape token; None:
    off)."""
    app = create_api(state)
    install_health(app, state, agent or AgentWatch())
    install_metrics(app, state, metrics_token)
    mount_web(app)
    app.add_middleware(LimitBodies, ceiling=largest_body_limit())
    app.add_middleware(EncodedSlashes)
    app.add_middleware(NoSniff)
    app.add_middleware(AnswerHeaders, hsts=tls)
    app.add_middleware(RequestIds)  # outermost: every answer carries the id
    return app
