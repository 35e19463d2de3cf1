"""Headers of transport and caching (issue 13, finding 10): Strict-Transport-Security when
the server speaks TLS itself, never over plain HTTP; ``Cache-Control: no-store`` on every
answer that carries a secret (revealed passwords and notes, earlier passwords, generated
passwords, a new API token, an export, the dashboard's reveal page), and on every other API
answer that sets no caching of its own."""

from __future__ import annotations

from fastapi.testclient import TestClient

from credsync.server.app import create_app
from credsync.server.middleware import HSTS
from vault.helpers import ADMIN_PASSWORD

from .conftest import ApiWorld

V1 = "/api/v1"


def _client(api: ApiWorld, *, tls: bool) -> TestClient:
    app = create_app(api.state, tls=tls)
    client = TestClient(app, base_url="https://testserver" if tls else "http://testserver")
    client.headers["Authorization"] = f"Bearer {api.tokens['admin']}"
    return client


def test_hsts_only_when_the_server_speaks_tls(api: ApiWorld) -> None:
    over_tls = _client(api, tls=True)
    for path in (f"{V1}/auth/whoami", f"{V1}/clients", "/sign-in", f"{V1}/openapi.json"):
        assert over_tls.get(path).headers["strict-transport-security"] == HSTS, path
    assert over_tls.get(f"{V1}/nope").headers["strict-transport-security"] == HSTS  # errors too
    plain = _client(api, tls=False)
    for path in (f"{V1}/auth/whoami", "/sign-in"):
        assert "strict-transport-security" not in plain.get(path).headers, path


def test_every_answer_with_a_secret_is_no_store(api: ApiWorld) -> None:
    http = api.admin
    assert http.post(f"{V1}/clients", json={"name": "Contoso"}).status_code == 201
    cred = http.post(
        f"{V1}/clients/Contoso/credentials",
        json={"title": "DC admin", "password": "Pa55-word-1!", "notes": "rack 4"},
    ).json()
    answers = {
        "reveal": http.post(f"{V1}/credentials/{cred['id']}/reveal"),
        "history reveal": http.post(f"{V1}/credentials/{cred['id']}/history/reveal"),
        "generate": http.post(f"{V1}/policies/default/generate", json={"count": 2}),
        "token": http.post(f"{V1}/tokens", json={"name": "headers"}),
        "export": http.post(f"{V1}/clients/Contoso/export"),
        "sign-in": api.http.post(
            f"{V1}/auth/login", json={"name": api.world.admin.name, "password": ADMIN_PASSWORD}
        ),
        "a credential": http.get(f"{V1}/credentials/{cred['id']}"),
        "an error": http.get(f"{V1}/credentials/00000000"),
    }
    for what, answer in answers.items():
        assert answer.status_code < 500, (what, answer.text)
        assert answer.headers["cache-control"] == "no-store", what
    assert "Pa55-word-1!" in answers["reveal"].text


def test_the_dashboard_reveal_page_is_no_store(api: ApiWorld) -> None:
    http = api.admin
    http.post(f"{V1}/clients", json={"name": "Contoso"})
    cred = http.post(
        f"{V1}/clients/Contoso/credentials", json={"title": "DC admin", "password": "Pa55-word-1!"}
    ).json()
    browser = TestClient(api.http.app, follow_redirects=False)
    signed_in = browser.post(
        f"{V1}/auth/login", json={"name": api.world.admin.name, "password": ADMIN_PASSWORD}
    )
    csrf = signed_in.json()["csrf_token"]
    posted = browser.post(f"/credentials/{cred['id']}/reveal", data={"csrf_token": csrf})
    assert posted.status_code == 303, posted.text  # post-redirect-get
    assert posted.headers["cache-control"] == "no-store"
    page = browser.get(posted.headers["location"])
    assert page.status_code == 200, page.text
    assert "Pa55-word-1!" in page.text
    assert page.headers["cache-control"] == "no-store"
