"""The identity platform's side: OIDC discovery, the v2.0 token endpoint (client credentials by
secret or by certificate assertion; the password grant is ``_ropc``'s, the authorization code
and device code grants ``_interactive``'s), and Graph's validation of
the access tokens it issued (app tokens only).

Access tokens are real JWTs (RS256, the simulator's key, ``kid`` in the header, keys served at
``/{tenant}/discovery/v2.0/keys``) with Entra's app-token claims: aud, iss, tid, appid, azp, oid
(the service principal), idtyp "app", roles (application permissions), wids (directory role
template ids), iat, nbf, exp (now + 3599 on the simulator's clock).

PyJWT signs and parses the tokens and checks signatures (RS256, and PS256 for msal's client
assertions); the claims are checked here, against the simulator's clock for access tokens and
the real one for assertions (which clients sign with their own).
"""

from __future__ import annotations

import hmac
import time
import uuid
from collections.abc import Callable, Collection, Mapping
from datetime import UTC, datetime
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from jwt.utils import base64url_decode, base64url_encode

from ._clock import SimClock
from ._errors import AadError, GraphError
from ._interactive import DEVICE_GRANT, Interactive
from ._permissions import ROLE_TEMPLATE_IDS
from ._realm import Federation
from ._ropc import password_grant
from ._tenant import SimApp, SimTenant

__all__ = ["GRAPH_AUDIENCE", "GRAPH_SCOPE", "Authority", "aad_time"]

GRAPH_AUDIENCE = "https://graph.microsoft.com"
GRAPH_SCOPE = "https://graph.microsoft.com/.default"
TOKEN_LIFETIME = 3599
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASSERTION_ALGORITHMS = ["RS256", "PS256"]
AUTH_CODE = "authorization_code"
_GRANTS = ("client_credentials", "password", AUTH_CODE, DEVICE_GRANT)


def _verified(token: str, key: Any, algorithms: list[str]) -> dict[str, Any]:
    """The claims of ``token`` once its signature checks out (the claims are checked by the
    caller, on the clock it goes by); raises :class:`jwt.PyJWTError`."""
    claims: dict[str, Any] = jwt.decode(
        token,
        key,
        algorithms=algorithms,
        options={
            "verify_signature": True,
            "verify_exp": False,
            "verify_nbf": False,
            "verify_iat": False,
            "verify_aud": False,
            "verify_iss": False,
            "verify_sub": False,
            "verify_jti": False,
        },
    )
    return claims


def aad_time(clock: SimClock) -> str:
    return clock.now().strftime("%Y-%m-%d %H:%M:%SZ")


def _invalid_token(message: str) -> GraphError:
    return GraphError(
        401,
        "InvalidAuthenticationToken",
        message,
        {"WWW-Authenticate": 'Bearer realm="", authorization_uri="", client_id=""'},
    )


class Authority:
    def __init__(self, clock: SimClock, find_tenant: Callable[[str], SimTenant | None]) -> None:
        self.clock = clock
        self.find_tenant = find_tenant
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = uuid.uuid4().hex[:27]
        self.issuer_base = "https://login.microsoftonline.com"
        self.interactive = Interactive(clock.timestamp)
        self.federation = Federation(clock.timestamp)  # federated sign-in (_realm)

    # --- discovery -------------------------------------------------------------------------
    def openid_configuration(self, base: str, tenant_ref: str) -> dict[str, Any]:
        tenant = self._tenant(tenant_ref)
        tid = tenant.id
        return {
            "token_endpoint": f"{base}/{tid}/oauth2/v2.0/token",
            "token_endpoint_auth_methods_supported": [
                "client_secret_post",
                "private_key_jwt",
                "client_secret_basic",
            ],
            "jwks_uri": f"{base}/{tid}/discovery/v2.0/keys",
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "issuer": f"{base}/{tid}/v2.0",
            "request_uri_parameter_supported": False,
            "userinfo_endpoint": f"{base}/oidc/userinfo",
            "authorization_endpoint": f"{base}/{tid}/oauth2/v2.0/authorize",
            "device_authorization_endpoint": f"{base}/{tid}/oauth2/v2.0/devicecode",
            "http_logout_supported": True,
            "frontchannel_logout_supported": True,
            "end_session_endpoint": f"{base}/{tid}/oauth2/v2.0/logout",
            "claims_supported": ["sub", "iss", "aud", "exp", "iat", "nbf", "tid", "oid"],
            "kerberos_endpoint": f"{base}/{tid}/kerberos",
            "tenant_region_scope": "EU",
            "cloud_instance_name": "microsoftonline.com",
            "cloud_graph_host_name": "graph.windows.net",
            "msgraph_host": base.split("://", 1)[-1],
            "rbac_url": "https://pas.windows.net",
        }

    def jwks(self) -> dict[str, Any]:
        key = RSAAlgorithm.to_jwk(self._key.public_key(), as_dict=True)
        return {
            "keys": [{"kty": "RSA", "use": "sig", "kid": self.kid, "n": key["n"], "e": key["e"]}]
        }

    def tenant(self, tenant_ref: str) -> SimTenant:
        """The tenant of an id or domain, or AadError AADSTS90002."""
        return self._tenant(tenant_ref)

    def _tenant(self, tenant_ref: str) -> SimTenant:
        tenant = self.find_tenant(tenant_ref)
        if tenant is None:
            raise AadError(
                400,
                "invalid_request",
                90002,
                f"Tenant '{tenant_ref}' not found. Check to make sure you have the correct tenant "
                "ID and are signing into the correct cloud. Check with your subscription "
                "administrator, this may happen if there are no active subscriptions for the "
                "tenant.",
            )
        return tenant

    # --- the token endpoint ----------------------------------------------------------------
    def token(
        self,
        tenant_ref: str,
        form: Mapping[str, str],
        endpoints: Collection[str],
        basic: tuple[str, str] | None,
        base: str = "",
    ) -> dict[str, Any]:
        """Answer a client-credentials or password (ROPC, see ``_ropc``) request, or raise
        :class:`AadError`. ``endpoints``: the token endpoint's URLs (by tenant id and as asked),
        what an assertion's aud must name; ``base``: the server's URL (id tokens' issuer)."""
        tenant = self._tenant(tenant_ref)
        client_id = form.get("client_id") or (basic[0] if basic else "")
        grant = form.get("grant_type")
        if not grant:
            raise AadError(
                400,
                "invalid_request",
                900144,
                "The request body must contain the following parameter: 'grant_type'.",
            )
        if grant not in _GRANTS:
            raise AadError(
                400,
                "unsupported_grant_type",
                70003,
                f"The app requested an unsupported grant type '{grant}'. This simulator "
                "answers client_credentials, password, authorization_code and device_code.",
            )
        if not client_id:
            raise AadError(
                400,
                "invalid_request",
                900144,
                "The request body must contain the following parameter: 'client_id'.",
            )
        app = tenant.apps.get(client_id.lower())
        if app is None:
            raise AadError(
                400,
                "unauthorized_client",
                700016,
                f"Application with identifier '{client_id}' was not found in the directory "
                f"'{tenant.name}'. This can happen if the application has not been installed by "
                "the administrator of the tenant or consented to by any user in the tenant. You "
                "may have sent your authentication request to the wrong tenant.",
            )
        secret = form.get("client_secret") or (basic[1] if basic else None)
        issuer = base or self.issuer_base
        if grant in (AUTH_CODE, DEVICE_GRANT):
            confidential = self._client_auth(app, form, secret, endpoints)
            if grant == DEVICE_GRANT:
                return self.interactive.redeem_device(
                    tenant, app, form, sign=self._sign, issuer_base=issuer
                )
            return self.interactive.redeem_code(
                tenant, app, form, confidential=confidential, sign=self._sign, issuer_base=issuer
            )
        if grant == "password":
            if secret is not None:
                self._check_secret(app, secret)
            return password_grant(
                tenant, app, form, sign=self._sign, issuer_base=base or self.issuer_base
            )
        self._check_scope(form.get("scope", ""))
        assertion = form.get("client_assertion")
        if assertion:
            if form.get("client_assertion_type") != ASSERTION_TYPE:
                raise AadError(
                    400,
                    "invalid_request",
                    50027,
                    f"Invalid client_assertion_type: expected '{ASSERTION_TYPE}'.",
                )
            self._check_assertion(app, assertion, endpoints)
        elif secret is not None:
            self._check_secret(app, secret)
        else:
            raise AadError(
                401,
                "invalid_client",
                7000218,
                "The request body must contain the following parameter: 'client_assertion' or "
                "'client_secret'.",
            )
        tenant.stats_add("tokens")
        return {
            "token_type": "Bearer",
            "expires_in": TOKEN_LIFETIME,
            "ext_expires_in": TOKEN_LIFETIME,
            "access_token": self.issue(tenant, app),
        }

    def _client_auth(
        self, app: SimApp, form: Mapping[str, str], secret: str | None, endpoints: Collection[str]
    ) -> bool:
        """For a delegated grant: True when the client proved who it is (a confidential
        client: a right secret or assertion), False for a public client (neither sent)."""
        assertion = form.get("client_assertion")
        if assertion:
            self._check_assertion(app, assertion, endpoints)
            return True
        if secret is not None:
            self._check_secret(app, secret)
            return True
        return False

    @staticmethod
    def _check_secret(app: SimApp, secret: str) -> None:
        if not hmac.compare_digest(secret.encode(), app.client_secret.encode()):
            raise AadError(
                401,
                "invalid_client",
                7000215,
                "Invalid client secret provided. Ensure the secret being sent in the request "
                "is the client secret value, not the client secret ID, for a secret added to "
                f"app '{app.client_id}'.",
            )

    def _sign(self, claims: dict[str, Any]) -> str:
        return jwt.encode(claims, self._key, algorithm="RS256", headers={"kid": self.kid})

    @staticmethod
    def _check_scope(scope: str) -> None:
        scopes = scope.split()
        if scopes == [GRAPH_SCOPE] or scopes == [GRAPH_AUDIENCE + "//.default"]:
            return
        if len(scopes) == 1 and scopes[0].endswith("/.default"):
            resource = scopes[0][: -len("/.default")]
            raise AadError(
                400,
                "invalid_resource",
                500011,
                f"The resource principal named {resource} was not found in the tenant. This can "
                "happen if the application has not been installed by the administrator of the "
                "tenant or consented to by any user in the tenant.",
            )
        raise AadError(
            400,
            "invalid_scope",
            1002012,
            f"The provided value for scope {scope or '(none)'} is not valid. Client credential "
            "flows must have a scope value with /.default suffixed to the resource identifier "
            "(application ID URI).",
        )

    def _check_assertion(self, app: SimApp, assertion: str, endpoints: Collection[str]) -> None:
        def refuse(number: int, text: str) -> AadError:
            return AadError(401, "invalid_client", number, text)

        try:
            header = jwt.decode_complete(assertion, options={"verify_signature": False})["header"]
        except jwt.PyJWTError:
            raise refuse(50027, "JWT token is invalid or malformed (client_assertion).") from None
        if "x5t#S256" in header:
            presented, registered = header["x5t#S256"], app.thumbprint_sha256
        elif "x5t" in header:
            presented, registered = header["x5t"], app.thumbprint_sha1
        else:
            raise refuse(700027, "Client assertion contains no certificate thumbprint (x5t).")
        try:
            known = base64url_decode(str(presented)) == bytes.fromhex(registered)
        except ValueError:
            known = False
        if not known:
            raise refuse(
                700027,
                f"The certificate with identifier used to sign the client assertion is not "
                f"registered on application. [Reason - The key was not found., Thumbprint of key "
                f"used by client: '{presented}', Please visit the Azure Portal, Graph Explorer "
                f"or directly use MS Graph to see configured keys for app Id "
                f"'{app.client_id}'.]",
            )
        try:
            claims = _verified(assertion, app.certificate.public_key(), ASSERTION_ALGORITHMS)
        except jwt.PyJWTError:
            raise refuse(700027, "Client assertion failed signature validation.") from None
        if claims.get("iss") != app.client_id or claims.get("sub") != app.client_id:
            raise refuse(
                700021,
                "Client assertion application identifier doesn't match 'client_id' parameter.",
            )
        audience = claims.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        if not any(a in endpoints for a in audiences):
            raise refuse(
                700027,
                f"Client assertion contains an invalid audience: '{audience}'; it must be the "
                "token endpoint's URL.",
            )
        now = time.time()  # the client signs with its own (real) clock
        try:
            expires = float(claims["exp"])
            not_before = float(claims.get("nbf", claims.get("iat", 0)))
        except (KeyError, TypeError, ValueError):
            raise refuse(700024, "Client assertion has no valid 'exp' claim.") from None
        if not not_before - 300 <= now <= expires + 300:
            raise refuse(
                700024,
                "Client assertion is not within its valid time range. Current time: "
                f"{_fmt(now)}, assertion valid from {_fmt(not_before)}, expiry time of assertion "
                f"{_fmt(expires)}.",
            )
        # A jti seen before is accepted: msal reuses one assertion for up to 9 minutes.

    def issue(self, tenant: SimTenant, app: SimApp) -> str:
        now = int(self.clock.timestamp())
        claims: dict[str, Any] = {
            "aud": GRAPH_AUDIENCE,
            "iss": f"https://sts.windows.net/{tenant.id}/",
            "iat": now,
            "nbf": now,
            "exp": now + TOKEN_LIFETIME,
            "aio": uuid.uuid4().hex,
            "app_displayname": app.display_name,
            "appid": app.client_id,
            "appidacr": "1",
            "azp": app.client_id,
            "idp": f"https://sts.windows.net/{tenant.id}/",
            "idtyp": "app",
            "oid": app.service_principal_id,
            "rh": "0.sim",
            "roles": list(app.permissions),
            "sub": app.service_principal_id,
            "tenant_region_scope": "EU",
            "tid": tenant.id,
            "uti": base64url_encode(uuid.uuid4().bytes).decode(),
            "ver": "1.0",
            "wids": [ROLE_TEMPLATE_IDS[app.directory_role]] if app.directory_role else [],
            "xms_tcdt": 1600000000,
        }
        return self._sign(claims)

    # --- Graph's side ----------------------------------------------------------------------
    def validate(self, authorization: str | None) -> tuple[SimTenant, SimApp, dict[str, Any]]:
        """The tenant, app and claims of a request's bearer token, or a 401 GraphError."""
        if not authorization or not authorization.strip():
            raise _invalid_token("Access token is empty.")
        scheme, _, token = authorization.strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise _invalid_token("Access token is empty.")
        try:
            if jwt.get_unverified_header(token.strip()).get("kid") != self.kid:
                raise jwt.InvalidKeyError("not a key of this simulator")
            claims = _verified(token.strip(), self._key.public_key(), ["RS256"])
        except jwt.PyJWTError:
            raise _invalid_token("IDX14100: JWT is not well formed, validation failure.") from None
        if claims.get("aud") != GRAPH_AUDIENCE:
            raise _invalid_token("Invalid audience.")
        if claims.get("idtyp") == "user":  # from the password grant: delegated access
            raise _invalid_token("This simulator's Graph accepts application tokens only.")
        now = self.clock.timestamp()
        if not float(claims.get("nbf", 0)) - 300 <= now < float(claims.get("exp", 0)):
            raise _invalid_token("Access token has expired or is not yet valid.")
        tenant = self.find_tenant(str(claims.get("tid")))
        app = tenant.apps.get(str(claims.get("appid"))) if tenant else None
        if tenant is None or app is None:
            raise _invalid_token("Access token validation failure. Invalid tenant or app.")
        return tenant, app, claims


def _fmt(stamp: float) -> str:
    return datetime.fromtimestamp(stamp, UTC).strftime("%m/%d/%Y %H:%M:%S")
