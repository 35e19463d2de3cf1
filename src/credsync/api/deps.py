"""Request dependencies: who is calling (a bearer token or a browser session with its CSRF
token), the server state, and pagination parameters."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query, Request

from credsync.api.fields import Checked
from credsync.api.state import ServerState
from credsync.errors import AuthenticationFailed
from credsync.types import Secret
from credsync.vault import Actor
from credsync.vault.search import query_words

__all__ = [
    "CSRF_HEADER",
    "SESSION_COOKIE",
    "Caller",
    "Cursor",
    "Limit",
    "SearchText",
    "State",
    "caller",
    "server_state",
]

SESSION_COOKIE = "credsync_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def server_state(request: Request) -> ServerState:
    state = request.app.state.credsync
    if not isinstance(state, ServerState):  # pragma: no cover - a wiring mistake
        raise TypeError("app.state.credsync is not a ServerState")
    return state


async def _state_of(request: Request) -> ServerState:
    """:func:`server_state` as the dependency: a coroutine, because FastAPI runs a plain
    ``def`` dependency in its thread pool (a hand-off to a worker thread and back, on every
    request of every route, to read ``app.state``: bench/federated_sign_in.py)."""
    return server_state(request)


State = Annotated[ServerState, Depends(_state_of)]


def caller(request: Request, state: State) -> Actor:
    """The operator making the request: ``Authorization: Bearer cst_...`` (an API token), or
    the session cookie, whose CSRF token must come with every unsafe request (the
    ``X-CSRF-Token`` header, or a ``csrf_token`` form field read by the web pages)."""
    header = request.headers.get("authorization", "")
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise AuthenticationFailed("the Authorization header must be 'Bearer <API token>'")
        return state.vault.access.login_token(Secret(value.strip()))
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        csrf: str | None = None
        if request.method not in SAFE_METHODS:
            csrf = request.headers.get(CSRF_HEADER) or getattr(request.state, "csrf_form", "")
        actor, _, _ = state.vault.web_sessions.resume(Secret(cookie), csrf_token=csrf)
        return actor
    raise AuthenticationFailed(
        "not signed in: send 'Authorization: Bearer <API token>' or sign in at /api/v1/auth/login"
    )


Caller = Annotated[Actor, Depends(caller)]
Limit = Annotated[int, Query(ge=1, le=500, description="At most this many items (1-500).")]
Cursor = Annotated[
    str | None, Query(max_length=512, description="next_cursor of the previous page.")
]
# The words of a search (``q``): 1 to 512 characters, each word checked by the vault's rule.
SearchText = Annotated[str, Checked("the search", query_words, 512, 1)]
