"""The directory going away, TLS failures, and the agent: immediate pushes, a restart with
queued pushes, backoff, and incremental runs."""

from __future__ import annotations

import asyncio
import datetime as dt
import statistics
import time
from typing import Any

import pytest
import sqlalchemy as sa

from credsync.agent.loop import Agent
from credsync.storage.tables import directories, links, sync_queue
from credsync.types import SyncMode

from .helpers import SyncWorld, update_directory
from .proxy import CuttableProxy
from .test_enforce_mode import binds


def _other_ca() -> str:
    """A real, valid CA certificate that did not sign the DC's certificate."""
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Some other CA")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def test_an_unreachable_directory_flags_linked_credentials_and_recovers(sw: SyncWorld) -> None:
    proxy = CuttableProxy(("127.0.0.1", 636))
    try:
        update_directory(sw.vault, sw.admin, sw.directory, url=proxy.url)
        user = sw.ad.create_user()
        cred = sw.add(user)
        assert sw.run().state == "done"
        proxy.cut()
        down = sw.run()
        assert down.state == "failed"
        assert down.message.startswith("unreachable")
        assert sw.flags() == {cred.id: "unreachable"}
        assert sw.vault.directories.get(sw.admin, sw.directory).failures == 1
        proxy.resume()
        up = sw.run()
        assert up.state == "done"
        assert sw.flags() == {}
        assert sw.vault.directories.get(sw.admin, sw.directory).failures == 0
    finally:
        proxy.close()


def test_a_wrong_ca_is_a_tls_error(sw: SyncWorld) -> None:
    user = sw.ad.create_user()
    cred = sw.add(user)
    sw.run()
    update_directory(sw.vault, sw.admin, sw.directory, ca_pem=_other_ca())
    report = sw.run()
    assert report.state == "failed"
    assert report.message.startswith("tls_error")
    assert sw.flags() == {cred.id: "tls_error"}


def test_the_dc_going_away_mid_run_stops_the_run_and_loses_nothing(sw: SyncWorld) -> None:
    proxy = CuttableProxy(("127.0.0.1", 636))
    try:
        update_directory(sw.vault, sw.admin, sw.directory, url=proxy.url)
        users = [sw.ad.create_user() for _ in range(6)]
        creds = [sw.add(u, mode=SyncMode.ENFORCE) for u in users]
        sw.run()
        sw.confirm()
        for n, cred in enumerate(creds):
            sw.set_password(cred, f"Mid-Run-{n}-Passw0rd!")

        class CutAfterTwo:
            """A connector wrapper that cuts the network after the second push."""

            def __init__(self, inner):
                self.inner, self.pushed = inner, 0

            def __getattr__(self, name):
                return getattr(self.inner, name)

            async def set_password(self, account, secret, options):
                result = await self.inner.set_password(account, secret, options)
                self.pushed += 1
                if self.pushed == 2:
                    proxy.cut()
                return result

        from credsync.connectors.registry import open_connector

        engine = sw.engine(factory=lambda config: CutAfterTwo(open_connector(config)))
        report = asyncio.run(engine.run(sw.directory))
        statuses = [i.status for i in report.items]
        # Pushes overlap (a few are under way at once), so one more may land before the cut.
        assert statuses.count("in_sync") in (2, 3, 4)
        assert statuses.count("in_sync") + statuses.count("unreachable") == 6
        assert report.state == "failed"
        # A push under way when the DC went away is reported as such: outcome unknown.
        unknown = [i for i in report.items if "outcome unknown" in i.detail]
        assert all((i.status, i.action) == ("unreachable", "push") for i in unknown)
        cursor_before = sw.vault.directories.get(sw.admin, sw.directory).cursor
        proxy.resume()
        after = sw.run()
        assert after.state == "done"
        # All 6 in step: those the cut run had pushed counted as in step as before (not
        # listed), the others listed with their push.
        assert after.count("in_sync") == 6
        for n, user in enumerate(users):
            assert binds(sw, user.dn, f"Mid-Run-{n}-Passw0rd!")
        assert cursor_before is not None
        # Every push's intent has its outcome in the audit log, the unknown ones settled by
        # the next run (credential.pushed after a bind, or push_failed and pushed again).
        audit = {
            action: len(sw.vault.audit.list(sw.admin, action=action, limit=1000))
            for action in ("credential.push_attempted", "credential.pushed",
                           "credential.push_failed")
        }  # fmt: skip
        assert audit["credential.push_attempted"] >= 6
        assert audit["credential.push_attempted"] == (
            audit["credential.pushed"] + audit["credential.push_failed"]
        )
    finally:
        proxy.close()


def test_incremental_runs_read_only_what_changed(sw: SyncWorld) -> None:
    users = [sw.ad.create_user() for _ in range(5)]
    for user in users:
        sw.add(user)
    first = sw.run()
    assert (first.kind, first.accounts_read) == ("full", 5)
    quiet = sw.run()
    assert (quiet.kind, quiet.accounts_read) == ("incremental", 0)
    sw.ad.admin.reset_password(users[0].dn, "Changed-Once-1!")
    changed = sw.run()
    assert changed.kind == "incremental"
    assert changed.accounts_read == 1
    assert changed.summary["binds"] == 1


def _agent(sw: SyncWorld) -> Agent:
    return Agent(sw.vault, sw.keys, sw.admin, poll_seconds=0.05)


def test_the_agent_pushes_a_vault_change_at_once(sw: SyncWorld) -> None:
    user = sw.ad.create_user()
    cred = sw.add(user, mode=SyncMode.ENFORCE)
    sw.run()
    sw.confirm()
    latencies = []

    async def scenario() -> None:
        agent = _agent(sw)
        task = asyncio.create_task(agent.run())
        try:
            await asyncio.sleep(0.3)  # the periodic run starts first
            for n in range(5):
                password = f"Agent-Push-{n}-Passw0rd!"
                start = time.perf_counter()
                await asyncio.to_thread(sw.set_password, cred, password)
                while not await asyncio.to_thread(binds, sw, user.dn, password):
                    assert time.perf_counter() - start < 10, "the push never arrived"
                    await asyncio.sleep(0.02)
                latencies.append(time.perf_counter() - start)
        finally:
            agent.stop()
            await task

    asyncio.run(scenario())
    assert len(latencies) == 5
    assert statistics.median(latencies) > 0  # measured, not asserted: see bench/
    with sw.vault.db.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(sync_queue)).scalar() == 0


def test_queued_pushes_survive_a_restart(sw_both: SyncWorld) -> None:
    sw = sw_both
    user = sw.ad.create_user()
    cred = sw.add(user, mode=SyncMode.ENFORCE)
    sw.run()
    sw.confirm()
    sw.set_password(cred, "Queued-While-Down-1!")
    with sw.vault.db.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(sync_queue)).scalar() == 1
    assert not binds(sw, user.dn, "Queued-While-Down-1!")
    # A new agent process (here: a new Agent over the same database) finds the push queued.
    asyncio.run(_agent(sw).run(once=True))
    assert binds(sw, user.dn, "Queued-While-Down-1!")
    with sw.vault.db.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(sync_queue)).scalar() == 0


def test_the_agent_backs_off_while_the_dc_is_away_and_resumes(sw: SyncWorld) -> None:
    proxy = CuttableProxy(("127.0.0.1", 636))
    try:
        update_directory(sw.vault, sw.admin, sw.directory, url=proxy.url)
        user = sw.ad.create_user()
        cred = sw.add(user, mode=SyncMode.ENFORCE)
        sw.run()
        sw.confirm()
        proxy.cut()
        sw.set_password(cred, "Pushed-After-Outage-1!")
        asyncio.run(_agent(sw).run(once=True))
        with sw.vault.db.read() as conn:
            queued = conn.execute(sa.select(sync_queue)).one()
            directory = conn.execute(sa.select(directories)).one()
        assert queued.attempts == 1
        assert "unreachable" in (queued.last_error or "") or queued.last_error
        assert directory.failures >= 1
        assert sw.flags()[cred.id] == "unreachable"
        proxy.resume()
        with sw.vault.db.write() as conn:  # the backoff has passed
            conn.execute(
                sync_queue.update().values(not_before=dt.datetime(2000, 1, 1, tzinfo=dt.UTC))
            )
            conn.execute(directories.update().values(next_run_at=None))
        asyncio.run(_agent(sw).run(once=True))
        assert binds(sw, user.dn, "Pushed-After-Outage-1!")
        assert sw.flags() == {}
    finally:
        proxy.close()


def test_two_agents_share_one_queue_and_push_each_change_once(sw_both: SyncWorld) -> None:
    sw = sw_both
    users = [sw.ad.create_user() for _ in range(6)]
    creds = [sw.add(u, mode=SyncMode.ENFORCE) for u in users]
    sw.run()
    sw.confirm()
    for n, cred in enumerate(creds):
        sw.set_password(cred, f"Shared-Queue-{n}-Passw0rd!")

    async def both() -> list[int]:
        first, second = _agent(sw), _agent(sw)
        try:
            return list(await asyncio.gather(first.drain_queue(), second.drain_queue()))
        finally:
            await first.close()
            await second.close()

    handled = asyncio.run(both())
    assert sum(handled) == 6  # every queued push claimed by exactly one agent
    pushes = sw.vault.audit.list(sw.admin, action="credential.pushed")
    assert sorted(e.target_id for e in pushes) == sorted(c.id for c in creds)
    for n, user in enumerate(users):
        assert binds(sw, user.dn, f"Shared-Queue-{n}-Passw0rd!")


def _left_unknown(sw: SyncWorld, cred: Any, user: Any, version: int) -> None:
    """What a run killed during a push leaves: the push of ``version`` recorded as attempted
    (its link's intent, with the account's pwdLastSet just before), no outcome."""
    directory = sw.vault.directories.get(sw.admin, sw.directory)
    before = str(sw.ad.admin.account_state(user.dn)["pwdLastSet"])
    with sw.vault.db.write() as conn:
        conn.execute(
            links.update()
            .where(links.c.credential_id == cred.id, links.c.directory_id == directory.id)
            .values(
                push_attempt_run="0badc0de-dead-4bad-8bad-0123456789ab",
                push_attempt_version=version,
                push_attempt_stamp=before,
                push_attempt_at=dt.datetime.now(dt.UTC),
            )
        )


@pytest.mark.parametrize("took", [True, False], ids=["it-took", "it-did-not"])
def test_the_agent_settles_a_push_left_without_outcome_before_pushing(
    sw: SyncWorld, took: bool
) -> None:
    """The agent's immediate push meets a push an earlier run attempted and never recorded
    the outcome of: it checks first (a bind where pwdLastSet moved since: it took, nothing
    pushed again; none where it did not move: pushed now), and audits the outcome."""
    user = sw.ad.create_user()
    cred = sw.add(user, mode=SyncMode.ENFORCE)
    sw.run()
    sw.confirm()
    sw.set_password(cred, "Left-Unknown-Passw0rd-2!")  # queued for the agent
    _left_unknown(sw, cred, user, version=2)
    if took:
        sw.ad.admin.reset_password(user.dn, "Left-Unknown-Passw0rd-2!")  # it reached AD
    stamp = sw.ad.admin.account_state(user.dn)["pwdLastSet"]
    asyncio.run(_agent(sw).run(once=True))
    assert binds(sw, user.dn, "Left-Unknown-Passw0rd-2!")
    settled = [
        e
        for action in ("credential.pushed", "credential.push_failed")
        for e in sw.vault.audit.list(sw.admin, action=action, target_id=cred.id)
        if e.details.get("attempt_run") == "0badc0de-dead-4bad-8bad-0123456789ab"
    ]
    [entry] = settled
    attempts = sw.vault.audit.list(sw.admin, action="credential.push_attempted", target_id=cred.id)
    if took:
        assert (entry.action, entry.details["found_by"]) == ("credential.pushed", "bind")
        assert attempts == []  # nothing pushed again
        assert sw.ad.admin.account_state(user.dn)["pwdLastSet"] == stamp
    else:
        assert (entry.action, entry.details["outcome"]) == ("credential.push_failed", "not_pushed")
        assert len(attempts) == 1  # pushed now, once
    with sw.vault.db.read() as conn:
        link = conn.execute(sa.select(links).where(links.c.credential_id == cred.id)).one()
        assert link.push_attempt_run is None  # settled
        assert conn.execute(sa.select(sa.func.count()).select_from(sync_queue)).scalar() == 0
    assert sw.flags() == {}


def test_a_queued_push_names_who_set_the_password_and_stays_in_their_clients(
    sw: SyncWorld,
) -> None:
    """A technician limited to the client sets an enforced credential's password; the agent
    (another operator, reaching every client) pushes it: the push's intent names who set the
    password. One limited to another client can't ask for it (the credential is not there for
    them), and an agent can't run as an operator limited to some clients."""
    from credsync.errors import NotFound, PermissionDenied
    from credsync.types import Secret

    user = sw.ad.create_user()
    cred = sw.add(user, mode=SyncMode.ENFORCE)
    sw.run()
    sw.confirm()
    vault, admin = sw.vault, sw.admin
    vault.clients.add(admin, sw.keys, "Elsewhere")
    for name, client in (("tina", sw.client), ("otto", "Elsewhere")):
        vault.operators.add(admin, name, Secret(f"{name}-password-1234"), "technician", [client])
    tina = vault.access.login_password("tina", Secret("tina-password-1234"))
    otto = vault.access.login_password("otto", Secret("otto-password-1234"))
    with pytest.raises(NotFound):
        vault.credentials.set_password(otto, sw.keys, cred.id, Secret("Otto-Passw0rd-9!"))
    vault.operators.add(
        admin, "dora", Secret("dora-password-1234"), "directory_manager", ["Elsewhere"]
    )
    dora = vault.access.login_password("dora", Secret("dora-password-1234"))
    with pytest.raises(PermissionDenied, match="every client"):
        Agent(vault, sw.keys, dora)
    vault.credentials.set_password(tina, sw.keys, cred.id, Secret("Tina-Passw0rd-3!"))
    asyncio.run(_agent(sw).run(once=True))
    assert binds(sw, user.dn, "Tina-Passw0rd-3!")
    [attempt] = vault.audit.list(admin, action="credential.push_attempted", target_id=cred.id)[:1]
    assert attempt.actor == admin.name  # the agent's operator made the push
    assert attempt.details["password_set_by"] == "tina"  # whose change asked for it
