"""Fakes for the Graph connector's unit tests: an identity platform for msal (a stand-in for
its requests session) and a scripted Graph behind httpx.MockTransport.

These exist for behaviour a faithful simulator never shows on purpose (exact batch
compositions, a 401 to a fresh token, answers in a given order); everything else is tested
against the simulator.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from credsync.connectors.base import DirectoryConfig
from credsync.connectors.graph import GraphConnector
from credsync.types import Secret

AUTHORITY = "https://login.test"
GRAPH = "https://graph.test"
TENANT = "11111111-2222-3333-4444-555555555555"
ALL_ROLES = ("User.ReadWrite.All", "User-PasswordProfile.ReadWrite.All")
PAA = "7be44c8a-adaf-4e2a-84d6-ab2649e08a13"


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


class _Answer:
    def __init__(self, status: int, body: dict[str, Any]) -> None:
        self.status_code = status
        self.text = json.dumps(body)
        self.headers: dict[str, str] = {}

    def raise_for_status(self) -> None:
        if self.status_code >= 400:
            raise RuntimeError(f"HTTP {self.status_code}")


@dataclass
class FakeIdentity:
    """What msal's http_client sees: OpenID configuration and a token endpoint."""

    roles: tuple[str, ...] = ALL_ROLES
    wids: tuple[str, ...] = (PAA,)
    refuse: str | None = None  # an AADSTS text to refuse every token with
    tokens: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def get(self, url: str, **_: Any) -> _Answer:
        base = f"{AUTHORITY}/{TENANT}"
        return _Answer(200, {
            "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
            "token_endpoint": f"{base}/oauth2/v2.0/token",
            "issuer": f"{base}/v2.0",
        })  # fmt: skip

    def post(self, url: str, **_: Any) -> _Answer:
        if self.refuse:
            return _Answer(401, {
                "error": "invalid_client",
                "error_description": f"{self.refuse}\r\nTrace ID: x\r\nCorrelation ID: y",
                "error_codes": [7000215],
            })  # fmt: skip
        with self.lock:
            self.tokens += 1
            number = self.tokens
        claims = {"roles": list(self.roles), "wids": list(self.wids), "n": number}
        token = f"{_b64({'alg': 'none'})}.{_b64(claims)}.sig"
        return _Answer(200, {"token_type": "Bearer", "expires_in": 3599, "access_token": token})

    def close(self) -> None:
        pass


Handler = Callable[[httpx.Request], httpx.Response]


def config(**options: str) -> DirectoryConfig:
    return DirectoryConfig(
        kind="entra",
        name="fake-365",
        url=GRAPH,
        bind_username="app-id",
        bind_password=Secret("fake-client-secret-value"),
        options={"tenant_id": TENANT, "authority": AUTHORITY, **options},
    )


def connector(handler: Handler, identity: FakeIdentity | None = None, **options: str
              ) -> GraphConnector:  # fmt: skip
    return GraphConnector(
        config(**options),
        transport=httpx.MockTransport(handler),
        session=identity or FakeIdentity(),
    )


def user_json(user_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": user_id,
        "userPrincipalName": f"{user_id[:8]}@contoso.test",
        "displayName": "A user",
        "accountEnabled": True,
        "lastPasswordChangeDateTime": "2026-11-22T07:41:03Z",
        "onPremisesSyncEnabled": None,
        "passwordPolicies": None,
        "passwordProfile": {"forceChangePasswordNextSignIn": False},
        "usageLocation": None,
        **extra,
    }


def error(status: int, code: str, message: str, retry_after: str | None = None
          ) -> httpx.Response:  # fmt: skip
    headers = {"Retry-After": retry_after} if retry_after is not None else {}
    return httpx.Response(status, json={"error": {"code": code, "message": message}},
                          headers=headers)  # fmt: skip
