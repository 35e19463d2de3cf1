"""Queued pushes that fail for good, against the real Samba DC: given up after the last
attempt (shown on the credential, audited, never claimed again), settled by a run that finds
the credential in step, replaced by a newer change; a push that can't be made at all is given
up at once, alone, and the agent goes on."""

from __future__ import annotations

import asyncio

import sqlalchemy as sa

from credsync.agent.loop import Agent
from credsync.storage import push_queue
from credsync.storage.tables import secret_versions, sync_queue
from credsync.sync.views import given_up_pushes, queued_pushes
from credsync.types import SyncMode

from .helpers import SyncWorld, update_directory
from .proxy import CuttableProxy
from .test_enforce_mode import binds


def _agent_round(sw: SyncWorld) -> None:
    asyncio.run(Agent(sw.vault, sw.keys, sw.admin, poll_seconds=0.05).run(once=True))


def _queue(sw: SyncWorld) -> list[sa.Row]:
    with sw.vault.db.read() as conn:
        return list(conn.execute(sa.select(sync_queue).order_by(sync_queue.c.id)).all())


def _given_up_entries(sw: SyncWorld) -> dict[str, dict]:
    found = sw.vault.audit.list(sw.admin, action="credential.push_given_up")
    return {e.target_id: e.details for e in found}


def test_a_push_that_keeps_failing_is_given_up_then_settled_or_queued_afresh(
    sw: SyncWorld,
) -> None:
    proxy = CuttableProxy(("127.0.0.1", 636))
    try:
        update_directory(sw.vault, sw.admin, sw.directory, url=proxy.url)
        users = [sw.ad.create_user(), sw.ad.create_user()]
        first, second = (sw.add(u, mode=SyncMode.ENFORCE) for u in users)
        first_run = sw.run()
        assert first_run.state == "done", first_run.message
        sw.confirm()
        proxy.cut()
        sw.set_password(first, "Given-Up-First-1!")
        sw.set_password(second, "Given-Up-Second-1!")
        with sw.vault.db.write() as conn:  # a day of failed attempts behind them
            conn.execute(sync_queue.update().values(attempts=push_queue.GIVE_UP_AFTER - 1))
        _agent_round(sw)

        rows = _queue(sw)
        assert len(rows) == 2
        assert all(r.dead_at is not None for r in rows)
        assert {r.attempts for r in rows} == {push_queue.GIVE_UP_AFTER}
        for cred in (first, second):
            assert queued_pushes(sw.vault.db, sw.admin, cred.id) == []
            [shown] = given_up_pushes(sw.vault.db, sw.admin, cred.id)
            assert shown.directory == sw.directory
            assert shown.reason.startswith(
                f"given up after {push_queue.GIVE_UP_AFTER} failed attempts: "
            )
            assert "unreachable" in shown.reason
        audited = _given_up_entries(sw)
        assert set(audited) == {first.id, second.id}
        assert audited[first.id]["directory"] == sw.directory
        assert audited[first.id]["attempts"] == push_queue.GIVE_UP_AFTER
        assert audited[first.id]["secret_version"] == 2
        assert "unreachable" in audited[first.id]["reason"]

        proxy.resume()
        agent = Agent(sw.vault, sw.keys, sw.admin)
        assert asyncio.run(agent.drain_queue()) == 0  # given up: never claimed again
        assert not binds(sw, users[0].dn, "Given-Up-First-1!")

        # A newer change of the second password replaces its given-up push.
        sw.set_password(second, "Queued-Afresh-2!")
        assert given_up_pushes(sw.vault.db, sw.admin, second.id) == []
        [waiting] = queued_pushes(sw.vault.db, sw.admin, second.id)
        assert (waiting.directory, waiting.attempts) == (sw.directory, 0)
        # A run pushes both (enforce: the vault changed); the first one's given-up push is moot.
        report = sw.run()
        assert report.state == "done"
        assert sw.items(report)[first.id] == ("in_sync", "push")
        assert binds(sw, users[0].dn, "Given-Up-First-1!")
        assert binds(sw, users[1].dn, "Queued-Afresh-2!")
        assert given_up_pushes(sw.vault.db, sw.admin, first.id) == []
        # The agent finds the second one's queued push already done, and acks it.
        assert asyncio.run(agent.drain_queue()) == 1
        asyncio.run(agent.close())
        assert _queue(sw) == []
    finally:
        proxy.close()


def test_a_push_that_cant_be_made_is_given_up_at_once_alone(sw: SyncWorld) -> None:
    users = [sw.ad.create_user(), sw.ad.create_user()]
    broken, fine = (sw.add(u, mode=SyncMode.ENFORCE) for u in users)
    assert sw.run().state == "done"
    sw.confirm()
    sw.set_password(broken, "Never-Decrypted-1!")
    sw.set_password(fine, "Pushed-Anyway-1!")
    with sw.vault.db.write() as conn:  # the stored secret tampered with: it no longer opens
        stored = secret_versions.c
        where = (stored.credential_id == broken.id) & (stored.version == 2)
        blob = conn.execute(sa.select(stored.ciphertext).where(where)).scalar_one()
        conn.execute(
            secret_versions.update()
            .where(where)
            .values(ciphertext=blob[:-1] + bytes([blob[-1] ^ 1]))
        )
    _agent_round(sw)  # returns: the agent is not stopped by it

    assert binds(sw, users[1].dn, "Pushed-Anyway-1!")
    [row] = _queue(sw)
    assert (row.credential_id, row.attempts) == (broken.id, 0)
    assert row.dead_at is not None
    [shown] = given_up_pushes(sw.vault.db, sw.admin, broken.id)
    assert shown.reason.startswith("the push can't be made: IntegrityError: ")
    assert "Never-Decrypted" not in shown.reason
    assert set(_given_up_entries(sw)) == {broken.id}
    assert not binds(sw, users[0].dn, "Never-Decrypted-1!")
