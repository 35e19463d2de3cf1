"""The person portal's sign-in (``/my/{client_id}/sign-in``): a client's people, not operators.

1. Username and password (:meth:`credsync.vault.person_auth.PersonAuth.check_password`), with
   the form's own token and the refusal of other sites' posts, as the operators' sign-in.
2. The second factor: the code of their authenticator app, or a security key; a person with
   neither sets up an app right there (QR code) before the sign-in completes.
3. A session (:mod:`credsync.web.person_session`) and on to ``next``: a same-site path only.

Every refusal says the same thing whatever the reason; too many failures (per person and per
address) say when to try again (429). Pages are public (no operator session needed or used).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from fastapi import Request, Response
from fastapi.responses import HTMLResponse

from credsync.api.deps import State
from credsync.api.errors import ApiError
from credsync.api.signin import refuse_cross_site
from credsync.errors import Conflict, InvalidInput, SignInRefused, TooManyAttempts
from credsync.types import Secret
from credsync.vault.person_auth import PersonSignIn
from credsync.web.mfa_step import relying_party
from credsync.web.pages import page, page_router, redirect
from credsync.web.person_factor import factor_choices
from credsync.web.person_session import (
    PersonSession,
    pending_of,
    portal_path,
    safe_next,
    set_pending,
    sign_in_form,
    sign_in_form_ok,
    start_session,
)
from credsync.web.qr import qr_svg
from credsync.web.session import Fields

__all__ = ["router", "show"]

router = page_router()
_BASE = "/my/{client_id}"


def show(
    request: Request,
    state: State,
    client_id: str,
    template: str,
    *,
    title: str,
    status: int = 200,
    person: PersonSession | None = None,
    **context: Any,
) -> HTMLResponse:
    """A portal page of ``client_id`` (404 for a client that is not there)."""
    name = state.vault.person_auth.client_name(client_id)
    if name is None:
        raise ApiError(404, "not_found", "there is no sign-in page here")
    context.setdefault("error", "")
    return page(
        request, template, None, status=status, title=title, client_name=name,
        home=portal_path(client_id), person=person, **context,
    )  # fmt: skip


def _address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _form(
    request: Request,
    state: State,
    client_id: str,
    *,
    next: str,
    status: int = 200,
    username: str = "",
    error: str = "",
) -> Response:
    holder = Response()
    token = sign_in_form(request, holder, client_id)
    shown = show(
        request, state, client_id, "my_sign_in.html", title="Sign in", status=status, next=next,
        username=username, error=error, form_token=token,
    )  # fmt: skip
    for name, value in holder.headers.items():
        if name == "set-cookie":
            shown.headers.append(name, value)
    return shown


@router.get(_BASE + "/sign-in")
def sign_in_page(request: Request, state: State, client_id: str, next: str = "") -> Response:
    return _form(request, state, client_id, next=safe_next(client_id, next))


@router.post(_BASE + "/sign-in")
def sign_in_post(request: Request, state: State, client_id: str, fields: Fields) -> Response:
    """The password step. Refused before the password is looked at: a post without this
    browser's form token, or from another site's page."""
    target = safe_next(client_id, fields.get("next"))
    username = fields.get("username", "").strip()
    password = fields.get("password", "")
    headers: dict[str, str] = {}
    if not sign_in_form_ok(request, fields):
        error, status, username = "The sign-in form had expired: sign in here.", 403, ""
    elif not username or not password:
        error, status = "Give your username and password.", 400
    elif len(username) > 320 or len(password) > 1024:
        error, status = "That username or password is too long.", 400
    else:
        try:
            refuse_cross_site(request)
            signed = state.vault.person_auth.check_password(
                client_id, username, Secret(password), address=_address(request)
            )
            return _onward(request, state, signed, target)
        except TooManyAttempts as exc:
            error, status = str(exc)[:1].upper() + str(exc)[1:] + ".", 429
            headers = {"Retry-After": str(exc.retry_after)}
        except SignInRefused as exc:
            error, status = str(exc)[:1].upper() + str(exc)[1:] + ".", 401
        except ApiError as exc:
            error, status, username = exc.message[:1].upper() + exc.message[1:] + ".", 403, ""
    shown = _form(
        request, state, client_id, status=status, next=target, username=username, error=error
    )
    shown.headers.update(headers)
    return shown


def _onward(request: Request, state: State, signed: PersonSignIn, target: str) -> Response:
    """Past the password: on to the second factor (or to set one up), holding the pending
    sign-in."""
    step = "code" if signed.mfa_enrolled else "enrol"
    response = redirect(
        request,
        portal_path(signed.client_id, f"sign-in/{step}") + "?next=" + quote(target, safe="/"),
    )
    set_pending(request, response, signed)
    return response


def _expired(request: Request, state: State, client_id: str, target: str) -> Response:
    return _form(
        request, state, client_id, status=401, next=target,
        error="The sign-in has expired: sign in again.",
    )  # fmt: skip


def _code_page(
    request: Request,
    state: State,
    pending: PersonSignIn,
    *,
    next: str,
    status: int = 200,
    error: str = "",
) -> Response:
    holder = Response()
    token = sign_in_form(request, holder, pending.client_id)
    return show(
        request, state, pending.client_id, "my_code.html", title="Sign in: second step",
        status=status, next=next, error=error, form_token=token,
        **factor_choices(request, state, pending),
    )  # fmt: skip


@router.get(_BASE + "/sign-in/code")
def code_page(request: Request, state: State, client_id: str, next: str = "") -> Response:
    target = safe_next(client_id, next)
    pending = pending_of(request, client_id)
    if pending is None:
        return redirect(
            request, portal_path(client_id, "sign-in") + "?next=" + quote(target, safe="/")
        )
    if not pending.mfa_enrolled:
        return redirect(
            request, portal_path(client_id, "sign-in/enrol") + "?next=" + quote(target, safe="/")
        )
    return _code_page(request, state, pending, next=target)


def _second(
    request: Request,
    state: State,
    client_id: str,
    fields: dict[str, str],
    name: str,
    finish: Callable[[PersonSignIn, str], PersonSignIn],
    *,
    page_of: Callable[..., Response],
) -> Response:
    """A second-factor post: the pending sign-in completed by ``finish`` with the form's field
    ``name``; the page again with what was wrong, or the session and on."""
    target = safe_next(client_id, fields.get("next"))
    pending = pending_of(request, client_id)
    if pending is None:
        return _expired(request, state, client_id, target)
    given = fields.get(name, "").strip()
    headers: dict[str, str] = {}
    if not sign_in_form_ok(request, fields):
        error, status = "The form had expired or came from another site: sign in again.", 403
    elif not given or len(given) > 64 * 1024:
        error, status = "Give the code your authenticator app shows.", 400
    else:
        try:
            refuse_cross_site(request)
            done = finish(pending, given)
        except TooManyAttempts as exc:
            error, status = str(exc)[:1].upper() + str(exc)[1:] + ".", 429
            headers = {"Retry-After": str(exc.retry_after)}
        except (SignInRefused, InvalidInput, Conflict) as exc:
            error, status = str(exc)[:1].upper() + str(exc)[1:] + ".", 401
        except ApiError as exc:
            error, status = exc.message[:1].upper() + exc.message[1:] + ".", 403
        else:
            response = redirect(request, target)
            start_session(request, response, done)
            return response
    shown = page_of(request, state, pending, next=target, status=status, error=error)
    shown.headers.update(headers)
    return shown


@router.post(_BASE + "/sign-in/code")
def code_post(request: Request, state: State, client_id: str, fields: Fields) -> Response:
    auth = state.vault.person_auth
    address = _address(request)
    return _second(
        request, state, client_id, fields, "code",
        lambda pending, code: auth.check_totp(pending, code, address=address),
        page_of=_code_page,
    )  # fmt: skip


@router.post(_BASE + "/sign-in/key")
def key_post(request: Request, state: State, client_id: str, fields: Fields) -> Response:
    keys = state.vault.person_auth.security_keys
    address, rp = _address(request), relying_party(request)
    return _second(
        request, state, client_id, fields, "credential",
        lambda pending, answer: keys.check(pending, rp, answer, address=address),
        page_of=_code_page,
    )  # fmt: skip


def _enrol_page(
    request: Request,
    state: State,
    pending: PersonSignIn,
    *,
    next: str,
    status: int = 200,
    error: str = "",
) -> Response:
    """The pending seed (a new one when there is none), as a QR code and text."""
    holder = Response()
    token = sign_in_form(request, holder, pending.client_id)
    auth = state.vault.person_auth
    started = auth.pending_totp(pending.person_id) or auth.begin_totp(pending.person_id)
    return show(
        request, state, pending.client_id, "my_enrol.html", title="Set up your authenticator app",
        status=status, next=next, error=error, form_token=token,
        qr=qr_svg(started.uri.reveal(), "QR code of your sign-in secret"),
        secret=started.seed.reveal(),
    )  # fmt: skip


@router.get(_BASE + "/sign-in/enrol")
def enrol_page(request: Request, state: State, client_id: str, next: str = "") -> Response:
    target = safe_next(client_id, next)
    pending = pending_of(request, client_id)
    if pending is None:
        return redirect(
            request, portal_path(client_id, "sign-in") + "?next=" + quote(target, safe="/")
        )
    if pending.mfa_enrolled:  # a second factor was set up meanwhile: it is asked for
        return redirect(
            request, portal_path(client_id, "sign-in/code") + "?next=" + quote(target, safe="/")
        )
    return _enrol_page(request, state, pending, next=target)


@router.post(_BASE + "/sign-in/enrol")
def enrol_post(request: Request, state: State, client_id: str, fields: Fields) -> Response:
    auth = state.vault.person_auth
    address = _address(request)
    return _second(
        request, state, client_id, fields, "code",
        lambda pending, code: auth.enrol_sign_in(pending, code, address=address),
        page_of=_enrol_page,
    )  # fmt: skip
