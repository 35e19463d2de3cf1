"""A remote agent pushing to the real Samba DC through a real ``credsync serve`` over HTTPS:
a password changed in the vault reaches AD (a bind with it works) and the server's records
show it pushed once; a remote agent killed -9 mid-work is taken over by another, nothing lost
and nothing pushed twice (docs/remote-agent.md)."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from typing import Any

import sqlalchemy as sa

from credsync.agent.remote.client import AgentClient
from credsync.agent.remote.credential import AgentCredential
from credsync.agent.remote.runner import RemoteAgentRunner
from credsync.storage.tables import runs, sync_queue
from credsync.types import SyncMode
from credsync.vault.remote_agents import RemoteAgents
from sync.test_enforce_mode import binds

from .conftest import RemoteWorld


def _queued(rw: RemoteWorld) -> int:
    with rw.sw.vault.db.read() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(sync_queue)).scalar() or 0)


def _periodic_runs(rw: RemoteWorld) -> list[Any]:
    with rw.sw.vault.db.read() as conn:
        query = sa.select(runs.c.state, runs.c.actor).where(
            runs.c.kind != "push", runs.c.trigger == "agent", runs.c.state != "running"
        )
        return list(conn.execute(query).all())


def _attempts(rw: RemoteWorld, cred_id: str) -> list[Any]:
    sw = rw.sw
    return sw.vault.audit.list(sw.admin, action="credential.push_attempted", target_id=cred_id)


def test_a_vault_change_reaches_ad_through_the_remote_agent_once(remote: RemoteWorld) -> None:
    sw = remote.sw
    user = sw.ad.create_user()
    cred = sw.add(user, mode=SyncMode.ENFORCE)
    sw.run()  # linked by a check made here (the test's own engine)
    sw.confirm()
    credential = remote.register("site-a")
    assert credential.stat().st_mode & 0o077 == 0  # the agent's private keys: owner only
    remote.start_agent(credential)
    sw.set_password(cred, "Remote-Agent-Passw0rd-1!")
    remote.until(lambda: binds(sw, user.dn, "Remote-Agent-Passw0rd-1!"), "the push never came")
    remote.until(lambda: _queued(remote) == 0, "the queue never emptied")
    [attempt] = _attempts(remote, cred.id)
    pushed = sw.vault.audit.list(sw.admin, action="credential.pushed", target_id=cred.id)
    assert len(pushed) == 1
    assert attempt.actor == "agent:site-a"  # the run was the remote agent's
    # The directory's periodic run was made through the agent too (its reads relayed).
    remote.until(lambda: _periodic_runs(remote) != [], "no periodic run through the agent")
    assert {(r.state, r.actor) for r in _periodic_runs(remote)} == {("done", "agent:site-a")}
    [agent] = RemoteAgents(sw.vault).list(sw.admin)
    assert agent.state == "active"
    assert agent.last_seen_at is not None
    assert sw.flags() == {}


def test_a_remote_agent_killed_mid_work_is_taken_over_nothing_lost_nothing_twice(
    remote_both: RemoteWorld,
) -> None:
    remote = remote_both
    sw = remote.sw
    users = [sw.ad.create_user() for _ in range(8)]
    creds = [sw.add(u, mode=SyncMode.ENFORCE) for u in users]
    sw.run()
    sw.confirm()
    first = remote.start_agent(remote.register("site-a"))
    second_credential = remote.register("site-b")
    passwords = {c.id: f"Killed-Mid-Work-{n}-Passw0rd!" for n, c in enumerate(creds)}
    for cred in creds:
        sw.set_password(cred, passwords[cred.id])
    # Killed as soon as its first push is under way (the others still queued or in flight).
    remote.until(
        lambda: any(_attempts(remote, c.id) for c in creds), "the first agent never pushed"
    )
    first.kill()
    first.wait(10)
    remote.start_agent(second_credential)
    for cred, user in zip(creds, users, strict=True):
        remote.until(
            lambda u=user, c=cred: binds(sw, u.dn, passwords[c.id]),
            f"the push of {user.name} was lost",
        )
    remote.until(lambda: _queued(remote) == 0, "the queue never emptied")
    for cred in creds:
        # Exactly one push took per change. A push the killed agent had begun (its intent
        # stored) and never answered was settled by the next run from the account's
        # pwdLastSet: moved (it took: recorded pushed, nothing sent again), or not moved
        # (not pushed: recorded so, then pushed once by the second agent).
        audit = sw.vault.audit
        pushed = audit.list(sw.admin, action="credential.pushed", target_id=cred.id)
        failed = audit.list(sw.admin, action="credential.push_failed", target_id=cred.id)
        assert len(pushed) == 1, "a password was pushed twice, or never"
        not_pushed = [e for e in failed if e.details.get("outcome") == "not_pushed"]
        assert len(_attempts(remote, cred.id)) - len(not_pushed) == 1


class _Recording(AgentClient):
    """The agent's client, keeping every byte the server sent it."""

    received: list[bytes]

    async def _post(self, what: str, payload: dict[str, Any]) -> dict[str, Any]:
        answer = await super()._post(what, payload)
        self.received.append(json.dumps(answer).encode())
        return answer


def test_what_the_agent_receives_and_keeps_holds_no_key_and_no_plain_secret(
    remote: RemoteWorld,
) -> None:
    """The agent (here in this process, against the real server) gets the bind password and
    the pushed password only sealed to its key, never the master key or a data key; its
    credential file holds its own keys only."""
    sw = remote.sw
    user = sw.ad.create_user()
    cred = sw.add(user, mode=SyncMode.ENFORCE)
    sw.run()
    sw.confirm()
    path = remote.register("site-scan")
    credential = AgentCredential.load(path)
    client = _Recording(credential.server, credential.agent_id, credential.keys,
                        ca_file=credential.ca_file)  # fmt: skip
    client.received = []
    new_password = "Scanned-Passw0rd-7!"

    async def scenario() -> None:
        runner = RemoteAgentRunner(client, credential.keys)
        task = asyncio.create_task(runner.run())
        try:
            await asyncio.to_thread(sw.set_password, cred, new_password)
            deadline = time.monotonic() + 60
            while not await asyncio.to_thread(binds, sw, user.dn, new_password):
                assert time.monotonic() < deadline, "the push never came"
                await asyncio.sleep(0.05)
        finally:
            runner.stop()
            await task
            await client.close()

    asyncio.run(scenario())
    kek = sw.keys.kek()._raw
    bind_password = sw.ad.facts.admin_password
    everything = b"\n".join(client.received) + path.read_bytes()
    assert b'"op": "set_password"' in everything  # the push did come this way
    for secret in (new_password.encode(), bind_password.encode()):
        for form in (secret, secret.decode().encode("utf-16-le"), secret.hex().encode()):
            assert form not in everything
    for form in (kek, kek.hex().encode(), base64.b64encode(kek)):
        assert form not in everything
