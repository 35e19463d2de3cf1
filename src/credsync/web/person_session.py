"""Who is looking at a person portal page (``/my/{client_id}/...``): a person's session, in a
cookie of its own (``credsync_person``, one per client: its path is ``/my/{client_id}``), apart
from the operators' (``credsync_session``): a person session never grants operator access, and
an operator's session is no person's.

- The cookie is HttpOnly, Secure when the server is reached over https (or says so), and
  SameSite=Lax (a sign-in page reached from Microsoft's redirect, a top-level navigation, still
  sees it). The session behind it ends idle or old (:mod:`credsync.vault.person_sessions`).
- Every form post of the portal carries the session's CSRF token (:data:`CSRF_FIELD`), checked
  by :func:`csrf_ok` before the page does anything.
- The sign-in form, posted before there is a session, has a token of its own: a random
  pre-session cookie (``credsync_person_sign_in``, SameSite=Strict) whose value the form
  carries (:func:`sign_in_form`, :func:`sign_in_form_ok`), as the operators' sign-in has.
- Between the password and the second factor the browser holds a pending sign-in
  (``credsync_person_pending``): signed with a key of the vault's (HMAC-SHA256), good for
  :data:`PENDING_SECONDS`, bound to the pre-session cookie; nothing but the second-factor
  pages accepts it.

Other slices (the identity provider, self-service) use :func:`current_person` and
:func:`sign_in_url`.
"""

from __future__ import annotations

import datetime as dt
import hmac
import secrets
import time
from dataclasses import dataclass, field
from urllib.parse import quote

from fastapi import Request, Response

from credsync.api.state import ServerState
from credsync.vault.person_auth import PersonSignIn
from credsync.vault.person_sessions import MAX_AGE, PersonSessionInfo
from credsync.web._ticket import bound_to, seal, unseal
from credsync.web.pages import local_path
from credsync.web.session import CSRF_FIELD

__all__ = [
    "CSRF_FIELD",
    "PENDING_COOKIE",
    "PENDING_SECONDS",
    "PERSON_COOKIE",
    "SIGN_IN_COOKIE",
    "PersonSession",
    "clear_pending",
    "csrf_ok",
    "current_person",
    "end_session",
    "pending_of",
    "portal_path",
    "safe_next",
    "set_pending",
    "sign_in_form",
    "sign_in_form_ok",
    "sign_in_url",
    "start_session",
]

PERSON_COOKIE = "credsync_person"
SIGN_IN_COOKIE = "credsync_person_sign_in"
PENDING_COOKIE = "credsync_person_pending"
PENDING_SECONDS = 300
_PURPOSE = "person-pending-sign-in"


@dataclass(frozen=True)
class PersonSession:
    """A person signed in to the portal of their client."""

    person_id: str
    client_id: str
    username: str
    authenticated_at: dt.datetime
    mfa: bool
    display_name: str = ""
    email: str = ""
    session_id: str = ""
    csrf_token: str = field(default="", repr=False)


def portal_path(client_id: str, rest: str = "") -> str:
    """``/my/{client_id}/`` + ``rest``."""
    return f"/my/{quote(client_id, safe='')}/{rest.lstrip('/')}"


def safe_next(client_id: str, value: str | None) -> str:
    """Where a sign-in goes on: ``value`` when it is a same-site relative path (no open
    redirect: ``//host``, ``/\\host`` and absolute URLs are refused), else the portal's home."""
    home = portal_path(client_id)
    found = local_path(value, home)
    return home if found.startswith(portal_path(client_id, "sign-in")) else found


def sign_in_url(client_id: str, next_url: str) -> str:
    """The portal's sign-in page, going on to ``next_url`` (a same-site path) once signed in."""
    target = safe_next(client_id, next_url)
    return portal_path(client_id, "sign-in") + "?next=" + quote(target, safe="/")


def _state(request: Request) -> ServerState:
    found = request.app.state.credsync
    if not isinstance(found, ServerState):  # pragma: no cover - a wiring mistake
        raise TypeError("app.state.credsync is not a ServerState")
    return found


def _secure(request: Request, state: ServerState) -> bool:
    return state.secure_cookies or request.url.scheme == "https"


def current_person(request: Request, client_id: str) -> PersonSession | None:
    """The person signed in to ``client_id``'s portal in this browser, None when none is (no
    cookie, a session ended, expired or idle, another client's, or a person who can no longer
    sign in). A session that has not passed the second factor is none."""
    token = request.cookies.get(PERSON_COOKIE, "")
    if not token:
        return None
    info = _state(request).vault.person_sessions.lookup(token, client_id)
    if info is None or not info.mfa:
        return None
    return _session_of(info)


def _session_of(info: PersonSessionInfo) -> PersonSession:
    return PersonSession(
        info.person_id, info.client_id, info.username, info.authenticated_at, info.mfa,
        info.display_name, info.email, info.session_id, info.csrf,
    )  # fmt: skip


def csrf_ok(session: PersonSession, fields: dict[str, str]) -> bool:
    """Whether a form post carries the session's CSRF token."""
    given = fields.get(CSRF_FIELD, "")
    return bool(given) and hmac.compare_digest(session.csrf_token.encode(), given.encode())


def start_session(request: Request, response: Response, sign_in: PersonSignIn) -> None:
    """A session for a completed sign-in, its cookie set on ``response``; the sign-in cookies
    cleared."""
    state = _state(request)
    token, _ = state.vault.person_sessions.start(sign_in)
    path = portal_path(sign_in.client_id).rstrip("/")
    response.set_cookie(
        PERSON_COOKIE, token.reveal(), max_age=int(MAX_AGE.total_seconds()), httponly=True,
        secure=_secure(request, state), samesite="lax", path=path,
    )  # fmt: skip
    clear_pending(response, sign_in.client_id)
    response.delete_cookie(SIGN_IN_COOKIE, path=path)


def end_session(request: Request, response: Response, session: PersonSession) -> None:
    """Sign out: the session ended (audited), its cookie cleared."""
    state = _state(request)
    token = request.cookies.get(PERSON_COOKIE, "")
    info = state.vault.person_sessions.lookup(token, session.client_id)
    if info is not None:
        state.vault.person_sessions.end(info)
    response.delete_cookie(PERSON_COOKIE, path=portal_path(session.client_id).rstrip("/"))


# -- the sign-in form's token ------------------------------------------------------------------
def _pre_session(request: Request) -> str | None:
    cookie = request.cookies.get(SIGN_IN_COOKIE, "")
    return cookie if 32 <= len(cookie) <= 64 else None


def sign_in_form(request: Request, response: Response, client_id: str) -> str:
    """The sign-in form's token for this browser (its pre-session cookie's value), setting the
    cookie on ``response`` when the browser has none yet."""
    cookie = _pre_session(request)
    if cookie:
        return cookie
    new = secrets.token_urlsafe(32)
    state = _state(request)
    response.set_cookie(
        SIGN_IN_COOKIE, new, httponly=True, secure=_secure(request, state), samesite="strict",
        path=portal_path(client_id).rstrip("/"),
    )  # fmt: skip
    return new


def sign_in_form_ok(request: Request, fields: dict[str, str]) -> bool:
    """Whether a sign-in post carries the value of the pre-session cookie it came with."""
    cookie = _pre_session(request)
    given = fields.get(CSRF_FIELD, "")
    return cookie is not None and hmac.compare_digest(cookie.encode(), given.encode())


# -- the pending sign-in -----------------------------------------------------------------------
def _bound(request: Request) -> str:
    return bound_to(request.cookies.get(SIGN_IN_COOKIE, ""))


def set_pending(request: Request, response: Response, sign_in: PersonSignIn) -> None:
    """The browser holds ``sign_in`` (past the password) for the second-factor pages."""
    state = _state(request)
    body = {
        "p": sign_in.person_id,
        "c": sign_in.client_id,
        "e": int(time.time()) + PENDING_SECONDS,
        "b": _bound(request),
    }
    ticket = seal(state.keys.mac_key(_PURPOSE), body)
    response.set_cookie(
        PENDING_COOKIE, ticket, max_age=PENDING_SECONDS, httponly=True,
        secure=_secure(request, state), samesite="strict",
        path=portal_path(sign_in.client_id).rstrip("/"),
    )  # fmt: skip


def pending_of(request: Request, client_id: str) -> PersonSignIn | None:
    """The browser's pending sign-in for ``client_id``: None when it has none, or one that is
    forged, expired, another client's or made for another browser, or whose person can no
    longer sign in."""
    state = _state(request)
    raw = request.cookies.get(PENDING_COOKIE, "")
    body = unseal(state.keys.mac_key(_PURPOSE), raw, _bound(request))
    if body is None or body.get("c") != client_id:
        return None
    return state.vault.person_auth.person_of(str(body.get("p")), client_id)


def clear_pending(response: Response, client_id: str) -> None:
    response.delete_cookie(PENDING_COOKIE, path=portal_path(client_id).rstrip("/"))
