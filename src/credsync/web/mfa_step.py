"""The dashboard's sign-in with a second factor: after the password, the browser holds a
pending sign-in (no session: nothing but the code form accepts it) in an HttpOnly cookie for the
sign-in pages only (``credsync_mfa``), signed with a key of the vault's (HMAC-SHA256), good
for :data:`TICKET_SECONDS` and bound to the browser's pre-session cookie (the sign-in form's
token) and to the password checked (a password change in between voids it). Wrong codes count
in the sign-in limiter, as wrong passwords do.

A security key (WebAuthn) is made for, and answers only, the host name the dashboard is served
on (:func:`relying_party`: the request's host and origin, as the browser saw them; behind a
proxy, the server must be told to trust the proxy's headers so the scheme is right)."""

from __future__ import annotations

import time

from fastapi import Request

from credsync.api.deps import State
from credsync.crypto.webauthn import RelyingParty
from credsync.vault.websessions import PendingSignIn
from credsync.web._ticket import bound_to, seal, unseal
from credsync.web.session import SIGN_IN_COOKIE

__all__ = ["MFA_COOKIE", "TICKET_SECONDS", "pending_of", "relying_party", "ticket_for"]

MFA_COOKIE = "credsync_mfa"
TICKET_SECONDS = 300
_PURPOSE = "mfa-sign-in"


def _bound(request: Request) -> str:
    """The browser's pre-session cookie, as a digest (the ticket is bound to it)."""
    return bound_to(request.cookies.get(SIGN_IN_COOKIE, ""))


def ticket_for(request: Request, state: State, pending: PendingSignIn) -> str:
    body = {
        "o": pending.operator_id,
        "n": pending.name,
        "f": pending.fingerprint,
        "e": int(time.time()) + TICKET_SECONDS,
        "b": _bound(request),
    }
    return seal(state.keys.mac_key(_PURPOSE), body)


def pending_of(request: Request, state: State) -> PendingSignIn | None:
    """The browser's pending sign-in: None when it has none, or one that is forged, expired
    or made for another browser."""
    raw = request.cookies.get(MFA_COOKIE, "")
    body = unseal(state.keys.mac_key(_PURPOSE), raw, _bound(request))
    if body is None:
        return None
    return PendingSignIn(str(body["o"]), str(body["n"]), str(body["f"]))


def relying_party(request: Request) -> RelyingParty:
    """The WebAuthn relying party of this request: its host name, and the origin (scheme,
    host, port) of the page the browser shows."""
    url = request.url
    return RelyingParty(url.hostname or "localhost", f"{url.scheme}://{url.netloc}")
