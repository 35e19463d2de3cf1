"""Interactive sign-in: the authorization code flow (with PKCE) and the device code flow.

As https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-auth-code-flow has it:

- ``GET /{tenant}/oauth2/v2.0/authorize`` checks the app (AADSTS700016), the ``redirect_uri``
  against the app's registered ones (AADSTS50011; none registered: AADSTS500113) - errors up to
  here are shown on the page, never sent to an unchecked address - then ``response_type`` (only
  ``code``: AADSTS700054), ``scope`` (AADSTS900144), the PKCE ``code_challenge_method``
  (``S256`` or ``plain``; anything else: AADSTS501491). Those are redirected back as
  ``error`` + ``error_description`` (+ ``state``). Otherwise the sign-in page: a user name and
  password form posting back to the same address; a refusal (AADSTS50034, 50126, 50057, 50055,
  as the password grant answers them) is shown on the page; success redirects with ``code`` and
  ``state`` (``response_mode=form_post``: an auto-posting form).
- The token endpoint's ``authorization_code`` grant: the code is single use (AADSTS54005), lives
  10 minutes on the simulator's clock (AADSTS70008), belongs to the app (AADSTS70000), the
  ``redirect_uri`` must be the authorize request's (AADSTS500112), the ``code_verifier`` must
  match the challenge (AADSTS50148), and a public client (no secret nor assertion) must have
  used PKCE (AADSTS9002325). The answer: an access token for Graph, an id token (RS256 under
  the JWKS key) with the authorize request's ``nonce``.

As https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-device-code has it:

- ``POST /{tenant}/oauth2/v2.0/devicecode`` (``client_id``, ``scope``) answers ``device_code``,
  ``user_code``, ``verification_uri``, ``expires_in`` (900), ``interval`` (5), ``message``.
- ``/devicelogin`` is the page where the user enters the code and signs in (or cancels).
- The token endpoint's ``urn:ietf:params:oauth:grant-type:device_code`` grant answers
  ``authorization_pending`` (AADSTS70016) until then, ``authorization_declined`` when the user
  cancelled, ``expired_token`` (AADSTS70019) after ``expires_in``, ``bad_verification_code``
  (AADSTS70018) for a code it never issued, and ``slow_down`` (RFC 8628 section 3.5; Entra's
  page lists it in no table, msal handles it) when polled faster than ``interval``. The tokens
  are handed out once; the device code is spent then.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from jwt.utils import base64url_encode

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
_PARAMS = (
    "client_id",
    "response_type",
    "redirect_uri",
    "scope",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
    "response_mode",
    "prompt",
    "login_hint",
)


def _missing(name: str) -> AadError:
    return AadError(
        400,
        "invalid_request",
        900144,
        f"The request body must contain the following parameter: '{name}'.",
    )


def _grant(number: int, text: str, error: str = "invalid_grant") -> AadError:
    return AadError(400, error, number, text)


class PageError(Exception):
    """An authorize error shown on the page (the redirect address is not trusted yet)."""

    def __init__(self, error: AadError) -> None:
        super().__init__(str(error))
        self.error = error


class RedirectError(Exception):
    """An authorize error sent back to the (checked) redirect address."""

    def __init__(self, location: str, error: AadError) -> None:
        super().__init__(str(error))
        self.location = location
        self.error = error


@dataclass(frozen=True)
class AuthorizeRequest:
    tenant: SimTenant
    app: SimApp
    params: dict[str, str]
    redirect_uri: str

    @property
    def hidden(self) -> dict[str, str]:
        """The request's parameters, as the sign-in form carries them back."""
        return {k: v for k, v in self.params.items() if k in _PARAMS and v}

    def reply(self, answer: Mapping[str, str]) -> str:
        separator = "&" if "?" in self.redirect_uri else "?"
        return f"{self.redirect_uri}{separator}{urlencode(dict(answer))}"


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


def pkce_challenge(verifier: str, method: str) -> str:
    if method == "plain":
        return verifier
    return base64url_encode(hashlib.sha256(verifier.encode()).digest()).decode()


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
            raise back(
                AadError(
                    400,
                    "unsupported_response_type",
                    700054,
                    f"response_type '{response_type}' is not enabled for the application.",
                )
            )
        if not params.get("scope"):
            raise back(_missing("scope"))
        method = params.get("code_challenge_method", "")
        if params.get("code_challenge") and method not in ("", "S256", "plain"):
            raise back(
                AadError(
                    400,
                    "invalid_request",
                    501491,
                    f"Invalid size of Code_Challenge parameter or invalid code_challenge_method "
                    f"'{method}': use S256 or plain.",
                )
            )
        return request

    def sign_in(self, request: AuthorizeRequest, username: str, password: str) -> str:
        """Where the browser goes once ``username`` signed in (the redirect URI with a code and
        the state); :class:`AadError` (shown on the page) when the sign-in is refused."""
        user = authenticate(request.tenant, username, password)
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
                        50148,
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
                # the doc names the error, not an AADSTS number: 70000 (invalid grant)
                raise _grant(
                    70000,
                    "The end user denied the authorization request.",
                    "authorization_declined",
                )
            if device.state == "pending":
                last, device.last_poll = device.last_poll, now
                if last is not None and now - last < device.interval - 0.5:
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
