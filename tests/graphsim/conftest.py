"""One Graph simulator for the whole graphsim test session; each test makes its own tenant."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from credsync.testing.graphsim import GraphSimulator, SimApp, SimTenant, simulator_fixture

sim = simulator_fixture(scope="session", seed=7, name="sim")

SCOPE = "https://graph.microsoft.com/.default"


class Graph:
    """A bare Graph client for one app of one tenant (tokens by client secret)."""

    def __init__(self, http: httpx.Client, sim: GraphSimulator, tenant: SimTenant, app: SimApp):
        self.http, self.sim, self.tenant, self.app = http, sim, tenant, app
        self._token: str | None = None

    def token(self) -> str:
        if self._token is None:
            answer = self.http.post(
                f"{self.sim.authority_url(self.tenant)}/oauth2/v2.0/token",
                data={
                    "client_id": self.app.client_id,
                    "client_secret": self.app.client_secret,
                    "grant_type": "client_credentials",
                    "scope": SCOPE,
                },
            )
            assert answer.status_code == 200, answer.text
            self._token = answer.json()["access_token"]
        return self._token

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.token()}", **kwargs.pop("headers", {})}
        url = path if path.startswith("https://") else f"{self.sim.graph_url}/v1.0{path}"
        return self.http.request(method, url, headers=headers, **kwargs)

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, json: Any = None, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, json=json, **kwargs)

    def patch(self, path: str, json: Any = None, **kwargs: Any) -> httpx.Response:
        return self.request("PATCH", path, json=json, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("DELETE", path, **kwargs)

    def all(self, path: str, **kwargs: Any) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """Every item of a paged collection, and the last page."""
        items: list[dict[str, Any]] = []
        page: dict[str, Any] = {}
        url: str | None = path
        while url:
            answer = self.get(url, **kwargs)
            assert answer.status_code == 200, answer.text
            page = answer.json()
            items += page["value"]
            url = page.get("@odata.nextLink")
        return items, page


@pytest.fixture(scope="session")
def http(sim: GraphSimulator) -> Iterator[httpx.Client]:
    with httpx.Client(verify=ssl.create_default_context(cafile=str(sim.ca_file))) as client:
        yield client


@pytest.fixture
def tenant(sim: GraphSimulator) -> SimTenant:
    return sim.add_tenant(users=30, groups=3)


@pytest.fixture
def graph(http: httpx.Client, sim: GraphSimulator, tenant: SimTenant) -> Graph:
    return Graph(http, sim, tenant, tenant.default_app)


def client_for(http: httpx.Client, sim: GraphSimulator, tenant: SimTenant, app: SimApp) -> Graph:
    return Graph(http, sim, tenant, app)


def error_of(answer: httpx.Response) -> dict[str, Any]:
    """Graph's error object, after checking its shape."""
    body = answer.json()
    assert set(body) == {"error"}, body
    error = body["error"]
    assert set(error) == {"code", "message", "innerError"}
    assert set(error["innerError"]) == {"date", "request-id", "client-request-id"}
    assert error["innerError"]["date"].endswith("Z")
    return dict(error)
