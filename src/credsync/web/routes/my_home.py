"""The person portal's pages for a signed-in person (``/my/{client_id}/``): a small home (who
they are, their second factors, links to what exists), their security keys, signing out.
Signed out: on to the portal's sign-in, back here after. Every post carries the person
session's CSRF token."""

from __future__ import annotations

from fastapi import Request, Response

from credsync.api.deps import State
from credsync.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from credsync.vault.person_auth import PersonSignIn
from credsync.web.mfa_step import relying_party
from credsync.web.pages import page_router, redirect
from credsync.web.person_session import (
    PersonSession,
    csrf_ok,
    current_person,
    end_session,
    portal_path,
    sign_in_url,
)
from credsync.web.routes.my_sign_in import show
from credsync.web.session import Fields

__all__ = ["router"]

router = page_router()
_BASE = "/my/{client_id}"


def _signed(session: PersonSession) -> PersonSignIn:
    return PersonSignIn(
        session.person_id, session.client_id, session.username, session.display_name,
        session.mfa, session.authenticated_at, True, session.email,
    )  # fmt: skip


def _refused_post(
    request: Request, state: State, client_id: str, person: PersonSession
) -> Response:
    return show(
        request, state, client_id, "my_home.html", title="Not done", status=403, person=person,
        mfa=state.vault.person_auth.mfa_status(person.person_id),
        error="The form had expired or came from another site: try again.",
    )  # fmt: skip


@router.get(_BASE + "/")
def home(request: Request, state: State, client_id: str) -> Response:
    person = current_person(request, client_id)
    if person is None:
        return redirect(request, sign_in_url(client_id, portal_path(client_id)))
    return show(
        request, state, client_id, "my_home.html", title="Your account", person=person,
        mfa=state.vault.person_auth.mfa_status(person.person_id),
    )  # fmt: skip


@router.get(_BASE)
def home_without_slash(client_id: str, request: Request) -> Response:
    return redirect(request, portal_path(client_id))


@router.post(_BASE + "/sign-out")
def sign_out(request: Request, state: State, client_id: str, fields: Fields) -> Response:
    person = current_person(request, client_id)
    if person is None:
        return redirect(request, sign_in_url(client_id, portal_path(client_id)))
    if not csrf_ok(person, fields):
        return _refused_post(request, state, client_id, person)
    response = redirect(request, portal_path(client_id, "sign-in"))
    end_session(request, response, person)
    return response


def _keys_page(
    request: Request, state: State, person: PersonSession, *, status: int = 200, error: str = ""
) -> Response:
    keys = state.vault.person_auth.security_keys
    options = keys.registration_options(_signed(person), relying_party(request))
    return show(
        request, state, person.client_id, "my_keys.html", title="Your security keys",
        status=status, person=person, keys=keys.list(person.person_id), options=options,
        error=error,
    )  # fmt: skip


@router.get(_BASE + "/keys")
def keys_page(request: Request, state: State, client_id: str) -> Response:
    person = current_person(request, client_id)
    if person is None:
        return redirect(request, sign_in_url(client_id, portal_path(client_id, "keys")))
    return _keys_page(request, state, person)


@router.post(_BASE + "/keys")
def add_key(request: Request, state: State, client_id: str, fields: Fields) -> Response:
    """Add a security key: ``credential`` is the JSON of the browser's
    ``navigator.credentials.create()`` answer (webauthn.js), ``name`` its name."""
    person = current_person(request, client_id)
    if person is None:
        return redirect(request, sign_in_url(client_id, portal_path(client_id, "keys")))
    if not csrf_ok(person, fields):
        return _refused_post(request, state, client_id, person)
    keys = state.vault.person_auth.security_keys
    try:
        keys.register(
            _signed(person), relying_party(request), fields.get("name", ""),
            fields.get("credential", ""),
        )  # fmt: skip
    except (InvalidInput, Conflict, PermissionDenied) as exc:
        return _keys_page(request, state, person, status=400, error=str(exc))
    return redirect(request, portal_path(client_id, "keys"))


@router.post(_BASE + "/keys/{key_id}/remove")
def remove_key(
    request: Request, state: State, client_id: str, key_id: str, fields: Fields
) -> Response:
    person = current_person(request, client_id)
    if person is None:
        return redirect(request, sign_in_url(client_id, portal_path(client_id, "keys")))
    if not csrf_ok(person, fields):
        return _refused_post(request, state, client_id, person)
    try:
        state.vault.person_auth.security_keys.remove(_signed(person), key_id)
    except (NotFound, PermissionDenied) as exc:
        return _keys_page(request, state, person, status=404, error=str(exc))
    return redirect(request, portal_path(client_id, "keys"))
