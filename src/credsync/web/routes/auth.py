"""Signing in and out of the dashboard: the same sessions, cookie, sign-in limiter and refusal
of other sites' requests as the API's ``/api/v1/auth/login``, plus the sign-in form's own
token (a pre-session cookie, its value in the form: :func:`credsync.web.session.sign_in_form`).
Signing out takes the session's CSRF token, as every form post does."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import quote

from fastapi import Request, Response

from credsync.api.deps import SESSION_COOKIE, State
from credsync.api.errors import ApiError
from credsync.api.signin import about, limited, refuse_cross_site, set_session_cookie
from credsync.errors import AuthenticationFailed, MfaFailed
from credsync.types import Secret
from credsync.vault.websessions import PendingSignIn, WebSession
from credsync.web.mfa_step import (
    MFA_COOKIE,
    TICKET_SECONDS,
    pending_of,
    relying_party,
    ticket_for,
)
from credsync.web.pages import ACCOUNT_MFA, SIGN_IN, local_path, page, page_router, redirect
from credsync.web.session import (
    SIGN_IN_COOKIE,
    EnrollingViewerDep,
    Fields,
    sign_in_form,
    sign_in_form_ok,
)

router = page_router()
SIGN_IN_CODE = f"{SIGN_IN}/code"
SIGN_IN_KEY = f"{SIGN_IN}/key"


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
        error=error, form_token=token, microsoft=state.vault.operator_sign_in.configured(),
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
        try:
            return _first_step(request, state, name, password, target)
        except AuthenticationFailed:
            error, status = "That name and password did not match an operator.", 401
        except ApiError as exc:  # too many failed sign-ins, or another site's page
            error = exc.message[:1].upper() + exc.message[1:] + "."
            status, headers = exc.status, exc.headers
    if status == 403:  # another site's post: its name is not put in this browser's form
        name = ""
    shown = _form(request, state, status=status, next=target, name=name, error=error)
    shown.headers.update(headers)
    return shown


def _first_step(request: Request, state: State, name: str, password: str, target: str) -> Response:
    """The password, under the sign-in limiter: signed in (to ``target``; to the MFA page for
    a session that may only set MFA up), or on to the code form with a pending sign-in. A
    pending sign-in is no success yet: it clears no failure (wrong codes must not be made
    up for by the right password)."""
    refuse_cross_site(request)
    address = request.client.host if request.client else "unknown"
    _refuse_while_limited(state, name, address)
    try:
        begun = state.vault.web_sessions.begin(name, Secret(password))
    except AuthenticationFailed:
        state.limiter.failed(name, address)
        raise
    if isinstance(begun, PendingSignIn):
        response = redirect(request, f"{SIGN_IN_CODE}?next={quote(target, safe='/')}")
        response.set_cookie(
            MFA_COOKIE, ticket_for(request, state, begun), max_age=TICKET_SECONDS,
            httponly=True, secure=state.secure_cookies, samesite="strict", path=SIGN_IN,
        )  # fmt: skip
        return response
    state.limiter.succeeded(name, address)
    return _signed_in(request, state, begun, target)


def _refuse_while_limited(state: State, name: str, address: str) -> None:
    wait = state.limiter.wait(name, address)
    if wait:
        raise ApiError(
            429, "too_many_requests", f"too many failed sign-ins: try again in {about(wait)}",
            {"Retry-After": str(wait)},
        )  # fmt: skip


def sign_in_refused(request: Request, state: State, error: str, status: int = 401) -> Response:
    """The sign-in page saying why a sign-in (with an identity provider) was refused."""
    return _form(request, state, status=status, error=error)


def signed_in(request: Request, state: State, session: WebSession, target: str) -> Response:
    """Signed in: the session's cookie set, on to ``target``."""
    return _signed_in(request, state, session, target)


def _signed_in(request: Request, state: State, session: WebSession, target: str) -> Response:
    response = redirect(request, ACCOUNT_MFA if session.mfa == "enrol" else target)
    set_session_cookie(response, state, session)
    response.delete_cookie(SIGN_IN_COOKIE, path=SIGN_IN)
    response.delete_cookie(MFA_COOKIE, path=SIGN_IN)
    return response


def _code_form(
    request: Request,
    state: State,
    pending: PendingSignIn,
    *,
    next: str,
    status: int = 200,
    error: str = "",
) -> Response:
    """The second step's page: the code form when the operator has an authenticator app, and
    "Use a security key" (with a new challenge) when they have keys."""
    token, _ = sign_in_form(request)
    sessions = state.vault.web_sessions
    return page(
        request, "sign_in_code.html", None, status=status, title="Sign in: second step",
        next=next, error=error, form_token=token, has_app=sessions.has_app(pending),
        key_options=sessions.key_options(pending, relying_party(request)),
    )  # fmt: skip


@router.get(SIGN_IN_CODE)
def sign_in_code_page(request: Request, state: State, next: str = "/") -> Response:
    """The second step: the code of the authenticator app (or a recovery code)."""
    pending = pending_of(request, state)
    if pending is None:
        return redirect(request, f"{SIGN_IN}?next={quote(local_path(next), safe='/')}")
    return _code_form(request, state, pending, next=local_path(next))


@router.post(SIGN_IN_CODE)
def sign_in_code_post(request: Request, state: State, fields: Fields) -> Response:
    """Complete a pending sign-in with a code; wrong codes count in the sign-in limiter.
    Refused before the code is looked at: a post without the form's token of this browser,
    or from a page of another site."""
    return _second_step(
        request, state, fields, "code", 64,
        missing="Give the code of your authenticator app, or a recovery code.",
        refused="That code was wrong or was already used.",
        finish=lambda pending, typed: state.vault.web_sessions.finish(pending, typed),
    )  # fmt: skip


@router.post(SIGN_IN_KEY)
def sign_in_key_post(request: Request, state: State, fields: Fields) -> Response:
    """Complete a pending sign-in with a security key: ``credential`` is the JSON of the
    browser's ``navigator.credentials.get()`` answer to the page's challenge (webauthn.js).
    Refused answers count in the sign-in limiter as wrong codes do; the same refusals of a
    post without the form's token or from another site as for a code."""
    rp = relying_party(request)
    return _second_step(
        request, state, fields, "credential", 64 * 1024,
        missing="Your security key gave no answer: this needs a browser with JavaScript on.",
        refused="Your security key's answer was refused: try again.",
        finish=lambda pending, answer: state.vault.web_sessions.finish_with_key(
            pending, rp, answer
        ),
    )  # fmt: skip


def _second_step(
    request: Request,
    state: State,
    fields: dict[str, str],
    name: str,
    longest: int,
    *,
    missing: str,
    refused: str,
    finish: Callable[[PendingSignIn, str], WebSession],
) -> Response:
    """The second step's post: the pending sign-in of this browser completed by ``finish``
    with the form's field ``name`` (a code, a key's answer), in the sign-in limiter; the
    form again with what was wrong, or the signed-in redirect."""
    target = local_path(fields.get("next"))
    if target.startswith(SIGN_IN):
        target = "/"
    pending = pending_of(request, state)
    expired = "The sign-in has expired: sign in again."
    if pending is None:
        return _form(request, state, status=401, next=target, error=expired)
    given = fields.get(name, "").strip()
    headers: dict[str, str] = {}
    if not sign_in_form_ok(request, fields):
        error, status = "The form had expired or came from another site: sign in again.", 403
    elif not given or len(given) > longest:
        error, status = missing, 400
    else:
        try:
            refuse_cross_site(request)
            session = limited(
                request, state, pending.name, lambda: finish(pending, given), "sign-ins"
            )
        except MfaFailed:
            error, status = refused, 401
        except AuthenticationFailed:
            return _form(request, state, status=401, next=target, error=expired)
        except ApiError as exc:
            error = exc.message[:1].upper() + exc.message[1:] + "."
            status, headers = exc.status, exc.headers
        else:
            return _signed_in(request, state, session, target)
    shown = _code_form(request, state, pending, next=target, status=status, error=error)
    shown.headers.update(headers)
    return shown


@router.post("/sign-out")
def sign_out(request: Request, state: State, viewer: EnrollingViewerDep) -> Response:
    """Sign out (with the session's CSRF token, checked by the viewer), audited."""
    state.vault.web_sessions.end(viewer.actor, viewer.session_id)
    response = redirect(request, SIGN_IN)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
