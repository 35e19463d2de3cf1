"""The API reference at /api/v1/docs: server-rendered from the app's own OpenAPI document,
with no script and nothing from another host (it replaces FastAPI's Swagger UI, which loads
its script and styles from a CDN into the vault's origin).

Public, like the OpenAPI document it is made from (/api/v1/openapi.json): it describes the
API, never data. A signed-in operator gets the dashboard's navigation with it.
"""

from __future__ import annotations

from fastapi import Request, Response

from credsync.api import API_PREFIX
from credsync.api.deps import CSRF_HEADER, SESSION_COOKIE, server_state
from credsync.vault.auth import BUILTIN_ROLES
from credsync.web.apidocs import build_reference
from credsync.web.pages import page, page_router
from credsync.web.session import SignInNeeded, Viewer, viewer

router = page_router()

DOCS_PATH = f"{API_PREFIX}/docs"


def _viewer_if_signed_in(request: Request) -> Viewer | None:
    if not request.cookies.get(SESSION_COOKIE):
        return None
    try:
        return viewer(request, server_state(request), {})
    except SignInNeeded:
        return None


@router.get(DOCS_PATH)
def api_docs(request: Request) -> Response:
    reference = build_reference(request.app.openapi())
    return page(
        request,
        "api_docs.html",
        _viewer_if_signed_in(request),
        title="API reference",
        api=reference,
        api_prefix=API_PREFIX,
        openapi_url=request.app.openapi_url or f"{API_PREFIX}/openapi.json",
        csrf_header=CSRF_HEADER,
        session_cookie=SESSION_COOKIE,
        roles=[(name, text, [p.value for p in ps]) for name, (text, ps) in BUILTIN_ROLES.items()],
    )
