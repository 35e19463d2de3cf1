"""Who is looking at a page: the browser session cookie (the same sessions as the API's,
``credsync_session``), and for every form post the session's CSRF token, sent back as the
hidden ``csrf_token`` field and checked before the page does anything.

Signed out (no cookie, or a session that ended or expired): :class:`SignInNeeded`, which the
pages turn into a redirect to the sign-in page.

The sign-in form, posted before there is a session, has a token of its own: the page gives the
browser a random pre-session cookie (``credsync_sign_in``: HttpOnly, SameSite=Strict, for the
sign-in page only) and the form carries the same value (:func:`sign_in_form`); a post whose
field is not the cookie it came with is refused (:func:`sign_in_form_ok`). Another site's page
can't read the cookie, and the browser does not send it with that page's post, so it can't
sign a browser in as someone else; the sign-in also refuses what the browser says came from
another site (:func:`credsync.api.signin.refuse_cross_site`).
"""

from __future__ import annotations

import hmac
import secrets
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from credsync.api.deps import SAFE_METHODS, SESSION_COOKIE, State
from credsync.errors import AuthenticationFailed, MfaEnrolmentRequired
from credsync.types import Secret
from credsync.vault import Actor, Permission

__all__ = [
    "CSRF_FIELD",
    "SIGN_IN_COOKIE",
    "EnrollingViewerDep",
    "EnrolmentNeeded",
    "Fields",
    "Notices",
    "SignInNeeded",
    "Viewer",
    "ViewerDep",
    "enrolling_viewer",
    "form_fields",
    "sign_in_form",
    "sign_in_form_ok",
    "signed_in",
    "viewer",
]

CSRF_FIELD = "csrf_token"
SIGN_IN_COOKIE = "credsync_sign_in"


class SignInNeeded(Exception):
    """The page needs a signed-in browser."""


class EnrolmentNeeded(Exception):
    """The session may only set up a second factor (MFA is required of its operator, who has
    none yet): the pages send it to the account's MFA page."""


@dataclass(frozen=True)
class Viewer:
    actor: Actor
    session_id: str
    csrf_token: str

    def can(self, permission: str) -> bool:
        return self.actor.can(Permission(permission))


async def form_fields(request: Request) -> dict[str, str]:
    """A form post's text fields (none for GET)."""
    if request.method in SAFE_METHODS:
        return {}
    form = await request.form()
    return {key: value for key, value in form.items() if isinstance(value, str)}


Fields = Annotated[dict[str, str], Depends(form_fields)]


def _resumed(
    request: Request, state: State, csrf_token: str | None, *, enrolling: bool = False
) -> Viewer:
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        raise SignInNeeded("not signed in")
    try:
        actor, session_id, token = state.vault.web_sessions.resume(
            Secret(cookie), csrf_token=csrf_token, enrolling=enrolling
        )
    except MfaEnrolmentRequired as exc:
        raise EnrolmentNeeded(str(exc)) from exc
    except AuthenticationFailed as exc:
        raise SignInNeeded(str(exc)) from exc
    found = Viewer(actor, session_id, token)
    request.state.viewer = found  # for the error pages' navigation
    return found


def viewer(request: Request, state: State, fields: Fields) -> Viewer:
    """The signed-in operator; for a post, only with the session's CSRF token."""
    csrf = fields.get(CSRF_FIELD, "") if request.method not in SAFE_METHODS else None
    return _resumed(request, state, csrf)


ViewerDep = Annotated[Viewer, Depends(viewer)]


def enrolling_viewer(request: Request, state: State, fields: Fields) -> Viewer:
    """As :func:`viewer`, a session that may only set up MFA too (the MFA pages, signing
    out)."""
    csrf = fields.get(CSRF_FIELD, "") if request.method not in SAFE_METHODS else None
    return _resumed(request, state, csrf, enrolling=True)


EnrollingViewerDep = Annotated[Viewer, Depends(enrolling_viewer)]


def _pre_session(request: Request) -> str | None:
    cookie = request.cookies.get(SIGN_IN_COOKIE, "")
    return cookie if 32 <= len(cookie) <= 64 else None


def sign_in_form(request: Request) -> tuple[str, str | None]:
    """The sign-in form's token for this browser (its pre-session cookie's value), and the
    cookie to set when the browser has none yet (else None)."""
    cookie = _pre_session(request)
    if cookie:
        return cookie, None
    new = secrets.token_urlsafe(32)
    return new, new


def sign_in_form_ok(request: Request, fields: dict[str, str]) -> bool:
    """Whether a sign-in post carries the value of the pre-session cookie it came with."""
    cookie = _pre_session(request)
    given = fields.get(CSRF_FIELD, "")
    return cookie is not None and hmac.compare_digest(cookie.encode(), given.encode())


def signed_in(request: Request, state: State) -> Viewer | None:
    """The signed-in operator, None when signed out: for a page every visitor gets (an
    address with no page), which shows the navigation to the signed in. It does nothing
    for the operator, so no CSRF token is asked for."""
    try:
        return _resumed(request, state, None)
    except (SignInNeeded, EnrolmentNeeded):
        return None


class Notices:
    """One-time messages shown by the page a form post redirects to ("Flag resolved"),
    kept in the server per session and taken by a random key (so a link can't put words on
    the page)."""

    def __init__(self, limit: int = 2000) -> None:
        self._limit = limit
        self._items: OrderedDict[str, tuple[str, str, str]] = OrderedDict()
        self._lock = threading.Lock()

    def add(self, session_id: str, text: str, kind: str = "ok") -> str:
        key = secrets.token_urlsafe(12)
        with self._lock:
            self._items[key] = (session_id, kind, text)
            while len(self._items) > self._limit:
                self._items.popitem(last=False)
        return key

    def take(self, session_id: str, key: str | None) -> tuple[str, str] | None:
        """(kind, text) of the notice, once; None for another session's or an unknown key."""
        if not key:
            return None
        with self._lock:
            item = self._items.get(key)
            if item is None or item[0] != session_id:
                return None
            del self._items[key]
        return item[1], item[2]
