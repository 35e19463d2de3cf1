"""Operators' sign-in with Microsoft (the MSP's own tenant): OpenID Connect through msal, the
id token checked here with PyJWT (see :mod:`credsync.connectors.operator_sign_in`).

* **Auth code flow** (dashboard): ``msal.ConfidentialClientApplication``'s
  ``initiate_auth_code_flow`` (PKCE S256, ``state``, ``nonce``; ``response_mode`` query, so the
  browser's flow cookie, SameSite=Lax, comes back with the redirect) and
  ``acquire_token_by_auth_code_flow`` (state checked by msal). Microsoft's page:
  https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-auth-code-flow
* **Device code flow** (CLI): ``msal.PublicClientApplication``'s ``initiate_device_flow`` /
  ``acquire_token_by_device_flow`` (msal polls at the flow's ``interval``):
  https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-device-code
* **The id token** is never trusted from msal: :meth:`MicrosoftSignIn.verify` reads the
  tenant's OpenID configuration and keys (``jwks_uri``) and checks RS256, ``iss`` (the
  configuration's issuer, which names the tenant), ``aud`` (the client id), ``tid`` (the
  configured tenant), ``exp``/``nbf``/``iat`` (5 minutes' leeway) and, for a dashboard flow,
  the ``nonce`` msal sent (its SHA-256): the claims of
  https://learn.microsoft.com/en-us/entra/identity-platform/id-token-claims-reference
* HTTP: a ``requests.Session`` with ``trust_env`` off (REQUESTS_CA_BUNDLE would override
  ``verify``) verifying against the configured CAs (``ca_pem``, written to a private temporary
  file removed by :meth:`close`) or requests' own bundle.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import jwt
import msal
import requests

from credsync.connectors.operator_sign_in import ProviderConfig, VerifiedIdentity
from credsync.errors import AuthenticationFailed, ConnectorError

__all__ = ["MicrosoftSignIn"]

SCOPES = ["User.Read"]  # msal adds openid, profile and offline_access
LEEWAY = 300


class MicrosoftSignIn:
    def __init__(self, config: ProviderConfig, *, clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self._clock = clock
        self._ca_file: Path | None = None
        self._session: requests.Session | None = None
        self._app: Any = None
        self._keys: dict[str, Any] | None = None
        self._discovery: dict[str, Any] | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"MicrosoftSignIn(authority={self.config.authority_url!r})"

    # --- HTTP --------------------------------------------------------------------------------
    def _http(self) -> requests.Session:
        if self._session is None:
            session = requests.Session()
            session.trust_env = False
            if self.config.ca_pem:
                fd, name = tempfile.mkstemp(prefix="credsync-sign-in-ca-", suffix=".pem")
                with os.fdopen(fd, "w") as out:
                    out.write(self.config.ca_pem)
                self._ca_file = Path(name)
                session.verify = name
            self._session = session
        return self._session

    def _get(self, url: str) -> dict[str, Any]:
        try:
            answer = self._http().get(url, timeout=self.config.timeout)
            answer.raise_for_status()
            body = answer.json()
        except (OSError, ValueError) as exc:
            raise ConnectorError(
                f"Microsoft sign-in: could not read {url} ({type(exc).__name__})"
            ) from None
        if not isinstance(body, dict):
            raise ConnectorError(f"Microsoft sign-in: {url} gave no JSON object")
        return body

    def _configuration(self) -> dict[str, Any]:
        if self._discovery is None:
            url = f"{self.config.authority_url}/v2.0/.well-known/openid-configuration"
            self._discovery = self._get(url)
        return self._discovery

    def _application(self) -> Any:
        if self._app is None:
            common: dict[str, Any] = {
                "authority": self.config.authority_url,
                "http_client": self._http(),
                "instance_discovery": False,
            }
            try:
                if self.config.client_secret is None:
                    self._app = msal.PublicClientApplication(self.config.client_id, **common)
                else:
                    self._app = msal.ConfidentialClientApplication(
                        self.config.client_id,
                        client_credential=self.config.client_secret.reveal(),
                        **common,
                    )
            except (OSError, ValueError) as exc:
                raise ConnectorError(
                    f"Microsoft sign-in: could not read the authority "
                    f"{self.config.authority_url} ({type(exc).__name__})"
                ) from None
        return self._app

    # --- the auth code flow ------------------------------------------------------------------
    def begin(self) -> dict[str, Any]:
        with self._lock, warnings.catch_warnings():
            # msal recommends form_post; the query keeps the flow cookie SameSite=Lax
            warnings.simplefilter("ignore", UserWarning)
            flow: dict[str, Any] = self._application().initiate_auth_code_flow(
                SCOPES, redirect_uri=self.config.redirect_uri
            )
        return flow

    def finish(self, flow: Mapping[str, Any], answer: Mapping[str, str]) -> VerifiedIdentity:
        if "error" in answer:
            text = answer.get("error_description") or answer["error"]
            raise AuthenticationFailed(f"Microsoft refused the sign-in: {_first_line(text)}")
        with self._lock:
            try:
                result = self._application().acquire_token_by_auth_code_flow(
                    dict(flow), dict(answer)
                )
            except ValueError as exc:  # state mismatch, or a flow of another app
                raise AuthenticationFailed(
                    f"the sign-in does not match its request ({exc})"
                ) from None
            except OSError as exc:
                raise ConnectorError(
                    f"Microsoft sign-in: could not redeem the code ({type(exc).__name__})"
                ) from None
        return self._verified_result(result, flow.get("nonce"))

    def _verified_result(self, result: Any, nonce: Any) -> VerifiedIdentity:
        if not isinstance(result, dict) or "id_token" not in result:
            text = (
                result.get("error_description") or result.get("error")
                if isinstance(result, dict)
                else ""
            )
            raise AuthenticationFailed(
                f"Microsoft refused the sign-in: {_first_line(str(text or 'no id token'))}"
            )
        expected = hashlib.sha256(str(nonce).encode()).hexdigest() if nonce else None
        return self.verify(str(result["id_token"]), expected)

    # --- the id token ------------------------------------------------------------------------
    def _key_for(self, token: str) -> Any:
        try:
            kid = jwt.get_unverified_header(token).get("kid")
        except jwt.PyJWTError:
            raise AuthenticationFailed("the id token is not a JWT") from None
        for attempt in range(2):
            if self._keys is None or attempt:
                self._keys = self._get(str(self._configuration()["jwks_uri"]))
            for key in self._keys.get("keys", []):
                if key.get("kid") == kid:
                    return jwt.PyJWK(key, "RS256").key
        raise AuthenticationFailed("the id token is signed with a key the tenant does not publish")

    def verify(self, id_token: str, nonce: str | None = None) -> VerifiedIdentity:
        key = self._key_for(id_token)  # first: what is no JWT is refused before any request
        issuer = str(self._configuration().get("issuer", ""))
        try:
            claims: dict[str, Any] = jwt.decode(
                id_token,
                key,
                algorithms=["RS256"],
                audience=self.config.client_id,
                issuer=issuer,
                # the times are checked below, on this object's clock
                options={
                    "require": ["exp", "iat", "iss", "aud", "tid", "oid"],
                    "verify_exp": False,
                    "verify_nbf": False,
                    "verify_iat": False,
                },
            )
        except jwt.InvalidSignatureError:
            raise AuthenticationFailed("the id token's signature is wrong") from None
        except jwt.InvalidAudienceError:
            raise AuthenticationFailed(
                "the id token was issued to another app (audience)"
            ) from None
        except jwt.InvalidIssuerError:
            raise AuthenticationFailed(
                "the id token was issued by another tenant (issuer)"
            ) from None
        except jwt.PyJWTError as exc:
            raise AuthenticationFailed(f"the id token is not valid ({exc})") from None
        now = self._clock()
        try:
            expires, not_before = float(claims["exp"]), float(claims.get("nbf", claims["iat"]))
        except (TypeError, ValueError):
            raise AuthenticationFailed("the id token's times are not numbers") from None
        if now > expires + LEEWAY:
            raise AuthenticationFailed("the id token has expired")
        if now < not_before - LEEWAY:
            raise AuthenticationFailed("the id token is not valid yet")
        if str(claims["tid"]).lower() != self.config.tenant_id.lower():
            raise AuthenticationFailed("the id token is of another tenant (tid)")
        if nonce is not None and claims.get("nonce") != nonce:
            raise AuthenticationFailed("the id token's nonce is not this sign-in's")
        return VerifiedIdentity(
            tenant_id=str(claims["tid"]).lower(),
            object_id=str(claims["oid"]).lower(),
            username=str(claims.get("preferred_username") or ""),
            display_name=str(claims.get("name") or ""),
        )

    # --- the device code flow ----------------------------------------------------------------
    def start_device(self) -> dict[str, Any]:
        flow: dict[str, Any] = self._application().initiate_device_flow(scopes=SCOPES)
        if "user_code" not in flow:
            raise AuthenticationFailed(
                "Microsoft refused the device sign-in: "
                + _first_line(str(flow.get("error_description") or flow.get("error")))
            )
        return flow

    def finish_device(self, flow: dict[str, Any]) -> str:
        try:
            result = self._application().acquire_token_by_device_flow(flow)
        except OSError as exc:
            raise ConnectorError(
                f"Microsoft sign-in: polling failed ({type(exc).__name__})"
            ) from None
        if not isinstance(result, dict) or "id_token" not in result:
            text = (
                result.get("error_description") or result.get("error")
                if isinstance(result, dict)
                else ""
            )
            raise AuthenticationFailed(f"Microsoft refused the sign-in: {_first_line(str(text))}")
        return str(result["id_token"])

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
        if self._ca_file is not None:
            self._ca_file.unlink(missing_ok=True)
            self._ca_file = None


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else "no reason given"


def tenant_reader(config: ProviderConfig) -> Any:
    """A Graph connector on the MSP's tenant, as the app of ``config`` (its client secret):
    the people capability (search, read, members) for the import of operators. Graph is
    ``https://graph.microsoft.com`` with Microsoft's authority, else the authority's own host
    (the Graph simulator serves both)."""
    from credsync.connectors.base import DirectoryConfig
    from credsync.connectors.graph.connector import GraphConnector
    from credsync.connectors.graph.kind import DEFAULT_AUTHORITY, DEFAULT_GRAPH_URL, KIND

    if config.client_secret is None:
        raise AuthenticationFailed("reading the tenant needs the app's client secret")
    authority = config.authority.rstrip("/")
    url = DEFAULT_GRAPH_URL if authority == DEFAULT_AUTHORITY else authority
    return GraphConnector(
        DirectoryConfig(
            kind=KIND.name,
            name="the MSP tenant",
            url=url,
            bind_username=config.client_id,
            bind_password=config.client_secret,
            ca_pem=config.ca_pem,
            timeout=config.timeout,
            options={"tenant_id": config.tenant_id, "authority": authority, "credential": "secret"},
        )
    )
