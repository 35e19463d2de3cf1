"""The API in-process: a vault (SQLite, or both backends where a test asks), the app over it,
and clients signed in with a bearer token per role or with a browser session."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from credsync.api.state import ServerState
from credsync.storage import Database
from credsync.types import Secret
from credsync.vault import KeyRing, Vault
from credsync.vault.keyring import derive_and_check
from vault.helpers import PASSPHRASE, VaultWorld, make_world

from .shared import shared_app

ROLES = ("admin", "technician", "directory_manager", "auditor", "viewer")


@dataclass
class ApiWorld:
    world: VaultWorld
    state: ServerState
    http: TestClient  # no credentials
    # role -> bearer token of an operator with that role; out of the repr (pytest prints a
    # failing test's arguments)
    tokens: dict[str, str] = field(repr=False)

    def as_role(self, role: str) -> TestClient:
        client = TestClient(self.http.app, raise_server_exceptions=False)
        client.headers["Authorization"] = f"Bearer {self.tokens[role]}"
        return client

    @property
    def admin(self) -> TestClient:
        return self.as_role("admin")


def _tokens(world: VaultWorld) -> dict[str, str]:
    """An operator per role (admin: alice) and a bearer token for each."""
    tokens: dict[str, str] = {}
    for role in ROLES:
        actor = world.admin if role == "admin" else world.operator(f"op-{role}", role)
        _, secret = world.vault.access.create_token(actor, f"api-{role}")
        tokens[role] = secret.reveal()
    return tokens


def build_api_world(world: VaultWorld, tokens: dict[str, str] | None = None) -> ApiWorld:
    state = ServerState(world.vault, world.keys)
    app = shared_app(state)
    tokens = tokens if tokens is not None else _tokens(world)
    return ApiWorld(world, state, TestClient(app, raise_server_exceptions=False), tokens)


@pytest.fixture(scope="session")
def api_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """A SQLite vault with the role operators and their tokens, made once (operator
    passwords cost an Argon2id hash each) and copied for every test."""
    path = tmp_path_factory.mktemp("api-template") / "vault.db"
    world = make_world(f"sqlite:///{path}")
    try:
        tokens = _tokens(world)
    finally:
        world.db.dispose()
    return path, tokens


@pytest.fixture
def api(tmp_path: Path, api_template: tuple[Path, dict[str, str]]) -> Iterator[ApiWorld]:
    template, tokens = api_template
    path = tmp_path / "vault.db"
    shutil.copyfile(template, path)
    db = Database(f"sqlite:///{path}")
    vault = Vault.open(db)
    keys = KeyRing(lambda: derive_and_check(db, Secret(PASSPHRASE)))
    admin = vault.access.login_token(Secret(tokens["admin"]))
    try:
        yield build_api_world(VaultWorld(db, vault, admin, keys, db.url), tokens)
    finally:
        db.dispose()


@pytest.fixture
def api_both(world: VaultWorld) -> ApiWorld:
    """The same on SQLite and on PostgreSQL (operators made anew: slower)."""
    return build_api_world(world)


def assert_error(response, status: int, code: str) -> dict:
    """The one error shape: {"error": {"status", "code", "message"}}."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}, body
    error = body["error"]
    assert error["status"] == status
    assert error["code"] == code, error
    assert isinstance(error["message"], str)
    assert error["message"]
    return error
