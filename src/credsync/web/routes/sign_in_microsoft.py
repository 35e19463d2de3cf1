"""Signing in to the dashboard with Microsoft (OpenID Connect, authorization code flow with
PKCE; see :mod:`credsync.vault.operator_sign_in` and docs/operators-microsoft.md).

``GET /sign-in/microsoft`` starts the flow: msal makes it (state, nonce, PKCE verifier), the
browser keeps it in a cookie sealed against tampering (HMAC under a key of the vault's;
HttpOnly, SameSite=Lax so that it comes back with Microsoft's redirect, for the callback's
path only, 10 minutes) and goes to Microsoft's authorize page. ``GET
/sign-in/microsoft/callback`` takes the redirect: the flow of this browser (none, expired or
tampered: refused), the code redeemed with its verifier and the state checked, the id token
checked by the vault (signature, issuer, audience, tenant, nonce, expiry), then the operator
linked to that identity, enabled, gets a session, as a password sign-in does. Every refusal
shows the sign-in page with what went wrong; refusals of an identity are audited
(``auth.failed``)."""

from __future__ import annotations

import base64
import binascii
import hmac
import html
import json
import time
from typing import Any

from fastapi import Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from credsync.api.deps import State
from credsync.connectors import registry
from credsync.errors import AuthenticationFailed, ConnectorError, NotFound
from credsync.vault.operator_sign_in import CALLBACK_PATH
from credsync.vault.websessions import WebSession
from credsync.web.pages import SIGN_IN, local_path, page_router
from credsync.web.routes.auth import sign_in_refused, signed_in

router = page_router()
START_PATH = f"{SIGN_IN}/microsoft"
FLOW_COOKIE = "credsync_ms_flow"
FLOW_SECONDS = 600
_KEPT = ("state", "nonce", "code_verifier", "redirect_uri", "scope", "claims_challenge")


def _seal(state: State, payload: dict[str, Any]) -> str:
    body = base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode()).decode()
    return f"{body}.{state.keys.mac_key(FLOW_COOKIE).digest(body)}"


def _opened(state: State, cookie: str | None) -> dict[str, Any] | None:
    """The flow of this browser's cookie, if it is ours, untouched and not expired."""
    body, _, mac = (cookie or "").partition(".")
    if not body or not hmac.compare_digest(mac, state.keys.mac_key(FLOW_COOKIE).digest(body)):
        return None
    try:
        payload = json.loads(base64.urlsafe_b64decode(body.encode()))
    except (ValueError, binascii.Error):
        return None
    if not isinstance(payload, dict) or time.time() - float(payload.get("at", 0)) > FLOW_SECONDS:
        return None
    return payload


@router.get(START_PATH)
def start(request: Request, state: State, next: str = "/") -> Response:
    """To Microsoft's sign-in page, with a new flow in this browser's cookie."""
    service = state.vault.operator_sign_in
    try:
        provider = registry.operator_sign_in(service.provider_config(state.keys))
    except NotFound:
        return sign_in_refused(request, state, "Sign-in with Microsoft is not set up.", 404)
    try:
        flow = provider.begin()
    except ConnectorError as exc:
        return sign_in_refused(request, state, f"Microsoft can't be reached: {exc}", 502)
    finally:
        provider.close()
    kept = {k: flow[k] for k in _KEPT if k in flow}
    kept.update(at=time.time(), next=local_path(next))
    response = RedirectResponse(str(flow["auth_uri"]), status_code=303)
    response.set_cookie(
        FLOW_COOKIE, _seal(state, kept), max_age=FLOW_SECONDS, httponly=True,
        secure=state.secure_cookies, samesite="lax", path=CALLBACK_PATH,
    )  # fmt: skip
    return response


@router.get(CALLBACK_PATH)
def callback(request: Request, state: State) -> Response:
    """Microsoft's redirect back: a session for the linked operator, or the refusal."""
    flow = _opened(state, request.cookies.get(FLOW_COOKIE))
    if flow is None:
        return _refused(
            request, state,
            "The sign-in with Microsoft has expired or was started in another browser: sign "
            "in again.",
        )  # fmt: skip
    target = local_path(str(flow.pop("next", "/")))
    flow.pop("at", None)
    answer = dict(request.query_params)
    service = state.vault.operator_sign_in
    try:
        provider = registry.operator_sign_in(service.provider_config(state.keys))
    except NotFound:
        return _refused(request, state, "Sign-in with Microsoft is not set up.", 404)
    try:
        identity = provider.finish(flow, answer)
        row = service.operator_for(identity)
        session = state.vault.web_sessions.start_with(row, "microsoft")
    except AuthenticationFailed as exc:
        return _refused(request, state, f"Not signed in: {exc}.")
    except ConnectorError as exc:
        return _refused(request, state, f"Microsoft can't be reached: {exc}", 502)
    finally:
        provider.close()
    return _onward(request, state, session, target)


def _onward(request: Request, state: State, session: WebSession, target: str) -> Response:
    """Signed in: the session's cookie set on a page that goes on to ``target`` by itself.
    Not a redirect: this answer ends a navigation that another site (Microsoft's page)
    started, and the browser would not send the SameSite=Strict session cookie along a
    redirect of it; the page's own navigation is this site's."""
    redirected = signed_in(request, state, session, target)
    where = html.escape(target, quote=True)
    response = HTMLResponse(
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="refresh" content="0;url={where}"><title>Signed in</title></head>'
        f'<body><p>Signed in. <a href="{where}">Continue</a>.</p></body></html>',
        headers={"Cache-Control": "no-store"},
    )
    for name, value in redirected.headers.items():
        if name.lower() == "set-cookie":
            response.headers.append("set-cookie", value)
    response.delete_cookie(FLOW_COOKIE, path=CALLBACK_PATH)
    return response


def _refused(request: Request, state: State, message: str, status: int = 401) -> Response:
    response = sign_in_refused(request, state, message, status)
    response.delete_cookie(FLOW_COOKIE, path=CALLBACK_PATH)
    return response
