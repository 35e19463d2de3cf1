"""The signed-in operator's security keys and passkeys (WebAuthn) on the dashboard: add one
(named; the browser's key answers a challenge of the server's, see ``static/webauthn.js``) and
remove one. Adding the first key from a session that had no second factor counts as passing
it in that session, as confirming an authenticator app does. The rules (who, when, the last
factor) are :mod:`credsync.vault.webauthn`'s."""

from __future__ import annotations

from fastapi import Request, Response

from credsync.api.deps import State
from credsync.errors import InvalidInput
from credsync.web.mfa_step import relying_party
from credsync.web.pages import ACCOUNT_MFA, page, page_router, redirect
from credsync.web.routes.mfa import mfa_page_with
from credsync.web.session import EnrollingViewerDep, Fields, Viewer, ViewerDep

router = page_router()
KEYS = f"{ACCOUNT_MFA}/keys"
_FIELDS = {"name": "Name of the key", "credential": "Security key"}


def _new_key_page(
    request: Request,
    state: State,
    viewer: Viewer,
    *,
    name: str = "",
    error: str = "",
    status: int = 200,
) -> Response:
    options = state.vault.security_keys.registration_options(viewer.actor, relying_party(request))
    return page(
        request, "account_mfa_key.html", viewer, status=status, title="Add a security key",
        options=options, name=name, error=error,
    )  # fmt: skip


@router.post(f"{KEYS}/new")
def new_key(request: Request, state: State, viewer: EnrollingViewerDep) -> Response:
    """The form that adds a key: its name, and the browser's key answering a new challenge."""
    return _new_key_page(request, state, viewer)


@router.post(KEYS)
def add_key(request: Request, state: State, viewer: EnrollingViewerDep, fields: Fields) -> Response:
    """Add the key the browser made (``credential``: the JSON of its
    ``navigator.credentials.create()`` answer) under ``name``; audited."""
    name = fields.get("name", "")[:200]
    answer = fields.get("credential", "")
    if not answer:
        return _new_key_page(
            request, state, viewer, name=name, status=400,
            error="Your browser made no key: adding one needs JavaScript and a security key.",
        )  # fmt: skip
    try:
        added = state.vault.security_keys.register(
            viewer.actor, relying_party(request), name, answer
        )
    except InvalidInput as exc:
        label = _FIELDS.get(exc.field or "", "")
        error = f"{label}: {exc}" if label else str(exc)
        return _new_key_page(request, state, viewer, name=name, status=400, error=error)
    if not viewer.actor.mfa:
        state.vault.web_sessions.passed_mfa(viewer.session_id)
    return redirect(request, ACCOUNT_MFA, viewer, f"Security key {added.name!r} added.")


@router.post(KEYS + "/{key_id}/remove")
def remove_key(key_id: str, request: Request, state: State, viewer: ViewerDep) -> Response:
    """Remove one of one's own keys (not the last second factor when one is required);
    audited."""
    try:
        removed = state.vault.security_keys.remove(viewer.actor, key_id[:64])
    except InvalidInput as exc:
        return mfa_page_with(request, state, viewer, status=400, error=f"{exc}.")
    return redirect(request, ACCOUNT_MFA, viewer, f"Security key {removed.name!r} removed.")
