"""Signing in with a name and password, for the API's ``/auth/login`` and the dashboard's sign-in
form alike: one session cookie, one sign-in limiter."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from fastapi import Request, Response

from credsync.api.deps import SESSION_COOKIE, State
from credsync.api.errors import ApiError
from credsync.api.schemas import LoginOut, WhoAmIOut
from credsync.errors import AuthenticationFailed
from credsync.types import Secret
from credsync.vault import Actor
from credsync.vault.models import iso
from credsync.vault.websessions import MAX_AGE

__all__ = ["limited", "sign_in", "whoami_of"]

T = TypeVar("T")


def whoami_of(actor: Actor) -> WhoAmIOut:
    return WhoAmIOut(
        name=actor.name, role=actor.role, permissions=sorted(actor.permissions), via=actor.via
    )


def limited(request: Request, state: State, name: str, attempt: Callable[[], T], what: str) -> T:
    """``attempt()`` (a password check for operator ``name``) under the sign-in limiter:
    refused with 429 while the caller's address or the name has too many recent failures
    (``what`` names them), an AuthenticationFailed counted as one more."""
    address = request.client.host if request.client else "unknown"
    keys = (f"addr:{address}", f"name:{name.strip().casefold()}")
    wait = state.limiter.wait(*keys)
    if wait:
        raise ApiError(
            429,
            "too_many_requests",
            f"too many failed {what}: try again in {wait} s",
            {"Retry-After": str(wait)},
        )
    try:
        result = attempt()
    except AuthenticationFailed:
        state.limiter.failed(*keys)
        raise
    state.limiter.succeeded(*keys)
    return result


def sign_in(
    request: Request, response: Response, state: State, name: str, password: str
) -> LoginOut:
    """Sign in with the login limiter; sets the session cookie on ``response``."""
    session = limited(
        request,
        state,
        name,
        lambda: state.vault.web_sessions.start(name, Secret(password)),
        "sign-ins",
    )
    response.set_cookie(
        SESSION_COOKIE,
        session.token.reveal(),
        max_age=int(MAX_AGE.total_seconds()),
        httponly=True,
        secure=state.secure_cookies,
        samesite="strict",
        path="/",
    )
    return LoginOut(
        operator=whoami_of(session.actor),
        csrf_token=session.csrf_token,
        expires_at=iso(session.expires_at) or "",
    )
