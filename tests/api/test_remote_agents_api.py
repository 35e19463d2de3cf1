"""Who may do what with remote agents, at the API: enrolment needs directory.setup and
directory_admin.use (the matrix in tests/api/test_permission_matrix.py covers every role); an
enrolment token works once; only a registered, unrevoked agent's fresh signature is let in,
on its own routes only (no operator route answers it), and rotation and revocation take
effect at once. A worker for an agent claims only its own directories' queued pushes."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
from typing import Any

import pytest
from fastapi.testclient import TestClient

from credsync.agent.relay.hub import Broker
from credsync.agent.relay.worker import RelayWorker
from credsync.crypto.agent_keys import SIGNATURE_HEADER, TIME_HEADER, AgentKeys
from credsync.errors import PermissionDenied
from credsync.storage import push_queue
from credsync.types import Secret
from credsync.vault._time import utcnow
from credsync.vault.remote_agents import RemoteAgents
from sync.helpers import add_directory
from vault.helpers import VaultWorld

from .conftest import ApiWorld


def _directory(world: VaultWorld, client: str, name: str) -> str:
    from credsync.types import CredentialType, SyncMode
    from credsync.vault.drafts import make_draft

    vault, admin, keys = world.vault, world.admin, world.keys
    if not any(c.name == client for c in vault.clients.list(admin)):
        vault.clients.add(admin, keys, client, directory_sync=True)
    bind = vault.credentials.add(
        admin, keys, client,
        make_draft(title=f"bind {name}", username="admin@x.test", password=Secret("Bind-Pa55!"),
                   type_=CredentialType.DIRECTORY_ADMIN, sync_mode=SyncMode.OFF),
    )  # fmt: skip
    return add_directory(
        vault, admin, client, name, kind="active-directory", url="ldaps://127.0.0.1:1",
        base_dn="DC=x,DC=test", bind_credential=bind.id,
    ).id  # fmt: skip


def _signed(
    http: TestClient,
    keys: AgentKeys,
    agent_id: str,
    what: str,
    payload: Any,
    *,
    when: str | None = None,
) -> Any:
    path = f"/api/v1/remote-agents/{agent_id}/{what}"
    body = json.dumps(payload).encode()
    when = when or str(int(time.time()))
    headers = {TIME_HEADER: when, SIGNATURE_HEADER: keys.sign(agent_id, when, path, body),
               "Content-Type": "application/json"}  # fmt: skip
    return http.post(path, content=body, headers=headers)


def _register(http: TestClient, token: str, keys: AgentKeys) -> Any:
    return http.post(
        "/api/v1/remote-agents/register",
        json={"token": token, "sign_key": keys.sign_public, "box_key": keys.box_public},
    )


def test_enrolment_registration_and_refusals(api: ApiWorld) -> None:
    world = api.world
    directory = _directory(world, "Contoso", "contoso-ad")
    http = TestClient(api.http.app, raise_server_exceptions=False)
    made = api.admin.post(
        "/api/v1/remote-agents", json={"name": "site-a", "directories": ["contoso-ad"]}
    )
    assert made.status_code == 201, made.text
    token, agent_id = made.json()["token"], made.json()["agent"]["id"]
    assert made.json()["agent"]["state"] == "enrolled"
    keys = AgentKeys.generate()
    # Not yet registered: refused.
    assert _signed(http, keys, agent_id, "poll", {"wait": 0}).status_code == 401
    assert _register(http, token, keys).json()["state"] == "active"
    # The token works once.
    again = _register(http, token, AgentKeys.generate())
    assert (again.status_code, again.json()["error"]["code"]) == (401, "agent_unauthenticated")
    with TestClient(api.http.app, raise_server_exceptions=False) as live:
        ok = _signed(live, keys, agent_id, "poll", {"wait": 0})
        assert ok.status_code == 200, ok.text
        # Another key, a stale time, a body other than the one signed: refused.
        assert _signed(live, AgentKeys.generate(), agent_id, "poll", {"wait": 0}).status_code == 401
        old = str(int(time.time()) - 3600)
        assert _signed(live, keys, agent_id, "poll", {"wait": 0}, when=old).status_code == 401
        path = f"/api/v1/remote-agents/{agent_id}/poll"
        when = str(int(time.time()))
        tampered = live.post(
            path, content=b'{"wait": 1}',
            headers={TIME_HEADER: when, SIGNATURE_HEADER: keys.sign(agent_id, when, path, b"{}")},
        )  # fmt: skip
        assert tampered.status_code == 401
        # An agent's signature is no operator's credential: operator routes refuse it.
        when = str(int(time.time()))
        for method, route in (("GET", "/api/v1/clients"), ("GET", "/api/v1/remote-agents"),
                              ("GET", f"/api/v1/directories/{directory}")):  # fmt: skip
            signature = keys.sign(agent_id, when, route, b"")
            answer = live.request(
                method, route, headers={TIME_HEADER: when, SIGNATURE_HEADER: signature}
            )
            assert answer.status_code == 401, (route, answer.text)
        # Rotation: the old keys stop at once; the new token registers new ones.
        rotated = api.admin.post(f"/api/v1/remote-agents/{agent_id}/rotate").json()
        assert _signed(live, keys, agent_id, "poll", {"wait": 0}).status_code == 401
        newer = AgentKeys.generate()
        assert _register(live, rotated["token"], newer).status_code == 200
        assert _signed(live, newer, agent_id, "poll", {"wait": 0}).status_code == 200
        # Revocation: refused from the next request on.
        assert api.admin.post("/api/v1/remote-agents/site-a/revoke").json()["state"] == "revoked"
        assert _signed(live, newer, agent_id, "poll", {"wait": 0}).status_code == 401
    actions = [
        e.action
        for e in world.vault.audit.list(world.admin)
        if e.action.startswith("remote_agent.")
    ]
    assert sorted(set(actions)) == [
        "remote_agent.enrolled", "remote_agent.registered", "remote_agent.revoked",
        "remote_agent.rotated",
    ]  # fmt: skip
    assert token not in json.dumps([e.details for e in world.vault.audit.list(world.admin)])


def test_enrolment_needs_both_permissions_and_the_directories_in_reach(api: ApiWorld) -> None:
    world = api.world
    _directory(world, "Contoso", "contoso-ad")
    manager = world.operator("dm", "directory_manager")
    technician = world.operator("tech", "technician")
    agents = RemoteAgents(world.vault)
    with pytest.raises(PermissionDenied):
        agents.enroll(technician, "nope", ["contoso-ad"])
    assert agents.enroll(manager, "yes", ["contoso-ad"]).agent.directories == ("contoso-ad",)
    with pytest.raises(Exception, match="serves at least one"):
        agents.enroll(manager, "empty", [])


def test_a_worker_claims_only_its_own_directories_work(api: ApiWorld) -> None:
    world = api.world
    mine = _directory(world, "Contoso", "contoso-ad")
    other = _directory(world, "Fabrikam", "fabrikam-ad")
    agents = RemoteAgents(world.vault)
    enrolment = agents.enroll(world.admin, "site-a", ["contoso-ad"])
    keys = AgentKeys.generate()
    agents.register(enrolment.token, keys.sign_public, keys.box_public)
    from credsync.vault.drafts import make_draft

    cred = world.vault.credentials.add(
        world.admin, world.keys, "Contoso",
        make_draft(title="queued", username="someone", password=Secret("Queued-Pa55!")),
    )  # fmt: skip
    with world.vault.db.write() as conn:
        push_queue.enqueue(conn, cred.id, [mine, other], 1, utcnow())
    identity = agents.authenticate(*_auth(keys, enrolment.agent.id))

    async def claim() -> dict[str, list[tuple[int, str]]]:
        worker = RelayWorker(world.vault, world.keys, Broker(identity))
        return worker._claim()

    claimed = asyncio.run(claim())
    assert list(claimed) == [mine]
    with world.vault.db.write() as conn:
        left = push_queue.claim(
            conn, owner="x", now=utcnow(), lease=dt.timedelta(seconds=1), limit=10
        )
    assert [c.directory_id for c in left] == [other]


def _auth(keys: AgentKeys, agent_id: str) -> tuple[str, str, str, str, bytes]:
    when = str(int(time.time()))
    path = f"/api/v1/remote-agents/{agent_id}/poll"
    return agent_id, keys.sign(agent_id, when, path, b"{}"), when, path, b"{}"
