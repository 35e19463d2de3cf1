"""Signing in with a name and password, for the API's ``/auth/login`` and the dashboard's sign-in
form alike: one session cookie, one sign-in limiter, and the same refusal of requests a browser
sends from another site (:func:`refuse_cross_site`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar
from urllib.parse import urlsplit

from fastapi import Request, Response

from credsync.api.deps import SESSION_COOKIE, State
from credsync.api.errors import ApiError
from credsync.api.schemas import LoginOut, WhoAmIOut
from credsync.errors import AuthenticationFailed, MfaEnrolmentRequired, MfaRequired
from credsync.types import Secret
from credsync.vault import Actor, Vault
from credsync.vault.models import ClientRefJson, iso
from credsync.vault.websessions import MAX_AGE, WebSession

__all__ = [
    "about",
    "limited",
    "refuse_cross_site",
    "set_session_cookie",
    "sign_in",
    "whoami_of",
]

T = TypeVar("T")

# Sec-Fetch-Site values of a request made by this origin's own pages, or typed by the person.
_OWN = frozenset({"same-origin", "none"})


def whoami_of(vault: Vault, actor: Actor) -> WhoAmIOut:
    """Who ``actor`` is: role, permissions, how they signed in, their client access."""
    reach = vault.operators.reach_of(actor)
    return WhoAmIOut(
        name=actor.name,
        role=actor.role,
        permissions=sorted(actor.permissions),
        via=actor.via,
        clients=None if reach is None else [ClientRefJson(id=i, name=n) for i, n in reach],
        mfa=actor.mfa,
    )


def about(seconds: int) -> str:
    """A wait, as people say it: "about a minute", "about 5 minutes"."""
    minutes = max(1, int(seconds / 60 + 0.5))
    return "about a minute" if minutes == 1 else f"about {minutes} minutes"


def refuse_cross_site(request: Request) -> None:
    """Refuse (403) a request that a browser sent from a page of another site, or of another
    origin of this site (a sibling host): sign-in must not be something another page can do to
    a browser, signing it in as someone else. The browser says where the request comes from:
    ``Sec-Fetch-Site`` (sent by current browsers to HTTPS and loopback servers), else
    ``Origin``, which must then name this server as the request reached it (its ``Host``: a
    reverse proxy passes the Host header on). A request with neither is not a browser's from
    another page (curl, scripts, the CLI) and passes."""
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site is not None:
        if fetch_site.strip().lower() in _OWN:
            return
    else:
        origin = request.headers.get("origin")
        if origin is None:
            return
        host = request.headers.get("host", "")
        if host and urlsplit(origin.strip()).netloc.lower() == host.strip().lower():
            return
    raise ApiError(
        403, "forbidden", "refused: the request came from a page of another site (sign in here)"
    )


def limited(request: Request, state: State, name: str, attempt: Callable[[], T], what: str) -> T:
    """``attempt()`` (a password check for operator ``name``) under the sign-in limiter:
    refused with 429 while ``name`` from the caller's address, the address or the name has too
    many recent failures (``what`` names them), an AuthenticationFailed counted as one more."""
    address = request.client.host if request.client else "unknown"
    wait = state.limiter.wait(name, address)
    if wait:
        raise ApiError(
            429,
            "too_many_requests",
            f"too many failed {what}: try again in {about(wait)}",
            {"Retry-After": str(wait)},
        )
    try:
        result = attempt()
    except (MfaRequired, MfaEnrolmentRequired):
        raise  # the password was right; no code was given, or none can be yet: no failure
    except AuthenticationFailed:
        state.limiter.failed(name, address)
        raise
    state.limiter.succeeded(name, address)
    return result


def sign_in(
    request: Request,
    response: Response,
    state: State,
    name: str,
    password: str,
    otp: str | None = None,
) -> LoginOut:
    """Sign in with the login limiter, unless the request came from another site (403); sets
    the session cookie on ``response``. ``otp``: the second factor's code, when the operator
    has one (a wrong one counts as a failed sign-in; a missing one does not)."""
    refuse_cross_site(request)
    session = limited(
        request,
        state,
        name,
        lambda: state.vault.web_sessions.start(name, Secret(password), otp),
        "sign-ins",
    )
    set_session_cookie(response, state, session)
    return LoginOut(
        operator=whoami_of(state.vault, session.actor),
        csrf_token=session.csrf_token,
        expires_at=iso(session.expires_at) or "",
    )


def set_session_cookie(response: Response, state: State, session: WebSession) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        session.token.reveal(),
        max_age=int(MAX_AGE.total_seconds()),
        httponly=True,
        secure=state.secure_cookies,
        samesite="strict",
        path="/",
    )
