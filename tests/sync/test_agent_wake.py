"""The agent woken by a queued push instead of its poll: in its own process (any database),
from another connection pool through PostgreSQL's NOTIFY, and after its listening
connection was killed. The agents here poll every 30 s: only the wake-up can bring a push
within the tests' bound (how fast is bench/ad_sync.py's business, not a test's)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest
import sqlalchemy as sa

from credsync.agent.loop import Agent
from credsync.storage.database import Database
from credsync.storage.queue_signal import LISTENER_NAME
from credsync.testing.samba import OuWorld, TestUser
from credsync.types import SyncMode
from credsync.vault.models import Credential
from credsync.vault.service import Vault
from vault.helpers import VaultWorld

from .helpers import SyncWorld, build_sync_world, update_directory
from .test_enforce_mode import binds

POLL = 30.0  # seconds: far beyond BOUND, so a poll can't be what pushed
BOUND = 10.0  # seconds a woken push may take at most here (the machine is shared)


@pytest.fixture
def pg_sw(world: VaultWorld, ad_ou: OuWorld) -> SyncWorld:
    """A vault on the backend the test names (PostgreSQL here) and an OU of the DC."""
    return build_sync_world(world, ad_ou)


def _enforced(sw: SyncWorld) -> tuple[TestUser, Credential]:
    """An account linked to a credential in enforce mode, its directory's periodic runs an
    hour apart (none of them can be what pushed)."""
    user = sw.ad.create_user()
    cred = sw.add(user, mode=SyncMode.ENFORCE)
    sw.run()
    sw.confirm()
    update_directory(sw.vault, sw.admin, sw.directory, options={"interval": 3600})
    return user, cred


async def _pushed(sw: SyncWorld, user: TestUser, cred: Credential, password: str) -> None:
    """Change the password in the vault; wait (BOUND at most) until it works in AD."""
    started = time.monotonic()
    await asyncio.to_thread(sw.set_password, cred, password)
    while not await asyncio.to_thread(binds, sw, user.dn, password):
        assert time.monotonic() - started < BOUND, "the queued push did not wake the agent"
        await asyncio.sleep(0.05)


async def _idle(agent: Agent) -> None:
    """Past the agent's first round: it now waits out its poll."""
    await asyncio.sleep(0.5)
    assert agent.last_round is not None


def test_a_change_in_the_agents_process_wakes_it(sw: SyncWorld) -> None:
    user, cred = _enforced(sw)
    agent = Agent(sw.vault, sw.keys, sw.admin, poll_seconds=POLL)

    async def scenario() -> None:
        running = asyncio.create_task(agent.run())
        try:
            await _idle(agent)
            for n in range(2):
                await _pushed(sw, user, cred, f"Woken-In-Process-{n}!")
        finally:
            agent.stop()
            await running

    asyncio.run(scenario())
    assert agent.listener is None  # SQLite: nothing to listen to


@pytest.mark.parametrize("vault_db_url", ["postgresql"], indirect=True)
def test_a_change_through_another_connection_pool_wakes_the_agent_by_notify(
    pg_sw: SyncWorld,
) -> None:
    """The agent has a database (pool, engine) of its own, as an agent in another process
    would: only PostgreSQL's NOTIFY can tell it. Its listening connection killed, it comes
    back (a new backend) and the next change wakes it as well."""
    sw = pg_sw
    user, cred = _enforced(sw)
    own = Database(sw.vault_world.url)
    agent = Agent(Vault(own), sw.keys, sw.admin, poll_seconds=POLL)

    def listening() -> list[int]:
        with sw.vault.db.read() as conn:
            query = sa.text(
                "SELECT pid FROM pg_stat_activity"
                " WHERE application_name = :name AND datname = current_database()"
            )
            return list(conn.execute(query, {"name": LISTENER_NAME}).scalars())

    async def until(done: Callable[[], bool], what: str) -> None:
        started = time.monotonic()
        while not await asyncio.to_thread(done):
            assert time.monotonic() - started < BOUND, what
            await asyncio.sleep(0.05)

    async def scenario() -> None:
        running = asyncio.create_task(agent.run())
        try:
            await until(lambda: len(listening()) == 1, "the agent never listened")
            await _idle(agent)
            await _pushed(sw, user, cred, "Told-By-Notify-1!")
            [first] = listening()
            with sw.vault.db.write() as conn:
                conn.execute(sa.select(sa.func.pg_terminate_backend(first)))
            await until(lambda: listening() not in ([], [first]), "the listener never came back")
            await _idle(agent)
            await _pushed(sw, user, cred, "Told-By-Notify-2!")
        finally:
            agent.stop()
            await running

    try:
        asyncio.run(scenario())
    finally:
        own.dispose()
    assert agent.listener is None  # stopped with the agent, its connection closed
    started = time.monotonic()
    while listening():  # (a backend leaves pg_stat_activity a moment after its client)
        assert time.monotonic() - started < BOUND, "the listener's connection was left open"
        time.sleep(0.05)
