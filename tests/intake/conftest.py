"""Fixtures of the capture-intake tests: a vault on SQLite whose client's directory is this
test's own OU of the real Samba AD DC, the API over it (an admin's bearer token), and the
directory's capture key and an enrolled forwarder made through that API."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from api.shared import shared_app
from credsync.api.state import ServerState
from credsync.testing.samba import OuWorld
from sync.helpers import SyncWorld, build_sync_world
from vault.helpers import VaultWorld

from .helpers import TestForwarder


@dataclass
class CaptureWorld:
    sw: SyncWorld
    http: TestClient  # as the admin
    anonymous: TestClient
    fingerprint: str
    public_key: str

    def enroll(self, directory: str | None = None, name: str = "dc1") -> TestForwarder:
        answer = self.http.post(
            f"/api/v1/directories/{directory or self.sw.directory}/capture/forwarders",
            json={"name": name},
        )
        assert answer.status_code == 201, answer.text
        data = answer.json()
        return TestForwarder(self.anonymous, data["forwarder_id"], data["token"])


def build_capture_world(world: VaultWorld, ad: OuWorld) -> CaptureWorld:
    sw = build_sync_world(world, ad)
    app = shared_app(ServerState(world.vault, world.keys))
    _, token = world.vault.access.create_token(world.admin, "capture-tests")
    http = TestClient(app, raise_server_exceptions=False)
    http.headers["Authorization"] = f"Bearer {token.reveal()}"
    key = http.get(f"/api/v1/directories/{sw.directory}/capture/key")
    assert key.status_code == 200, key.text
    return CaptureWorld(
        sw,
        http,
        TestClient(app, raise_server_exceptions=False),
        key.json()["fingerprint"],
        key.json()["public_key"],
    )


@pytest.fixture
def cw(sqlite_world: VaultWorld, ad_ou: OuWorld) -> CaptureWorld:
    return build_capture_world(sqlite_world, ad_ou)


@pytest.fixture
def cw_both(world: VaultWorld, ad_ou: OuWorld) -> CaptureWorld:
    """The same on SQLite and on PostgreSQL."""
    return build_capture_world(world, ad_ou)
