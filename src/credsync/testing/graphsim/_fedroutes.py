"""The sign-in front end's HTTP routes for federated domains (``_realm`` and ``_loginsrf``
hold the rules):

- ``GET /getuserrealm.srf?login=`` - the realm JSON.
- ``GET /{tenant}/login?user=`` - a simulator entry point (no app): the hop to the user's
  identity provider; a managed or unknown user gets the error page (AADSTS50107 when the
  domain is not federated: there is no realm to send the user to).
- ``POST /login.srf`` - the identity provider's answer; ``GET`` is refused with AADSTS900561
  ("The endpoint only accepts POST requests", ref). Success continues the authorize flow
  (302 to the app's redirect URI with a code, or the ``form_post`` page), or shows "signed in"
  and sets the session cookie ``ESTSAUTH`` that sign-out reads.
- ``GET /{tenant}/oauth2/v2.0/logout`` (and ``/common/...``): ends the session; for a user who
  signed in through an identity provider, a redirect to its ``signOutUri`` (wsFed:
  ``wa=wsignout1.0``; saml: a ``LogoutRequest`` by the HTTP-Redirect binding, deflated and
  base64 in ``SAMLRequest``, as the SAML IdP page says sign-out uses REDIRECT); otherwise (or
  with ``post_logout_redirect_uri``) the "signed out" page or that address.
"""

from __future__ import annotations

import base64
import secrets
import threading
import zlib
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode
from xml.sax.saxutils import escape, quoteattr

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from . import _pages
from ._errors import AadError
from ._loginsrf import Accepted, Refused, complete
from ._realm import Hop, get_user_realm, protocol_of, realm_of
from ._saml import AUDIENCE

if TYPE_CHECKING:
    from ._simulator import GraphSimulator

__all__ = ["hop_response", "routes"]

_NO_STORE = {"Cache-Control": "no-store, no-cache", "Pragma": "no-cache"}
COOKIE = "ESTSAUTH"


def hop_response(hop: Hop) -> Response:
    if hop.method == "POST":
        return HTMLResponse(_pages.form_post_page(hop.url, hop.fields), headers=_NO_STORE)
    return RedirectResponse(hop.url, status_code=302, headers=_NO_STORE)


def _error(err: AadError, status: int = 400) -> HTMLResponse:
    return HTMLResponse(_pages.error_page(err), status_code=status, headers=_NO_STORE)


class _Sessions:
    """Browser sessions made at ``login.srf`` (cookie value -> who, through which IdP)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_id: dict[str, dict[str, Any]] = {}

    def add(self, accepted: Accepted) -> str:
        sid = secrets.token_urlsafe(32)
        upn = str(accepted.user["userPrincipalName"])
        with self._lock:
            self._by_id[sid] = {
                "tenant": accepted.tenant.id,
                "upn": upn,
                "name_id": accepted.user.get("onPremisesImmutableId"),
                "session_index": accepted.session_index,
            }
        return sid

    def pop(self, sid: str | None) -> dict[str, Any] | None:
        with self._lock:
            return self._by_id.pop(sid or "", None)


def _logout_request(destination: str, name_id: str, session_index: str) -> str:
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    xml = (
        '<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" '
        f'ID="_{secrets.token_hex(16)}" Version="2.0" IssueInstant="{stamp}" '
        f"Destination={quoteattr(destination)}>"
        f'<Issuer xmlns="urn:oasis:names:tc:SAML:2.0:assertion">{escape(AUDIENCE)}</Issuer>'
        '<NameID xmlns="urn:oasis:names:tc:SAML:2.0:assertion" '
        f'Format="urn:oasis:names:tc:SAML:2.0:nameid-format:persistent">{escape(name_id)}</NameID>'
        f"<samlp:SessionIndex>{escape(session_index)}</samlp:SessionIndex></samlp:LogoutRequest>"
    )
    deflater = zlib.compressobj(9, zlib.DEFLATED, -15)  # raw DEFLATE (SAML bindings 3.4.4.1)
    packed = deflater.compress(xml.encode("utf-8")) + deflater.flush()
    return base64.b64encode(packed).decode("ascii")


def routes(sim: GraphSimulator) -> list[Route]:
    sessions = _Sessions()
    federation = sim.authority.federation

    async def realm(request: Request) -> Response:
        login = request.query_params.get("login", "")
        tenant = sim.find_tenant(login.rsplit("@", 1)[-1]) if "@" in login else None
        return JSONResponse(get_user_realm(tenant, login), headers=_NO_STORE)

    async def tenant_login(request: Request) -> Response:
        user = request.query_params.get("user", "")
        tenant = sim.find_tenant(request.path_params["tenant"])
        found = realm_of(tenant, user)
        if tenant is None or found is None or found[1] is None:
            return _error(
                AadError(
                    400,
                    "invalid_request",
                    50107,
                    f"The requested federation realm object '{user}' does not exist.",
                )
            )
        domain, config = found[0], found[1]
        try:
            return hop_response(federation.start(tenant, user, domain, config, sim.url))
        except AadError as err:
            return _error(err)

    async def login_srf(request: Request) -> Response:
        if request.method != "POST":
            return _error(
                AadError(
                    400,
                    "invalid_request",
                    900561,
                    "The endpoint only accepts POST requests. Received a GET request.",
                )
            )
        body = (await request.body()).decode("utf-8", "replace")
        form = dict(parse_qsl(body, keep_blank_values=True))
        try:
            accepted = complete(federation, lambda: sim.tenants, f"{sim.url}/login.srf", form)
        except Refused as refused:
            return _error(refused.error)
        flow = accepted.request.flow if accepted.request is not None else None
        if flow is not None:
            location = sim.authority.interactive.issue_code(flow, accepted.user)
            if flow.params.get("response_mode") == "form_post":
                target, _, query = location.partition("?")
                answer: Response = HTMLResponse(
                    _pages.form_post_page(target, dict(parse_qsl(query))), headers=_NO_STORE
                )
            else:
                answer = RedirectResponse(location, status_code=302, headers=_NO_STORE)
        else:
            page = _pages.signed_in_page(
                accepted.user.get("displayName"), str(accepted.user["userPrincipalName"])
            )
            answer = HTMLResponse(page, headers=_NO_STORE)
        answer.set_cookie(COOKIE, sessions.add(accepted), secure=True, httponly=True)
        return answer

    async def logout(request: Request) -> Response:
        session = sessions.pop(request.cookies.get(COOKIE))
        back = request.query_params.get("post_logout_redirect_uri")
        tenant = sim.find_tenant(session["tenant"]) if session else None
        found = realm_of(tenant, session["upn"]) if session else None
        if session is not None and found is not None and found[1] is not None:
            config = found[1]
            target = str(config.get("signOutUri") or config.get("passiveSignInUri") or "")
            if protocol_of(config) == "saml":
                fields = {
                    "SAMLRequest": _logout_request(
                        target, str(session["name_id"] or ""), str(session["session_index"])
                    )
                }
            else:
                fields = {"wa": "wsignout1.0", "wtrealm": AUDIENCE}
                if "wa=wsignout1.0" in target:  # AD FS's signOutUri carries it already
                    del fields["wa"]
                if back:
                    fields["wreply"] = back
            separator = "&" if "?" in target else "?"
            answer: Response = RedirectResponse(
                f"{target}{separator}{urlencode(fields)}", status_code=302, headers=_NO_STORE
            )
        elif back:
            answer = RedirectResponse(back, status_code=302, headers=_NO_STORE)
        else:
            answer = HTMLResponse(_pages.signed_out_page(), headers=_NO_STORE)
        answer.delete_cookie(COOKIE)
        return answer

    return [
        Route("/getuserrealm.srf", realm, methods=["GET"]),
        Route("/login.srf", login_srf, methods=["GET", "POST"]),
        Route("/{tenant}/login", tenant_login, methods=["GET"]),
        Route("/{tenant}/oauth2/v2.0/logout", logout, methods=["GET", "POST"]),
    ]
