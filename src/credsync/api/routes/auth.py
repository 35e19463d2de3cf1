"""Signing in and out (browser sessions) and who the caller is."""

from __future__ import annotations

from fastapi import Request, Response

from credsync.api.deps import CSRF_HEADER, SESSION_COOKIE, Caller, State
from credsync.api.routing import api_router
from credsync.api.schemas import LoginIn, LoginOut, WhoAmIOut
from credsync.api.signin import sign_in, whoami_of
from credsync.errors import AuthenticationFailed
from credsync.types import Secret

router = api_router(prefix="/auth", tags=["auth"])


@router.post("/login", response_model=LoginOut)
def login(body: LoginIn, request: Request, response: Response, state: State) -> LoginOut:
    """Sign in with an operator's name and password: sets an HttpOnly session cookie and
    returns the CSRF token to send as ``X-CSRF-Token`` on every unsafe request. Failed
    sign-ins are limited per name and address, and more loosely per address and per name
    (429 with Retry-After). A browser's request from a page of another site is refused (403):
    ``Sec-Fetch-Site``, else ``Origin``, must say this server; scripts send neither.
    An operator with a second factor also sends ``otp`` (a code of their authenticator app or
    a recovery code): without it 401 ``mfa_required``, a wrong or reused one 401
    ``mfa_failed`` (counted as a failed sign-in); one who must use MFA and has not set it up:
    401 ``mfa_enrollment_required`` (enrol on the dashboard, or with ``credsync operator mfa
    enroll``). Open to anyone (signed out)."""
    return sign_in(request, response, state, body.name, body.password, body.otp)


@router.post("/logout", status_code=204)
def logout(request: Request, state: State) -> Response:
    """End the browser session, with its CSRF token (``X-CSRF-Token``) as for every unsafe
    request (403 without it: another page can't sign the browser out); the cookie is cleared.
    A session that already ended or expired: only the cookie is cleared."""
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        sessions = state.vault.web_sessions
        try:
            actor, session_id, _ = sessions.resume(
                Secret(cookie), csrf_token=request.headers.get(CSRF_HEADER) or ""
            )
        except AuthenticationFailed:
            pass  # nothing left to end
        else:
            sessions.end(actor, session_id)
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/whoami", response_model=WhoAmIOut)
def whoami(actor: Caller, state: State) -> WhoAmIOut:
    """The signed-in operator: role, permissions, how they signed in, whether it passed the
    second factor and the clients they may reach (null: every client). Any signed-in
    caller."""
    return whoami_of(state.vault, actor)
