"""Signing in and out (browser sessions) and who the caller is."""

from __future__ import annotations

from fastapi import Request, Response

from credsync.api.deps import SESSION_COOKIE, Caller, State
from credsync.api.routing import api_router
from credsync.api.schemas import LoginIn, LoginOut, WhoAmIOut
from credsync.api.signin import sign_in, whoami_of
from credsync.types import Secret

router = api_router(prefix="/auth", tags=["auth"])


@router.post("/login", response_model=LoginOut)
def login(body: LoginIn, request: Request, response: Response, state: State) -> LoginOut:
    """Sign in with an operator's name and password: sets an HttpOnly session cookie and
    returns the CSRF token to send as ``X-CSRF-Token`` on every unsafe request. Failed
    sign-ins are limited per address and per name (429 with Retry-After).
    Open to anyone (signed out)."""
    return sign_in(request, response, state, body.name, body.password)


@router.post("/logout", status_code=204)
def logout(request: Request, state: State) -> Response:
    """End the browser session (the cookie is cleared). Any signed-in caller."""
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        state.vault.web_sessions.end(Secret(cookie))
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/whoami", response_model=WhoAmIOut)
def whoami(actor: Caller) -> WhoAmIOut:
    """The signed-in operator, its role and permissions. Any signed-in caller."""
    return whoami_of(actor)
