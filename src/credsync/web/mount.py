"""The dashboard on an app: its pages (server-rendered, see :mod:`credsync.web.pages`), one
stylesheet and one small script under /static, no build step."""

from __future__ import annotations

import inspect
from importlib import resources

from fastapi import FastAPI, Request
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from credsync.web.pages import WebState, environment, is_api, no_page
from credsync.web.reveals import Reveals
from credsync.web.routes import (
    account,
    apidocs,
    audit,
    auth,
    auto_create,
    clients,
    credential_forms,
    directories,
    federation,
    flags,
    folders,
    group_export,
    groups,
    idp,
    mail,
    mfa,
    my_home,
    my_password,
    my_sign_in,
    operators,
    overview,
    people_deleted,
    people_import,
    people_selections,
    persons,
    provision_people,
    quarantine,
    relays,
    remote_agents,
    roles,
    search,
    security_keys,
    sign_in_microsoft,
    sign_in_settings,
    sync,
    transfer,
    vault,
)
from credsync.web.session import Notices

__all__ = ["mount_web"]


def mount_web(app: FastAPI) -> None:
    """Add the dashboard's pages and static files to ``app`` (see :mod:`credsync.server`)."""
    app.state.credsync_web = WebState(environment(), Notices(), Reveals())
    static = resources.files("credsync.web") / "static"
    app.mount("/static", StaticFiles(directory=str(static)), name="static")
    # clients before vault: /clients/new is not a client named "new"
    for module in (
        auth,
        sign_in_microsoft,
        account,
        mfa,
        security_keys,
        clients,
        vault,
        overview,
        credential_forms,
        folders,
        transfer,
        search,
        flags,
        sync,
        directories,
        auto_create,
        relays,
        remote_agents,
        people_import,
        people_deleted,
        people_selections,
        provision_people,
        quarantine,
        persons,
        group_export,
        federation,
        groups,
        audit,
        sign_in_settings,
        operators,
        roles,
        apidocs,
        mail,
    ):
        app.include_router(module.router)
    _people_first(app)
    api_errors = app.exception_handlers[StarletteHTTPException]

    async def http_error(request: Request, exc: Exception) -> Response:
        """An address no route has (404), or a method it has none for (405): the
        dashboard's page, or the API's JSON error under /api/v1."""
        if isinstance(exc, StarletteHTTPException) and not is_api(request.url.path):
            # Whether the visitor is signed in is read from the database: not in the loop.
            return await run_in_threadpool(no_page, request, exc)
        answer = api_errors(request, exc)
        return await answer if inspect.isawaitable(answer) else answer

    app.add_exception_handler(StarletteHTTPException, http_error)


#: The people's pages (the portal, the identity provider): every federated sign-in goes
#: through them, so they are tried first. Their addresses (``/my/...``, ``/idp/...``) are
#: nobody else's (tests/web/test_routes_order.py holds that), so the order changes no match.
PEOPLE_ROUTERS = (my_sign_in, my_home, idp, my_password)
PEOPLE_PREFIXES = ("/my/", "/idp/")


def _people_first(app: FastAPI) -> None:
    """Include :data:`PEOPLE_ROUTERS` ahead of every other route, the API's too. FastAPI
    tries an app's routes one after the other, and does real work for each route it tries:
    at the end of the list, each of the identity provider's two requests of a sign-in
    walked ~160 routes first (bench/federated_sign_in.py: ~1 ms of CPU per sign-in)."""
    before = len(app.router.routes)
    for module in PEOPLE_ROUTERS:
        app.include_router(module.router)
    added = app.router.routes[before:]
    del app.router.routes[before:]
    app.router.routes[0:0] = added
