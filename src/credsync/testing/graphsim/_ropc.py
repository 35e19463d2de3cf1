"""The resource owner password credentials grant (``grant_type=password``) at the v2.0 token
endpoint, as https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth-ropc has it:
``client_id``, ``scope``, ``username``, ``password`` (and ``client_secret`` for a confidential
client: checked when sent; without one the app is taken to allow public client flows).

The password is checked against the stored hash (never kept in the clear). In order:

- no user with that user principal name: ``invalid_grant`` AADSTS50034;
- the user's domain is federated: the doc says ROPC "isn't supported in hybrid identity
  federation scenarios" (Entra can't check the password at the identity provider) and gives no
  code; Entra's sign-in log calls such a failure "Invalid on-premise username or password",
  AADSTS50126 (MicrosoftDocs/azure-docs#55028), so that is the answer, whatever the password;
- the account is disabled: AADSTS50057 (before the password, as Entra answers it);
- a wrong password, or none set: AADSTS50126;
- the right password that must be changed (``forceChangePasswordNextSignIn``) or has expired
  (older than the domain's ``passwordValidityPeriodInDays`` without
  ``DisablePasswordExpiration``): AADSTS50055.

Success: ``token_type``, ``scope``, ``expires_in``, ``ext_expires_in``, an ``access_token`` for
Graph with the user's claims (``idtyp`` "user", ``scp``; the simulator's Graph serves app tokens
only and answers 401 to these), an ``id_token`` when ``openid`` was asked for, and an opaque
``refresh_token`` with ``offline_access`` (the simulator does not redeem it).

Before ROPC, msal asks ``GET /common/userrealm/{username}?api-version=1.0`` whether the account
is managed or federated (:func:`user_realm`; for a federated one it would go to the identity
provider's WS-Trust endpoint itself, which the simulator does not play). msal builds that URL
from the authority's host without its port, so msal cannot sign users in against the simulator:
``sign_in`` (``_signin``) posts the grant itself.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from jwt.utils import base64url_encode

from ._errors import AadError
from ._tenant import SimApp, SimTenant

__all__ = [
    "authenticate",
    "id_token_claims",
    "pairwise_sub",
    "password_grant",
    "user_realm",
    "user_tokens",
]

GRAPH = "https://graph.microsoft.com"
LIFETIME = 3599
NEVER = 2147483647  # passwordValidityPeriodInDays of a domain whose passwords never expire
_OIDC = ("openid", "profile", "email", "offline_access")
WRONG = "Error validating credentials due to invalid username or password."


def _missing(name: str) -> AadError:
    return AadError(
        400,
        "invalid_request",
        900144,
        f"The request body must contain the following parameter: '{name}'.",
    )


def _scopes(text: str) -> tuple[list[str], list[str]]:
    """(Graph scopes, OpenID Connect scopes) of a delegated request."""
    graph: list[str] = []
    oidc: list[str] = []
    for scope in text.split():
        if scope.lower() in _OIDC:
            oidc.append(scope.lower())
        elif scope.lower().startswith(GRAPH + "/"):
            graph.append(scope[len(GRAPH) + 1 :])
        elif "://" in scope:
            resource = scope.rsplit("/", 1)[0]
            raise AadError(
                400,
                "invalid_resource",
                500011,
                f"The resource principal named {resource} was not found in the tenant. This "
                "can happen if the application has not been installed by the administrator of "
                "the tenant or consented to by any user in the tenant.",
            )
        else:
            graph.append(scope)  # a bare scope names Graph's
    graph = [s for s in graph if s != ".default"] or ["User.Read"]
    return graph, oidc


def _expired(tenant: SimTenant, record: Mapping[str, Any], now: datetime) -> bool:
    if (record.get("passwordProfile") or {}).get("forceChangePasswordNextSignIn"):
        return True
    if "DisablePasswordExpiration" in (record.get("passwordPolicies") or ""):
        return False
    domain = record["userPrincipalName"].rsplit("@", 1)[-1].lower()
    days = next(
        (d["passwordValidityPeriodInDays"] for d in tenant.domains if d["id"].lower() == domain),
        NEVER,
    )
    changed = record.get("lastPasswordChangeDateTime")
    if days is None or days >= NEVER or not changed:
        return False
    when = datetime.fromisoformat(changed.replace("Z", "+00:00"))
    return now - when > timedelta(days=days)


def _refuse(number: int, text: str) -> AadError:
    return AadError(400, "invalid_grant", number, text)


def authenticate(tenant: SimTenant, username: str, password: str) -> dict[str, Any]:
    """The user record of ``username`` signing in with ``password`` (the checks above, in
    order), or :class:`AadError` ``invalid_grant`` with the AADSTS code Entra gives."""
    now = tenant.clock.now()
    with tenant.store.lock:
        record = tenant.store.user(username) if "@" in username else None
        if record is None:
            raise _refuse(
                50034,
                f"The user account {{EUII Hidden}} does not exist in the {tenant.id} directory. "
                "To sign into this application, the account must be added to the directory.",
            )
        if tenant.federated(record["userPrincipalName"]):
            raise _refuse(50126, WRONG)
        if record.get("accountEnabled") is False:
            raise _refuse(50057, "The user account is disabled.")
        if not tenant.check_password(record["id"], password):
            raise _refuse(50126, WRONG)
        if _expired(tenant, record, now):
            raise _refuse(50055, "The password is expired.")
        return dict(record)


def id_token_claims(
    tenant: SimTenant, app: SimApp, user: Mapping[str, Any], issuer_base: str, now: int
) -> dict[str, Any]:
    """An id token's claims (v2.0) for ``user`` signed in to ``app``, as
    https://learn.microsoft.com/en-us/entra/identity-platform/id-token-claims-reference lists
    them: ``sub`` is pairwise (per app), ``oid`` the user's object id, ``tid`` the tenant."""
    return {
        "aud": app.client_id,
        "iss": f"{issuer_base}/{tenant.id}/v2.0",
        "iat": now,
        "nbf": now,
        "exp": now + LIFETIME,
        "name": user.get("displayName"),
        "oid": user["id"],
        "preferred_username": user["userPrincipalName"],
        "sub": pairwise_sub(app, user["id"]),
        "tid": tenant.id,
        "ver": "2.0",
    }


def pairwise_sub(app: SimApp, user_id: str) -> str:
    return base64url_encode(uuid.uuid5(uuid.UUID(app.client_id), user_id).bytes).decode()


def password_grant(
    tenant: SimTenant,
    app: SimApp,
    form: Mapping[str, str],
    *,
    sign: Callable[[dict[str, Any]], str],
    issuer_base: str,
) -> dict[str, Any]:
    """Answer a ROPC request of ``app`` (already known, its secret checked if sent)."""
    for name in ("scope", "username", "password"):
        if not form.get(name):
            raise _missing(name)
    _scopes(form["scope"])  # a bad scope is refused before the password is checked
    user = authenticate(tenant, form["username"], form["password"])
    return user_tokens(tenant, app, user, form["scope"], sign=sign, issuer_base=issuer_base)


def user_tokens(
    tenant: SimTenant,
    app: SimApp,
    user: Mapping[str, Any],
    scope: str,
    *,
    sign: Callable[[dict[str, Any]], str],
    issuer_base: str,
    nonce: str | None = None,
) -> dict[str, Any]:
    """The token endpoint's answer for ``user`` signed in to ``app`` (any delegated grant):
    an access token for Graph, an id token when ``openid`` was asked (with ``nonce`` when
    the authorize request carried one), a refresh token with ``offline_access``."""
    graph_scopes, oidc = _scopes(scope)
    now = tenant.clock.now()
    tenant.stats_add("tokens")
    stamp = int(now.timestamp())
    common = {"iat": stamp, "nbf": stamp, "exp": stamp + LIFETIME, "tid": tenant.id}
    access = {
        **common,
        "aud": GRAPH,
        "iss": f"https://sts.windows.net/{tenant.id}/",
        "appid": app.client_id,
        "app_displayname": app.display_name,
        "idtyp": "user",
        "name": user.get("displayName"),
        "oid": user["id"],
        "scp": " ".join(graph_scopes),
        "sub": pairwise_sub(app, user["id"]),
        "unique_name": user["userPrincipalName"],
        "upn": user["userPrincipalName"],
        "ver": "1.0",
    }
    answer: dict[str, Any] = {
        "token_type": "Bearer",
        "scope": " ".join(graph_scopes + [s for s in oidc if s != "offline_access"]),
        "expires_in": LIFETIME,
        "ext_expires_in": LIFETIME,
        "access_token": sign(access),
    }
    if "openid" in oidc:
        claims = id_token_claims(tenant, app, user, issuer_base, stamp)
        if nonce is not None:
            claims["nonce"] = nonce
        answer["id_token"] = sign(claims)
    if "offline_access" in oidc:
        answer["refresh_token"] = secrets.token_urlsafe(48)
    return answer


def user_realm(tenant: SimTenant | None, username: str) -> dict[str, Any]:
    """The home realm discovery answer msal reads (``account_type`` Managed, Federated or
    Unknown, and for a federated domain its WS-Trust endpoints)."""
    domain = username.rsplit("@", 1)[-1].lower()
    if tenant is None or domain not in tenant.domain_names():
        return {
            "ver": "1.0",
            "account_type": "Unknown",
            "cloud_instance_name": "microsoftonline.com",
        }
    answer: dict[str, Any] = {
        "ver": "1.0",
        "account_type": "Managed",
        "domain_name": domain,
        "cloud_instance_name": "microsoftonline.com",
        "cloud_audience_urn": "urn:federation:MicrosoftOnline",
    }
    federation = tenant.federation.get(domain)
    if federation is not None:
        answer.update(
            account_type="Federated",
            federation_protocol="WSTrust",
            federation_metadata_url=federation["metadataExchangeUri"],
            federation_active_auth_url=federation["activeSignInUri"],
        )
    return answer
