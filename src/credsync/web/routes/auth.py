"""Signing in and out of the dashboard: the same sessions, cookie and sign-in limiter as the
API's ``/api/v1/auth/login``."""

from __future__ import annotations

from fastapi import Request, Response

from credsync.api.deps import SESSION_COOKIE, State
from credsync.api.errors import ApiError
from credsync.api.signin import sign_in
from credsync.errors import AuthenticationFailed
from credsync.types import Secret
from credsync.web.pages import SIGN_IN, local_path, page, page_router, redirect
from credsync.web.session import Fields, ViewerDep

router = page_router()


@router.get(SIGN_IN)
def sign_in_page(request: Request, next: str = "/") -> Response:
    return page(
        request, "sign_in.html", None, title="Sign in", next=local_path(next), name="", error=""
    )


@router.post(SIGN_IN)
def sign_in_post(request: Request, state: State, fields: Fields) -> Response:
    """Sign in (failures are limited per address and per name, as for the API)."""
    name = fields.get("name", "").strip()
    password = fields.get("password", "")
    target = local_path(fields.get("next"))
    if target.startswith(SIGN_IN):  # not back to the form itself
        target = "/"
    headers: dict[str, str] = {}
    if not name or not password:
        error, status = "Give your operator name and password.", 400
    elif len(name) > 64 or len(password) > 1024:
        error, status = "That name or password is too long.", 400
    else:
        response = redirect(request, target)
        try:
            sign_in(request, response, state, name, password)
        except AuthenticationFailed:
            error, status = "That name and password did not match an operator.", 401
        except ApiError as exc:  # too many failed sign-ins
            error = exc.message[:1].upper() + exc.message[1:] + "."
            status, headers = exc.status, exc.headers
        else:
            return response
    shown = page(
        request, "sign_in.html", None, status=status, title="Sign in", next=target, name=name,
        error=error,
    )  # fmt: skip
    shown.headers.update(headers)
    return shown


@router.post("/sign-out")
def sign_out(request: Request, state: State, viewer: ViewerDep) -> Response:
    cookie = request.cookies.get(SESSION_COOKIE, "")
    state.vault.web_sessions.end(Secret(cookie))
    response = redirect(request, SIGN_IN)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
