"""Interactive sign-in: the authorization code flow (with PKCE) and the device code flow.

As https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-auth-code-flow has it:

- ``GET /{tenant}/oauth2/v2.0/authorize`` checks the app (AADSTS700016), the ``redirect_uri``
  against the app's registered ones (AADSTS50011; none registered: AADSTS500113) - errors up to
  here are shown on the page, never sent to an unchecked address - then ``response_type`` (only
  ``code``: AADSTS70005), ``scope`` (AADSTS900144), the PKCE ``code_challenge_method``
  (``S256`` or ``plain``; anything else: AADSTS90100). Those are redirected back as
  ``error`` + ``error_description`` (+ ``state``). Otherwise the sign-in page: a user name and
  password form posting back to the same address; a refusal (AADSTS50034, 50126, 50057, 50055,
  as the password grant answers them) is shown on the page; success redirects with ``code`` and
  ``state`` (``response_mode=form_post``: an auto-posting form).
- The token endpoint's ``authorization_code`` grant: the code is single use (AADSTS54005), lives
  10 minutes on the simulator's clock (AADSTS70008), belongs to the app (AADSTS70000), the
  ``redirect_uri`` must be the authorize request's (AADSTS500112), the ``code_verifier`` must
  match the challenge (AADSTS501481), and a public client (no secret nor assertion) must have
  used PKCE (AADSTS9002325). The answer: an access token for Graph, an id token (RS256 under
  the JWKS key) with the authorize request's ``nonce``.

As https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-device-code has it:

- ``POST /{tenant}/oauth2/v2.0/devicecode`` (``client_id``, ``scope``) answers ``device_code``,
  ``user_code``, ``verification_uri``, ``expires_in`` (900), ``interval`` (5), ``message``.
- ``/devicelogin`` is the page where the user enters the code and signs in (or cancels).
- The token endpoint's ``urn:ietf:params:oauth:grant-type:device_code`` grant answers
  ``authorization_pending`` (AADSTS70016) until then, ``authorization_declined`` (AADSTS65004)
  when the user cancelled, ``expired_token`` (AADSTS70019) after ``expires_in``,
  ``bad_verification_code`` (AADSTS70018) for a code it never issued, and ``slow_down`` (RFC
  8628 section 3.5; Entra's page lists it in no table, msal handles it) when polled faster than
  ``interval``. The tokens are handed out once; the device code is spent then.

Each number checked against Microsoft's pages: docs/operators-microsoft.md ("The simulator's
errors, checked against Microsoft's pages"); where Microsoft names no number the tests hold the
OAuth ``error`` value only.
"""

from __future__ import annotations

import hmac
import secrets
import string
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ._authorize import (
    AuthorizeRequest,
    PageError,
    RedirectError,
    pkce_challenge,
)
from ._authorize import grant_error as _grant
from ._authorize import missing as _missing
from ._errors import AadError
from ._ropc import authenticate, user_tokens
from ._tenant import SimApp, SimTenant

__all__ = [
    "CODE_LIFETIME",
    "DEVICE_GRANT",
    "AuthorizeRequest",
    "Interactive",
    "PageError",
    "RedirectError",
]

CODE_LIFETIME = 600
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
_USER_CODE = string.ascii_uppercase.replace("O", "").replace("I", "") + "23456789"


@dataclass
class _Code:
    tenant_id: str
    client_id: str
    redirect_uri: str
    scope: str
    user: dict[str, Any]
    nonce: str | None
    challenge: str | None
    method: str
    issued: float
    used: bool = False


@dataclass
class _Device:
    tenant_id: str
    client_id: str
    scope: str
    user_code: str
    issued: float
    expires: float
    interval: int
    state: str = "pending"  # pending, approved, declined, redeemed
    user: dict[str, Any] | None = field(default=None, repr=False)
    last_poll: float | None = None


class Interactive:
    """The codes and device codes in flight, and the apps' redirect URIs."""

    def __init__(self, timestamp: Callable[[], float]) -> None:
        self._now = timestamp
        self._lock = threading.Lock()
        self._redirects: dict[str, list[str]] = {}
        self._codes: dict[str, _Code] = {}
        self._devices: dict[str, _Device] = {}
        self._user_codes: dict[str, str] = {}
        self.device_interval = 5
        self.device_lifetime = 900

    # --- registration ---------------------------------------------------------------------
    def add_redirect_uri(self, app: SimApp, uri: str) -> None:
        """Register ``uri`` as a redirect URI of ``app`` (the portal's Authentication page)."""
        with self._lock:
            uris = self._redirects.setdefault(app.client_id, [])
            if uri not in uris:
                uris.append(uri)

    def redirect_uris(self, app: SimApp) -> list[str]:
        with self._lock:
            return list(self._redirects.get(app.client_id, ()))

    # --- the authorize endpoint -----------------------------------------------------------
    def authorize(self, tenant: SimTenant, params: Mapping[str, str]) -> AuthorizeRequest:
        """The checked request, or :class:`PageError` / :class:`RedirectError`."""
        client_id = params.get("client_id", "")
        if not client_id:
            raise PageError(_missing("client_id"))
        app = tenant.apps.get(client_id.lower())
        if app is None:
            raise PageError(
                AadError(
                    400,
                    "unauthorized_client",
                    700016,
                    f"Application with identifier '{client_id}' was not found in the directory "
                    f"'{tenant.name}'. This can happen if the application has not been installed "
                    "by the administrator of the tenant or consented to by any user in the "
                    "tenant. You may have sent your authentication request to the wrong tenant.",
                )
            )
        registered = self.redirect_uris(app)
        if not registered:
            raise PageError(
                AadError(
                    400,
                    "invalid_request",
                    500113,
                    "No reply address is registered for the application.",
                )
            )
        uri = params.get("redirect_uri") or registered[0]
        if uri not in registered:
            raise PageError(
                AadError(
                    400,
                    "invalid_request",
                    50011,
                    f"The redirect URI '{uri}' specified in the request does not match the "
                    f"redirect URIs configured for the application '{app.client_id}'. Make "
                    "sure the redirect URI sent in the request matches one added to your "
                    "application in the Azure portal.",
                )
            )
        request = AuthorizeRequest(tenant, app, dict(params), uri)

        def back(error: AadError) -> RedirectError:
            answer = {
                "error": error.error,
                "error_description": f"AADSTS{error.number}: {error.text}",
            }
            if params.get("state"):
                answer["state"] = params["state"]
            return RedirectError(request.reply(answer), error)

        response_type = params.get("response_type", "")
        if not response_type:
            raise back(_missing("response_type"))
        if response_type != "code":
            # AADSTS70005 UnsupportedResponseType (AADSTS700054 is only "response_type
            # 'id_token' isn't enabled"), error from RFC 6749 4.1.2.1:
            # https://learn.microsoft.com/entra/identity-platform/reference-error-codes
            raise back(
                AadError(
                    400,
                    "unsupported_response_type",
                    70005,
                    f"The app returned an unsupported response type '{response_type}': this "
                    "application answers response_type 'code' only.",
                )
            )
        if not params.get("scope"):
            raise back(_missing("scope"))
        method = params.get("code_challenge_method", "")
        if params.get("code_challenge") and method not in ("", "S256", "plain"):
            # Microsoft documents no number for an unsupported code_challenge_method (its
            # AADSTS501491 is the challenge's size); AADSTS90100 InvalidRequestParameter ("the
            # parameter is empty or not valid") is the reference page's general one. The
            # contract the tests hold is the error value, invalid_request (RFC 7636 4.4.1):
            # https://learn.microsoft.com/entra/identity-platform/reference-error-codes
            raise back(
                AadError(
                    400,
                    "invalid_request",
                    90100,
                    f"The parameter 'code_challenge_method' is not valid: '{method}'. Use S256 "
                    "or plain.",
                )
            )
        return request

    def sign_in(self, request: AuthorizeRequest, username: str, password: str) -> str:
        """Where the browser goes once ``username`` signed in (the redirect URI with a code and
        the state); :class:`AadError` (shown on the page) when the sign-in is refused."""
        return self.issue_code(request, authenticate(request.tenant, username, password))

    def issue_code(self, request: AuthorizeRequest, user: dict[str, Any]) -> str:
        """Where the browser goes once ``user`` signed in by any means (a password here, an
        identity provider's answer at ``login.srf``): the redirect URI with a code."""
        code = secrets.token_urlsafe(48)
        params = request.params
        with self._lock:
            self._codes[code] = _Code(
                tenant_id=request.tenant.id,
                client_id=request.app.client_id,
                redirect_uri=request.redirect_uri,
                scope=params.get("scope", ""),
                user=user,
                nonce=params.get("nonce") or None,
                challenge=params.get("code_challenge") or None,
                method=params.get("code_challenge_method") or "plain",
                issued=self._now(),
            )
        answer = {"code": code}
        if params.get("state"):
            answer["state"] = params["state"]
        answer["session_state"] = secrets.token_hex(16)
        return request.reply(answer)

    # --- the token endpoint's delegated grants --------------------------------------------
    def redeem_code(
        self,
        tenant: SimTenant,
        app: SimApp,
        form: Mapping[str, str],
        *,
        confidential: bool,
        sign: Callable[[dict[str, Any]], str],
        issuer_base: str,
    ) -> dict[str, Any]:
        code_text = form.get("code", "")
        if not code_text:
            raise _missing("code")
        if not form.get("redirect_uri"):
            raise _missing("redirect_uri")
        with self._lock:
            code = self._codes.get(code_text)
            if code is None:
                raise _grant(9002313, "Invalid request. Request is malformed or invalid.")
            # Numbers and meanings as on
            # https://learn.microsoft.com/entra/identity-platform/reference-error-codes:
            # 9002313 InvalidRequest (above), 70000 InvalidGrant, 54005 (code already
            # redeemed), 70008 ExpiredOrRevokedGrant, 501481 (code_verifier doesn't match the
            # code_challenge); 500112 and 9002325 are not on that page (see
            # docs/operators-microsoft.md): the tests hold their error value. (700005, a code
            # redeemed at another tenant, cannot arise: the simulator's apps are per tenant.)
            if code.tenant_id != tenant.id or code.client_id != app.client_id:
                raise _grant(
                    70000,
                    "The provided value for the 'code' parameter is not valid. The code was "
                    "issued to another application or tenant.",
                )
            if code.used:
                raise _grant(
                    54005,
                    "OAuth2 Authorization code was already redeemed, please retry with a new "
                    "valid code or use an existing refresh token.",
                )
            if self._now() - code.issued > CODE_LIFETIME:
                raise _grant(
                    70008,
                    "The provided authorization code or refresh token has expired due to "
                    "inactivity. Send a new interactive authorization request for this user "
                    "and resource.",
                )
            if form["redirect_uri"] != code.redirect_uri:
                raise _grant(
                    500112,
                    "The reply address does not match the reply address provided when "
                    "requesting Authorization code.",
                )
            verifier = form.get("code_verifier")
            if code.challenge is not None:
                expected = pkce_challenge(verifier or "", code.method)
                if not verifier or not hmac.compare_digest(expected, code.challenge):
                    raise _grant(
                        501481,
                        "The code_verifier does not match the code_challenge supplied in the "
                        "authorization request for PKCE.",
                    )
            elif not confidential:
                raise _grant(
                    9002325,
                    "Proof Key for Code Exchange is required for cross-origin authorization "
                    "code redemption.",
                    "invalid_request",
                )
            code.used = True
            user, nonce, scope = code.user, code.nonce, form.get("scope") or code.scope
        tenant.stats_add("tokens")
        return user_tokens(
            tenant, app, user, scope, sign=sign, issuer_base=issuer_base, nonce=nonce
        )

    # --- the device code flow -------------------------------------------------------------
    def start_device(self, tenant: SimTenant, form: Mapping[str, str], base: str) -> dict[str, Any]:
        client_id = form.get("client_id", "")
        if not client_id:
            raise _missing("client_id")
        app = tenant.apps.get(client_id.lower())
        if app is None:
            raise AadError(
                400,
                "unauthorized_client",
                700016,
                f"Application with identifier '{client_id}' was not found in the directory "
                f"'{tenant.name}'.",
            )
        if not form.get("scope"):
            raise _missing("scope")
        device_code = secrets.token_urlsafe(48)
        with self._lock:
            while True:
                user_code = "".join(secrets.choice(_USER_CODE) for _ in range(9))
                if user_code not in self._user_codes:
                    break
            now = self._now()
            self._devices[device_code] = _Device(
                tenant_id=tenant.id,
                client_id=app.client_id,
                scope=form["scope"],
                user_code=user_code,
                issued=now,
                expires=now + self.device_lifetime,
                interval=self.device_interval,
            )
            self._user_codes[user_code] = device_code
        uri = f"{base}/devicelogin"
        return {
            "user_code": user_code,
            "device_code": device_code,
            "verification_uri": uri,
            "expires_in": self.device_lifetime,
            "interval": self.device_interval,
            "message": (
                f"To sign in, use a web browser to open the page {uri} and enter the code "
                f"{user_code} to authenticate."
            ),
        }

    def device_for(self, user_code: str) -> tuple[str, SimTenantRef]:
        """(device code, its tenant id and app) for a code the user typed; AadError
        AADSTS70018 for a code never issued or spent, AADSTS70019 for an expired one."""
        with self._lock:
            device_code = self._user_codes.get(user_code.strip().upper().replace("-", ""))
            device = self._devices.get(device_code or "")
            if device is None or device.state != "pending":
                raise _grant(
                    70018,
                    "Invalid verification code due to User typing in wrong user code for "
                    "device code flow. Authorization is not approved.",
                    "bad_verification_code",
                )
            if self._now() >= device.expires:
                raise _grant(70019, "Verification code expired.", "expired_token")
            return device_code or "", (device.tenant_id, device.client_id)

    def approve_device(
        self,
        tenant: SimTenant,
        user_code: str,
        username: str,
        password: str,
        *,
        decline: bool = False,
    ) -> None:
        """The user entered ``user_code`` and signed in (or cancelled, ``decline``)."""
        device_code, _ = self.device_for(user_code)
        user = None if decline else authenticate(tenant, username, password)
        with self._lock:
            device = self._devices[device_code]
            device.state = "declined" if decline else "approved"
            device.user = user

    def redeem_device(
        self,
        tenant: SimTenant,
        app: SimApp,
        form: Mapping[str, str],
        *,
        sign: Callable[[dict[str, Any]], str],
        issuer_base: str,
    ) -> dict[str, Any]:
        device_code = form.get("device_code", "")
        if not device_code:
            raise _missing("device_code")
        with self._lock:
            device = self._devices.get(device_code)
            if device is None or device.tenant_id != tenant.id or device.client_id != app.client_id:
                raise _grant(
                    70018,
                    "The device_code sent to the /token endpoint was not recognized.",
                    "bad_verification_code",
                )
            now = self._now()
            if device.state == "redeemed":
                raise _grant(
                    54005,
                    "OAuth2 device code was already redeemed, please start a new device flow.",
                )
            if now >= device.expires:
                raise _grant(
                    70019,
                    "The provided value for the input parameter 'device_code' is not valid. "
                    "This device code has expired.",
                    "expired_token",
                )
            if device.state == "declined":
                # https://learn.microsoft.com/entra/identity-platform/v2-oauth2-device-code
                # names the error (authorization_declined), not a number: AADSTS65004
                # UserDeclinedConsent is the reference page's number for a user saying no
                # (its 70000 is an invalid refresh token). The tests hold the error value.
                raise _grant(
                    65004,
                    "The end user denied the authorization request.",
                    "authorization_declined",
                )
            if device.state == "pending":
                last, device.last_poll = device.last_poll, now
                if last is not None and now - last < device.interval - 0.5:
                    # slow_down is RFC 8628 3.5's; Microsoft's device code page does not list it
                    # nor a number for it: AADSTS70016 (AuthorizationPending, "the device will
                    # retry polling") as for authorization_pending. The tests hold the error.
                    raise _grant(
                        70016,
                        f"OAuth 2.0 device flow error. Polling too fast: wait {device.interval} "
                        "seconds between requests.",
                        "slow_down",
                    )
                raise _grant(
                    70016,
                    "OAuth 2.0 device flow error. Authorization is pending. Continue polling.",
                    "authorization_pending",
                )
            device.state = "redeemed"
            self._user_codes.pop(device.user_code, None)
            user, scope = device.user or {}, device.scope
        tenant.stats_add("tokens")
        return user_tokens(tenant, app, user, scope, sign=sign, issuer_base=issuer_base)


SimTenantRef = tuple[str, str]  # (tenant id, client id)
