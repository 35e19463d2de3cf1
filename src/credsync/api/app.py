"""The REST API's application: its routes under /api/v1 (OpenAPI at /api/v1/openapi.json).
The server (:mod:`credsync.server`) adds the dashboard to it."""

from __future__ import annotations

from fastapi import FastAPI

from credsync.api import API_PREFIX
from credsync.api.errors import install_error_handlers
from credsync.api.routes import (
    audit,
    auth,
    auto_create,
    capture,
    clients,
    credentials,
    directories,
    federation,
    flags,
    folders,
    group_export,
    groups,
    mfa,
    people,
    people_deleted,
    people_import,
    people_selections,
    person_mfa,
    persons,
    policies,
    provision_people,
    quarantine,
    relays,
    remote_agents,
    self_service,
    sign_in,
    sync,
    transfer,
)
from credsync.api.routing import api_router
from credsync.api.schemas import ErrorOut
from credsync.api.shapes import document_routes
from credsync.api.state import ServerState

__all__ = ["create_api"]

# Declared on every route, so that the OpenAPI document shows the one error shape.
_ERRORS: dict[int | str, dict[str, object]] = {
    status: {"model": ErrorOut, "description": text}
    for status, text in (
        (400, "Bad input"),
        (401, "Not signed in"),
        (403, "Not allowed (a permission, or the CSRF token)"),
        (404, "Not found"),
        (409, "Conflict (taken name, stale version, or a switch to enforce to confirm)"),
        (422, "Invalid request"),
        (429, "Too many requests"),
    )
}


def create_api(state: ServerState) -> FastAPI:
    app = FastAPI(
        title="credsync",
        version="1",
        description="Credential vault with directory password sync.",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=None,  # the web pages serve /api/v1/docs: no CDN script in our origin
        redoc_url=None,
    )
    app.state.credsync = state
    install_error_handlers(app)
    api = api_router(prefix=API_PREFIX, responses=_ERRORS)
    modules = (
        auth,
        clients,
        folders,
        credentials,
        transfer,
        audit,
        directories,
        auto_create,
        relays,
        sync,
        flags,
        capture,
        people,
        people_import,
        people_deleted,
        quarantine,
        people_selections,
        provision_people,
        persons,
        person_mfa,
        group_export,
        groups,
        federation,
        mfa,
        self_service,
        sign_in,
        policies,
        remote_agents,
    )
    for module in modules:
        document_routes(module.router.routes)
        api.include_router(module.router)
    app.include_router(api)
    return app
