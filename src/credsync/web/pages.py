"""What the dashboard's pages share: rendering a page (Jinja2 templates in the package),
redirects with a one-time notice, and the route class that turns errors into pages. The
routes (:mod:`credsync.web.routes`) use it; :mod:`credsync.web.mount` adds them to the app.

Every page response carries ``Cache-Control: no-store`` (a revealed password must not stay in
a cache) and a strict Content-Security-Policy (no inline script, nothing from elsewhere, no
framing). Errors become pages: signed out -> the sign-in page; a refused permission -> 403; a
missing record -> 404; bad input -> 400; anything unexpected -> 500 without details.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

import jinja2
from fastapi import APIRouter, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException

from credsync.api import API_PREFIX
from credsync.api.denials import record_denial
from credsync.api.deps import SAFE_METHODS
from credsync.api.errors import ApiError, status_of
from credsync.errors import CredsyncError, PermissionDenied
from credsync.vault.flags import side_of
from credsync.web.reveals import Reveals
from credsync.web.session import (
    CSRF_FIELD,
    EnrolmentNeeded,
    Notices,
    SignInNeeded,
    Viewer,
    signed_in,
)

__all__ = [
    "WORDS",
    "PageRoute",
    "WebState",
    "environment",
    "error_response",
    "local_path",
    "no_page",
    "page",
    "page_router",
    "redirect",
    "web_state",
    "word",
]

log = logging.getLogger("credsync.web")

SIGN_IN = "/sign-in"
_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


# The words a badge shows for a code (a check's status, a run's state); the code itself stays
# in the badge's title, as the CLI and the API say it. Every status of the sync engine has one
# (tests/web/test_badges.py).
WORDS = {
    "in_sync": "in sync",
    "mismatch": "password differs",
    "changed_in_directory": "changed in the directory",
    "account_missing": "account gone",
    "account_disabled": "account disabled",
    "locked_out": "locked out",
    "password_expired": "password expired",
    "unreachable": "unreachable",
    "tls_error": "TLS failed",
    "denied": "access denied",
    "policy_rejected": "refused by policy",
    "error": "error",
    "unmatched": "no such account",
    "ambiguous": "several accounts",
    "conflict": "account taken",
    "password_unknown": "password unknown to the vault",
    "awaiting_confirmation": "awaiting confirmation",
    "attempted": "attempted, outcome unknown",
    "pending": "pending",
    "skipped": "skipped",
    "running": "running",
    "done": "done",
    "failed": "failed",
    "aborted": "aborted",
}


def word(code: str) -> str:
    """The words for a status or state code (the code, spaced, for one without)."""
    return WORDS.get(code, code.replace("_", " "))


def _when(value: dt.datetime | None) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if value else "-"


@functools.cache
def environment() -> jinja2.Environment:
    """The templates (compiled once per process, shared by every app). They ship inside the
    package, so they are not checked for changes on disk at each render (``auto_reload``: a
    stat of every template and its parents per page, ~5% of the identity provider's sign-in
    response); an upgrade restarts the process."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("credsync.web", "templates"),
        auto_reload=False,
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = _when
    env.filters["short"] = lambda value: (value or "")[:8]
    env.filters["word"] = word
    env.globals["csrf_field"] = CSRF_FIELD
    env.globals["kind_name"] = side_of  # a directory kind, for people
    return env


@dataclass
class WebState:
    templates: jinja2.Environment
    notices: Notices
    reveals: Reveals


def web_state(request: Request) -> WebState:
    found = request.app.state.credsync_web
    if not isinstance(found, WebState):  # pragma: no cover - a wiring mistake
        raise TypeError("app.state.credsync_web is not a WebState")
    return found


def page(
    request: Request,
    template: str,
    viewer: Viewer | None,
    *,
    status: int = 200,
    title: str = "",
    **context: Any,
) -> HTMLResponse:
    """A page rendered from ``template`` (with the viewer, the CSRF token and any notice)."""
    web = web_state(request)
    notice = (
        web.notices.take(viewer.session_id, request.query_params.get("notice")) if viewer else None
    )
    html = web.templates.get_template(template).render(
        request=request,
        viewer=viewer,
        csrf_token=viewer.csrf_token if viewer else "",
        notice=notice,
        title=title,
        path=request.url.path,
        **context,
    )
    return HTMLResponse(html, status_code=status)


def redirect(
    request: Request, to: str, viewer: Viewer | None = None, notice: str = "", kind: str = "ok"
) -> RedirectResponse:
    """303 to ``to`` (after a form post), with a one-time notice for the next page."""
    if notice and viewer is not None:
        key = web_state(request).notices.add(viewer.session_id, notice, kind)
        to += ("&" if "?" in to else "?") + f"notice={key}"
    return RedirectResponse(to, status_code=303)


def local_path(value: str | None, default: str = "/") -> str:
    """``value`` when it is a path on this server (no open redirect), else ``default``."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return default


def _error_page(request: Request, status: int, message: str) -> Response:
    viewer = getattr(request.state, "viewer", None)
    titles = {
        400: "Not done",
        401: "Not signed in",
        403: "Not allowed",
        404: "Not found",
        409: "Conflict",
        413: "Too large",
        415: "Not a form",
        429: "Too many requests",
    }
    title = titles.get(status, "Something went wrong")
    return page(
        request, "error.html", viewer, status=status, title=title, message=message, code=status
    )


def error_response(request: Request, status: int, message: str) -> Response:
    """An error page with the pages' security headers, for an answer made outside a page's
    route (the server's refusal of a request body too large)."""
    response = _error_page(request, status, message)
    for name, value in _HEADERS.items():
        response.headers.setdefault(name, value)
    return response


ACCOUNT_MFA = "/account/mfa"


def _handle(request: Request, exc: Exception) -> Response:
    if isinstance(exc, EnrolmentNeeded):  # nothing but setting up MFA until it is set up
        return RedirectResponse(ACCOUNT_MFA, status_code=303)
    if isinstance(exc, SignInNeeded):
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        if request.method not in SAFE_METHODS:  # a post can't be replayed: back to its page
            referer = urlsplit(request.headers.get("referer", ""))
            target = local_path(referer.path + (f"?{referer.query}" if referer.query else ""))
        return RedirectResponse(f"{SIGN_IN}?next={quote(target, safe='/')}", status_code=303)
    if isinstance(exc, CredsyncError):
        status, _ = status_of(exc)
        if status >= 500:
            log.warning("%s %s: %s: %s", request.method, request.url.path, type(exc).__name__, exc)
        return _error_page(request, status, str(exc))
    if isinstance(exc, ApiError):
        return _error_page(request, exc.status, exc.message)
    if isinstance(exc, RequestValidationError):
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', '')}"
            for e in exc.errors()
        )
        return _error_page(request, 400, f"The address or form was not valid ({problems}).")
    if isinstance(exc, StarletteHTTPException):
        return _error_page(request, exc.status_code, str(exc.detail))
    log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
    return _error_page(request, 500, "An unexpected error: the server log has the details.")


def _secured(response: Response) -> Response:
    for name, value in _HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def is_api(path: str) -> bool:
    """Whether ``path`` is the REST API's (it answers its errors in JSON)."""
    return path == API_PREFIX or path.startswith(API_PREFIX + "/")


def no_page(request: Request, exc: StarletteHTTPException) -> Response:
    """The dashboard's page for an address it has no page at (404), or no page for the
    method asked (405): with the navigation when signed in, the sign-in link when not."""
    viewer = signed_in(request, request.app.state.credsync)
    messages = {
        404: f"There is no page at {request.url.path}: the link may be old or mistyped.",
        405: f"{request.url.path} does not answer {request.method} requests.",
    }
    message = messages.get(exc.status_code, str(exc.detail))
    title = "Not found" if exc.status_code == 404 else "Not done"
    response = page(
        request, "error.html", viewer, status=exc.status_code, title=title, message=message,
        code=exc.status_code,
    )  # fmt: skip
    if exc.headers:
        response.headers.update(exc.headers)
    return _secured(response)


class PageRoute(APIRoute):
    """A page: errors render as pages (never JSON, never a stack trace), and every response
    gets the security headers."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def run(request: Request) -> Response:
            try:
                response = await handler(request)
            except Exception as exc:
                if isinstance(exc, PermissionDenied):
                    await record_denial(request, exc, via="dashboard")
                response = _handle(request, exc)
            return _secured(response)

        return run


def page_router() -> APIRouter:
    return APIRouter(route_class=PageRoute, include_in_schema=False)
