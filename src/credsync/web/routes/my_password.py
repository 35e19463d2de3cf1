"""The person portal's password pages (public: for a client's people, not operators).

- ``/my/{client_id}/welcome/{token}``: onboarding by the mailed invitation. The person chooses
  their password (twice) and sets up their authenticator app (QR code) on one page; the
  password is checked against every rule before anything is stored, then the app's first code
  confirms it, then the password is stored and pushed (the results shown).
- ``/my/{client_id}/password``: a signed-in person changes their password with their current
  password and their second factor, their app's code or their security key (all limited and
  audited by ``vault.person_auth``; the choices are :mod:`credsync.web.person_factor`'s, as on
  the sign-in's second step).
- ``/my/{client_id}/reset``: a reset link by mail for a username or e-mail (the page says the
  same either way); ``/my/{client_id}/reset/{token}``: the link, the second factor (app's code
  or security key) and the new password.

The onboarding page stays an authenticator app's enrolment (a person adds security keys later,
on the portal's keys page).

Each change is :func:`credsync.sync.self_service.set_person_password` (store, then push to
every directory of the person at once); the result page lists each directory's answer. Every
post carries a CSRF token: the person session's, or the portal's pre-session form token.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from typing import Any

from fastapi import Request, Response

from credsync.api.deps import State
from credsync.api.errors import ApiError
from credsync.api.signin import refuse_cross_site
from credsync.errors import (
    Conflict,
    CredsyncError,
    InvalidInput,
    SignInRefused,
    TooManyAttempts,
)
from credsync.sync.self_service import SelfServiceResult, set_person_password
from credsync.types import Secret
from credsync.vault.person_passwords import PasswordRefused
from credsync.vault.self_service import INVITE, RESET, LinkPerson
from credsync.web.pages import page_router, redirect
from credsync.web.person_factor import check_factor, factor_choices
from credsync.web.person_session import (
    csrf_ok,
    current_person,
    portal_path,
    sign_in_form,
    sign_in_form_ok,
    sign_in_url,
)
from credsync.web.qr import qr_svg
from credsync.web.routes.my_sign_in import show
from credsync.web.session import Fields

__all__ = ["router"]

router = page_router()
log = logging.getLogger("credsync.self_service")
_BASE = "/my/{client_id}"
_EXPIRED_FORM = "The form had expired or came from another site: try again."


def _address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _sentence(exc: Exception) -> str:
    text = str(exc)
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


def _with_form_token(
    request: Request, state: State, client_id: str, template: str, **context: Any
) -> Response:
    """A portal page whose form carries the pre-session token (no person session needed)."""
    holder = Response()
    token = sign_in_form(request, holder, client_id)
    shown = show(request, state, client_id, template, form_token=token, **context)
    for name, value in holder.headers.items():
        if name == "set-cookie":
            shown.headers.append(name, value)
    return shown


def _new_password(fields: dict[str, str]) -> Secret:
    new, again = fields.get("new_password", ""), fields.get("new_password_again", "")
    if not new:
        raise InvalidInput("give your new password", field="new_password")
    if new != again:
        raise InvalidInput("the two new passwords differ", field="new_password_again")
    if len(new) > 1024:
        raise InvalidInput("that password is too long", field="new_password")
    return Secret(new)


def _done(
    request: Request, state: State, client_id: str, result: SelfServiceResult, *, title: str
) -> Response:
    return show(
        request, state, client_id, "my_password_done.html", title=title, result=result,
        pushes=[p.to_json() for p in result.pushes],
    )  # fmt: skip


def _store(
    state: State, person_id: str, password: Secret, *, why: str, link: LinkPerson | None
) -> SelfServiceResult:
    return asyncio.run(
        set_person_password(state.vault, state.keys, person_id, password, why=why, link=link)
    )


def _attempt(
    attempt: Callable[[], SelfServiceResult],
    page_of: Callable[..., Response],
    done: Callable[[SelfServiceResult], Response],
) -> Response:
    """A welcome, change or reset post: its result page, or the form again saying what was wrong
    (429 with Retry-After past the sign-in limits)."""
    try:
        result = attempt()
    except TooManyAttempts as exc:
        shown = page_of(status=429, error=_sentence(exc))
        shown.headers["Retry-After"] = str(exc.retry_after)
        return shown
    except (PasswordRefused, InvalidInput, Conflict, SignInRefused) as exc:
        return page_of(status=400, error=_sentence(exc))
    except ApiError as exc:
        return page_of(status=403, error=exc.message)
    return done(result)


# -- onboarding ----------------------------------------------------------------------------
def _welcome(
    request: Request,
    state: State,
    client_id: str,
    link: LinkPerson,
    *,
    status: int = 200,
    error: str = "",
) -> Response:
    auth = state.vault.person_auth
    enrolled = auth.mfa_status(link.person_id).totp == "on"
    context: dict[str, Any] = {"enrolled": enrolled}
    if not enrolled:
        started = auth.pending_totp(link.person_id) or auth.begin_totp(link.person_id)
        context.update(
            qr=qr_svg(started.uri.reveal(), "QR code of your sign-in secret"),
            secret=started.seed.reveal(),
        )
    return _with_form_token(
        request, state, client_id, "my_welcome.html", title="Welcome", status=status,
        error=error, link=link, policy=_policy_words(state, client_id), **context,
    )  # fmt: skip


def _policy_words(state: State, client_id: str) -> str:
    with state.vault.db.read() as conn:
        name, policy = state.vault.person_passwords.policy_of(conn, client_id)
    return f"at least {policy.length} characters (policy {name})"


def _bad_link(request: Request, state: State, client_id: str, exc: InvalidInput) -> Response:
    return show(
        request, state, client_id, "my_link_refused.html", title="Link not valid", status=410,
        error=_sentence(exc),
    )  # fmt: skip


def _with_link(
    request: Request,
    state: State,
    client_id: str,
    token: str,
    kind: str,
    then: Callable[[LinkPerson], Response],
) -> Response:
    """``then`` with the person of a valid link; the link-refused page (410) otherwise."""
    try:
        link = state.vault.self_service.open_link(client_id, token, kind)
    except InvalidInput as exc:
        return _bad_link(request, state, client_id, exc)
    return then(link)


def _link_password(
    request: Request, state: State, fields: dict[str, str], link: LinkPerson
) -> Secret:
    """A link form's new password, checked before anything: the form's own token, a
    same-site post, the two the same, every rule of the person's."""
    if not sign_in_form_ok(request, fields):
        raise InvalidInput(_EXPIRED_FORM)
    refuse_cross_site(request)
    password = _new_password(fields)
    state.vault.person_passwords.check(link.person_id, password)
    return password


@router.get(_BASE + "/welcome/{token}")
def welcome_page(request: Request, state: State, client_id: str, token: str) -> Response:
    return _with_link(
        request, state, client_id, token, INVITE,
        lambda link: _welcome(request, state, client_id, link),
    )  # fmt: skip


@router.post(_BASE + "/welcome/{token}")
def welcome_post(
    request: Request, state: State, client_id: str, token: str, fields: Fields
) -> Response:
    auth = state.vault.person_auth

    def attempt(link: LinkPerson) -> SelfServiceResult:
        password = _link_password(request, state, fields, link)
        code = fields.get("code", "").strip()
        if auth.mfa_status(link.person_id).totp == "on":
            signed = auth.person_of(link.person_id, client_id)
            if signed is None:
                raise InvalidInput("this account is disabled")
            auth.check_totp(signed, code, address=_address(request))
        else:
            auth.confirm_totp(link.person_id, code)
        return _store(state, link.person_id, password, why="onboarding", link=link)

    return _with_link(
        request, state, client_id, token, INVITE,
        lambda link: _attempt(
            lambda: attempt(link),
            lambda **shown: _welcome(request, state, client_id, link, **shown),
            lambda result: _done(request, state, client_id, result, title="You are set up"),
        ),
    )  # fmt: skip


# -- change (signed in) --------------------------------------------------------------------
def _change_page(
    request: Request, state: State, client_id: str, *, status: int = 200, error: str = ""
) -> Response:
    person = current_person(request, client_id)
    signed = (
        None if person is None else state.vault.person_auth.person_of(person.person_id, client_id)
    )
    return show(
        request, state, client_id, "my_password.html", title="Change your password",
        status=status, error=error, person=person, policy=_policy_words(state, client_id),
        **factor_choices(request, state, signed),
    )  # fmt: skip


@router.get(_BASE + "/password")
def change_page(request: Request, state: State, client_id: str) -> Response:
    if current_person(request, client_id) is None:
        return redirect(request, sign_in_url(client_id, portal_path(client_id, "password")))
    return _change_page(request, state, client_id)


@router.post(_BASE + "/password")
def change_post(request: Request, state: State, client_id: str, fields: Fields) -> Response:
    person = current_person(request, client_id)
    if person is None:
        return redirect(request, sign_in_url(client_id, portal_path(client_id, "password")))
    auth = state.vault.person_auth
    address = _address(request)

    def attempt() -> SelfServiceResult:
        if not csrf_ok(person, fields):
            raise InvalidInput(_EXPIRED_FORM)
        refuse_cross_site(request)
        password = _new_password(fields)
        current = fields.get("current_password", "")
        signed = auth.check_password(client_id, person.username, Secret(current), address=address)
        check_factor(request, state, signed, fields, address=address)
        return _store(state, person.person_id, password, why="self-service change", link=None)

    return _attempt(
        attempt,
        lambda **shown: _change_page(request, state, client_id, **shown),
        lambda result: _done(request, state, client_id, result, title="Password changed"),
    )


# -- reset by a mailed link ----------------------------------------------------------------
_RESET_SAID = (
    "If there is an account of that name with an e-mail address, a link to reset its password "
    "is on its way there. It works once, for 30 minutes."
)


def _request_reset(state: State, client_id: str, who: str, address: str) -> None:
    try:
        state.vault.self_service.request_reset(state.keys, client_id, who, address=address)
    except CredsyncError:  # logged; the person was told the same as anyone
        log.exception("a reset request for client %s failed", client_id)


@router.get(_BASE + "/reset")
def reset_request_page(request: Request, state: State, client_id: str) -> Response:
    return _with_form_token(request, state, client_id, "my_reset.html", title="Reset")


@router.post(_BASE + "/reset")
def reset_request_post(request: Request, state: State, client_id: str, fields: Fields) -> Response:
    if not sign_in_form_ok(request, fields):
        return _with_form_token(
            request, state, client_id, "my_reset.html", title="Reset", status=403,
            error=_EXPIRED_FORM,
        )  # fmt: skip
    who = fields.get("who", "").strip()
    if who and state.vault.person_auth.client_name(client_id) is not None:
        # In the background: the page answers at once and alike whether or not a mail goes
        # out (no telling who has an account by how long the answer takes).
        threading.Thread(
            target=_request_reset,
            args=(state, client_id, who, _address(request)),
            name="self-service-reset",
            daemon=True,
        ).start()
    return _with_form_token(
        request, state, client_id, "my_reset.html", title="Reset", said=_RESET_SAID
    )


def _reset_page(
    request: Request,
    state: State,
    client_id: str,
    link: LinkPerson,
    *,
    status: int = 200,
    error: str = "",
) -> Response:
    signed = state.vault.person_auth.person_of(link.person_id, client_id)
    return _with_form_token(
        request, state, client_id, "my_reset_link.html", title="Choose a new password",
        status=status, error=error, link=link, policy=_policy_words(state, client_id),
        **factor_choices(request, state, signed),
    )  # fmt: skip


@router.get(_BASE + "/reset/{token}")
def reset_link_page(request: Request, state: State, client_id: str, token: str) -> Response:
    return _with_link(
        request, state, client_id, token, RESET,
        lambda link: _reset_page(request, state, client_id, link),
    )  # fmt: skip


@router.post(_BASE + "/reset/{token}")
def reset_link_post(
    request: Request, state: State, client_id: str, token: str, fields: Fields
) -> Response:
    auth = state.vault.person_auth

    def attempt(link: LinkPerson) -> SelfServiceResult:
        password = _link_password(request, state, fields, link)
        signed = auth.person_of(link.person_id, client_id)
        if signed is None or not auth.mfa_status(link.person_id).enrolled:
            raise InvalidInput(
                "a reset needs your authenticator app or security key, and this account has "
                "neither: ask your IT team to reset your password"
            )
        check_factor(request, state, signed, fields, address=_address(request))
        return _store(state, link.person_id, password, why="reset by e-mail link", link=link)

    return _with_link(
        request, state, client_id, token, RESET,
        lambda link: _attempt(
            lambda: attempt(link),
            lambda **shown: _reset_page(request, state, client_id, link, **shown),
            lambda result: _done(request, state, client_id, result, title="Password reset"),
        ),
    )  # fmt: skip
