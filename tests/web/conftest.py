"""The web dashboard under test: in-process (TestClient) over a copied template vault, and
for the browser tests the real app served by uvicorn on 127.0.0.1 (with the agent, as
``credsync serve`` runs it) over an Entra directory of the Graph simulator, driven by
Debian's Chromium through Playwright."""

from __future__ import annotations

import asyncio
import contextlib
import html as html_lib
import re
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient

from credsync.api.state import LoginLimiter, ServerState
from credsync.server.app import create_app
from credsync.storage import Database
from credsync.types import CredentialType, Secret, SyncMode
from credsync.vault import KeyRing, Vault
from credsync.vault.drafts import make_draft
from credsync.vault.keyring import derive_and_check
from vault.helpers import ADMIN_PASSWORD, PASSPHRASE, VaultWorld, make_world

ROLES = ("admin", "technician", "directory_manager", "auditor", "viewer")
SECRET = "Contoso-Initial-Pa55!"
ARTIFACTS = Path(__file__).parent / "artifacts"


def operator_name(role: str) -> str:
    return "alice" if role == "admin" else f"op-{role}"


def operator_password(role: str) -> str:
    return ADMIN_PASSWORD if role == "admin" else f"op-{role}-password-1234"


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


def page_text(page: str) -> str:
    """A page's text: its tags gone, its spaces collapsed, its entities unescaped."""
    return html_lib.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


@dataclass
class WebWorld:
    world: VaultWorld
    state: ServerState
    app: FastAPI
    # "client", "credential", "bind" (a directory_admin credential), "operator" (op-technician),
    # "token" (alice's API token)
    ids: dict[str, str]
    sessions: dict[str, tuple[str, str]]  # role -> (session cookie, CSRF token)

    @property
    def http(self) -> TestClient:
        """A browser that is not signed in."""
        return TestClient(self.app, raise_server_exceptions=False, follow_redirects=False)

    def signed_in(self, role: str) -> TestClient:
        """A browser with the session the template's operator with ``role`` signed in to
        (signing in costs an Argon2id hash: the sign-in form has tests of its own)."""
        browser = self.http
        browser.cookies.set("credsync_session", self.sessions[role][0])
        return browser

    def csrf(self, browser: TestClient) -> str:
        return csrf_of(browser.get("/").text)


@dataclass
class Template:
    path: Path
    ids: dict[str, str]
    sessions: dict[str, tuple[str, str]]
    admin_token: str


@pytest.fixture(scope="session")
def web_template(tmp_path_factory: pytest.TempPathFactory) -> Template:
    """A SQLite vault with an operator per role, each with a browser session, and client
    Contoso with a login credential and a directory_admin one; made once and copied for every
    test."""
    path = tmp_path_factory.mktemp("web-template") / "vault.db"
    world = make_world(f"sqlite:///{path}")
    try:
        operators = {role: world.operator(operator_name(role), role) for role in ROLES[1:]}
        sessions = {}
        for role in ROLES:
            started = world.vault.web_sessions.start(
                operator_name(role), Secret(operator_password(role))
            )
            sessions[role] = (started.token.reveal(), started.csrf_token)
        token, admin_token = world.vault.access.create_token(world.admin, "web-tests")
        client = world.vault.clients.add(world.admin, world.keys, "Contoso", directory_sync=True)
        cred = world.vault.credentials.add(
            world.admin,
            world.keys,
            "Contoso",
            make_draft(title="Domain admin", username="CONTOSO\\admin", password=Secret(SECRET)),
        )
        bind = world.vault.credentials.add(
            world.admin,
            world.keys,
            "Contoso",
            make_draft(
                title="Graph app",
                username="credsync-app",
                password=Secret("App-Secret-Value-1!"),
                type_=CredentialType.DIRECTORY_ADMIN,
                sync_mode=SyncMode.OFF,
            ),
        )
    finally:
        world.db.dispose()
    ids = {"client": client.id, "credential": cred.id, "bind": bind.id, "token": token.id}
    ids["operator"] = operators["technician"].operator_id or ""
    return Template(path, ids, sessions, admin_token.reveal())


@pytest.fixture(scope="session")
def web_app(web_template: Template) -> Iterator[FastAPI]:
    """One app for the in-process tests (FastAPI builds its routes' models on first use,
    about a second): each test points its ServerState at a vault of its own."""
    db = Database(f"sqlite:///{web_template.path}")
    keys = KeyRing(lambda: derive_and_check(db, Secret(PASSPHRASE)))
    try:
        yield create_app(ServerState(Vault.open(db), keys))
    finally:
        db.dispose()


@pytest.fixture
def web(tmp_path: Path, web_template: Template, web_app: FastAPI) -> Iterator[WebWorld]:
    path = tmp_path / "vault.db"
    shutil.copyfile(web_template.path, path)
    db = Database(f"sqlite:///{path}")
    vault = Vault.open(db)
    keys = KeyRing(lambda: derive_and_check(db, Secret(PASSPHRASE)))
    admin = vault.access.login_token(Secret(web_template.admin_token))
    world = VaultWorld(db, vault, admin, keys, db.url)
    state = web_app.state.credsync
    state.vault, state.keys = vault, keys
    state.limiter = LoginLimiter.of_vault(db, keys)
    vault.person_auth.use_keys(keys)
    try:
        yield WebWorld(world, state, web_app, web_template.ids, web_template.sessions)
    finally:
        db.dispose()


# -- a live server --------------------------------------------------------------------------------
@dataclass
class Dashboard:
    """A vault served over HTTP for a browser: its address and the vault behind it."""

    url: str
    world: VaultWorld


@contextlib.contextmanager
def served(
    tmp_path_factory: pytest.TempPathFactory,
    name: str,
    operators: dict[str, str],
    *,
    host: str = "127.0.0.1",
) -> Iterator[Dashboard]:
    """A new vault (alice, the admin, and ``operators``: name -> role, with the passwords
    ``world.operator`` gives them) served on ``host`` until the block ends."""
    world = make_world(f"sqlite:///{tmp_path_factory.mktemp(name) / 'vault.db'}")
    server = None
    try:
        for operator, role in operators.items():
            world.operator(operator, role)
        server = LiveServer(create_app(ServerState(world.vault, world.keys))).start()
        yield Dashboard(server.url.replace("127.0.0.1", host), world)
    finally:
        if server is not None:
            server.stop()
        world.db.dispose()


class LiveServer:
    """The app served by uvicorn on 127.0.0.1 (a free port) in a thread of its own, with the
    agent in the same event loop (as ``credsync serve`` runs them)."""

    def __init__(self, app: FastAPI, agent: Any = None) -> None:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._sock.getsockname()[1]}"
        config = uvicorn.Config(
            app, lifespan="off", log_level="warning", access_log=False, log_config=None
        )
        self._server = uvicorn.Server(config)
        self._agent = agent
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="web-live-server", daemon=True)

    async def _main(self) -> None:
        task = asyncio.create_task(self._agent.run()) if self._agent is not None else None
        try:
            await self._server.serve(sockets=[self._sock])
        finally:
            if task is not None:
                self._agent.stop()
                await task

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # reported by start()
            self._error = exc

    def start(self) -> LiveServer:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if self._error is not None or not self._thread.is_alive():
                raise RuntimeError(f"the web server did not start: {self._error!r}")
            if time.monotonic() > deadline:
                raise RuntimeError("the web server did not start in time")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=15)
        self._sock.close()
