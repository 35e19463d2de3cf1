"""Signing in and out of the dashboard: the same sessions, cookie, sign-in limiter and refusal
of other sites' requests as the API's ``/api/v1/auth/login``, plus the sign-in form's own
token (a pre-session cookie, its value in the form: :func:`credsync.web.session.sign_in_form`).
Signing out takes the session's CSRF token, as every form post does."""

from __future__ import annotations

from fastapi import Request, Response

from credsync.api.deps import SESSION_COOKIE, State
from credsync.api.errors import ApiError
from credsync.api.signin import sign_in
from credsync.errors import AuthenticationFailed
from credsync.web.pages import SIGN_IN, local_path, page, page_router, redirect
from credsync.web.session import (
    SIGN_IN_COOKIE,
    Fields,
    ViewerDep,
    sign_in_form,
    sign_in_form_ok,
)

router = page_router()


def _form(
    request: Request,
    state: State,
    *,
    status: int = 200,
    next: str = "/",
    name: str = "",
    error: str = "",
) -> Response:
    """The sign-in page, with the form's token (and the pre-session cookie it is made from,
    for a browser that has none yet)."""
    token, new_cookie = sign_in_form(request)
    shown = page(
        request, "sign_in.html", None, status=status, title="Sign in", next=next, name=name,
        error=error, form_token=token,
    )  # fmt: skip
    if new_cookie:
        shown.set_cookie(
            SIGN_IN_COOKIE,
            new_cookie,
            httponly=True,
            secure=state.secure_cookies,
            samesite="strict",
            path=SIGN_IN,
        )
    return shown


@router.get(SIGN_IN)
def sign_in_page(request: Request, state: State, next: str = "/") -> Response:
    return _form(request, state, next=local_path(next))


@router.post(SIGN_IN)
def sign_in_post(request: Request, state: State, fields: Fields) -> Response:
    """Sign in (failures are limited per name and address, as for the API). Refused before
    the password is looked at: a post without the form's token of this browser, or from a
    page of another site."""
    name = fields.get("name", "").strip()
    password = fields.get("password", "")
    target = local_path(fields.get("next"))
    if target.startswith(SIGN_IN):  # not back to the form itself
        target = "/"
    headers: dict[str, str] = {}
    if not sign_in_form_ok(request, fields):
        error = "The sign-in form had expired or came from another site: sign in here."
        status = 403
    elif not name or not password:
        error, status = "Give your operator name and password.", 400
    elif len(name) > 64 or len(password) > 1024:
        error, status = "That name or password is too long.", 400
    else:
        response = redirect(request, target)
        try:
            sign_in(request, response, state, name, password)
        except AuthenticationFailed:
            error, status = "That name and password did not match an operator.", 401
        except ApiError as exc:  # too many failed sign-ins, or another site's page
            error = exc.message[:1].upper() + exc.message[1:] + "."
            status, headers = exc.status, exc.headers
        else:
            response.delete_cookie(SIGN_IN_COOKIE, path=SIGN_IN)
            return response
    if status == 403:  # another site's post: its name is not put in this browser's form
        name = ""
    shown = _form(request, state, status=status, next=target, name=name, error=error)
    shown.headers.update(headers)
    return shown


@router.post("/sign-out")
def sign_out(request: Request, state: State, viewer: ViewerDep) -> Response:
    """Sign out (with the session's CSRF token, checked by the viewer), audited."""
    state.vault.web_sessions.end(viewer.actor, viewer.session_id)
    response = redirect(request, SIGN_IN)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
