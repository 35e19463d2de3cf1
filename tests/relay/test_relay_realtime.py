"""The real-time relay: a password captured in the real Samba DC (encrypted by the real gpg,
posted through the real API) is queued for the matched Entra user in the capture's own
transaction and pushed by the agent, woken at once, so that it works in the tenant seconds
later; an agent that stops mid-relay loses nothing and pushes nothing twice."""

from __future__ import annotations

import asyncio
import datetime as dt
import ssl
import time
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from credsync.agent.loop import Agent
from credsync.agent.queue_rows import LEASE
from credsync.errors import InvalidInput
from credsync.storage import push_queue
from credsync.types import Secret, SyncMode
from credsync.vault.drafts import make_draft
from intake.helpers import gpg_encrypt, password_event

from .conftest import RelayWorld


def paired(rw: RelayWorld) -> tuple[Any, Any, Any]:
    """An AD user with its credential, matched by UPN to an Entra user, the pair applied."""
    user, cred = rw.ad_user()
    cloud = rw.cloud_user(user.name)
    rw.link_ad()
    assert rw.run(apply=True).pushed == 1
    return user, cred, cloud


def capture(rw: RelayWorld, user: Any, forwarder: Any, new: str) -> None:
    """The user's password changed in the DC (an admin reset), captured and delivered."""
    rw.ad.admin.reset_password(user.dn, new)
    stamp = rw.ad.admin.account_state(user.dn)["pwdLastSet"]
    blob = gpg_encrypt(rw.cw.public_key, rw.cw.fingerprint, new)
    answer = forwarder.post([password_event(user.guid, stamp, blob)])
    assert answer.status_code == 200, answer.text
    assert answer.json()["results"][0]["outcome"] == "accepted", answer.text


def queued(rw: RelayWorld, cred_id: str) -> list[Any]:
    with rw.sw.vault.db.read() as conn:
        return push_queue.of_credential(conn, cred_id)


def test_a_captured_password_works_in_the_tenant_once_the_queue_wakes_the_agent(
    rw: RelayWorld,
) -> None:
    """The agent polls once an hour here: only the queueing's wake-up can bring the push
    (how fast is the latency benchmark's business, not a test's)."""
    user, cred, cloud = paired(rw)
    forwarder = rw.cw.enroll()
    agent = Agent(rw.sw.vault, rw.sw.keys, rw.sw.admin, poll_seconds=3600.0)

    async def scenario() -> None:
        running = asyncio.create_task(agent.run())
        await asyncio.sleep(0.3)  # the agent's first round is over: it waits (an hour's poll)
        started = time.monotonic()
        await asyncio.to_thread(capture, rw, user, forwarder, "Captured-in-AD-9!")
        while not rw.tenant.check_password(cloud.id, "Captured-in-AD-9!"):
            assert time.monotonic() - started < 120, "the queueing did not wake the agent"
            await asyncio.sleep(0.02)
        agent.stop()
        await running

    asyncio.run(scenario())
    assert rw.writes() == 2
    assert rw.reveal(cred).reveal() == "Captured-in-AD-9!"
    assert queued(rw, cred.id) == []
    listed = rw.sw.vault_world.vault.db  # the agent's relay is a stored run
    with listed.read() as conn:
        kinds = conn.execute(sa.text("select kind, trigger from runs")).all()
    assert ("relay", "agent") in [tuple(k) for k in kinds]


def test_a_password_set_in_the_vault_is_relayed_too(rw: RelayWorld) -> None:
    _, cred, cloud = paired(rw)
    rw.sw.set_password(cred, "Set-in-Vault-42!")
    # queued for the Entra user (and, two-way, for its own AD account by the usual rule)
    assert rw.entra in [q.directory_name for q in queued(rw, cred.id)]
    agent = Agent(rw.sw.vault, rw.sw.keys, rw.sw.admin)
    assert asyncio.run(agent.drain_queue()) >= 1
    asyncio.run(agent.close())
    assert rw.tenant.check_password(cloud.id, "Set-in-Vault-42!")


def test_an_agent_stopping_mid_relay_loses_nothing_and_pushes_nothing_twice(
    rw: RelayWorld,
) -> None:
    """Two moments a real crash hits only by chance (test_relay_agent_restart kills the real
    process): an agent stopping between claiming a row and pushing it (the next agent takes
    the row once the claim runs out, on its own clock), and one stopping after its push but
    before removing the row (delivered again: in step, nothing written)."""
    user, cred, cloud = paired(rw)
    forwarder = rw.cw.enroll()
    capture(rw, user, forwarder, "After-Restart-7!")
    first = Agent(rw.sw.vault, rw.sw.keys, rw.sw.admin)
    claimed = first._claim()  # it claims the row, then stops before pushing
    assert sum(len(v) for v in claimed.values()) == 1
    writes = rw.writes()
    later = dt.datetime.now(dt.UTC) + LEASE + dt.timedelta(seconds=1)
    second = Agent(rw.sw.vault, rw.sw.keys, rw.sw.admin, clock=lambda: later)
    assert asyncio.run(second.drain_queue()) == 1  # the expired claim is taken again
    assert rw.writes() == writes + 1
    assert rw.tenant.check_password(cloud.id, "After-Restart-7!")
    # An agent that pushed but stopped before removing the row delivers it again: in step,
    # nothing written.
    version = rw.sw.vault.credentials.get(rw.sw.admin, cred.id).secret_version
    entra = rw.sw.vault.directories.get(rw.sw.admin, rw.entra).id
    with rw.sw.vault.db.write() as conn:
        push_queue.enqueue(conn, cred.id, [entra], version, dt.datetime.now(dt.UTC))
    assert asyncio.run(second.drain_queue()) == 1
    asyncio.run(second.close())
    assert rw.writes() == writes + 1
    assert queued(rw, cred.id) == []


def test_a_credential_kept_apart_is_kept_in_step(rw: RelayWorld) -> None:
    """The Office 365 user already has a credential of its own (linked by a run of the Entra
    directory): the relay keeps it in step with the AD one rather than merging them."""
    user, ad_cred = rw.ad_user()
    cloud = rw.cloud_user(user.name)
    rw.link_ad()
    cloud_cred = rw.sw.vault.credentials.add(
        rw.sw.admin, rw.sw.keys, rw.sw.client,
        make_draft(title="Office 365", username=cloud.upn, password=Secret(cloud.password),
                   sync_mode=SyncMode.REPORT),
    )  # fmt: skip
    assert asyncio.run(rw.sw.engine().run(rw.entra)).state == "done"
    report = rw.run(apply=True)
    [item] = report.items
    assert item.match.target_credential == cloud_cred.id
    assert rw.reveal(cloud_cred).reveal() == user.password  # kept in step
    assert rw.tenant.check_password(cloud.id, user.password)
    newest = max(rw.sw.vault.credentials.history(rw.sw.admin, None, cloud_cred.id),
                 key=lambda v: v.version)  # fmt: skip
    assert newest.source == "relay"

    forwarder = rw.cw.enroll()
    capture(rw, user, forwarder, "Kept-In-Step-8!")
    assert rw.reveal(ad_cred).reveal() == "Kept-In-Step-8!"
    assert rw.reveal(cloud_cred).reveal() == "Kept-In-Step-8!"
    agent = Agent(rw.sw.vault, rw.sw.keys, rw.sw.admin)
    asyncio.run(agent.drain_queue())
    asyncio.run(agent.close())
    assert rw.tenant.check_password(cloud.id, "Kept-In-Step-8!")


def test_a_push_that_landed_before_the_agent_stopped_is_not_sent_again(rw: RelayWorld) -> None:
    """The agent recorded the push as under way and the tenant took it, then the agent
    stopped before recording the outcome: the next agent finds the change in the tenant
    and confirms it without sending the password again."""
    from credsync.storage import links as link_rows
    from credsync.vault._time import utcnow

    _, cred, cloud = paired(rw)
    rw.sw.set_password(cred, "Landed-Before-Stop-3!")
    version = rw.sw.vault.credentials.get(rw.sw.admin, cred.id).secret_version
    entra = rw.sw.vault.directories.get(rw.sw.admin, rw.entra).id
    with rw.sw.vault.db.write() as conn:  # what the stopped agent had recorded
        assert link_rows.start_attempt(
            conn, entra, cred.id, run_id="stopped-run", secret_version=version, stamp=None,
            now=utcnow(), state={},
        )  # fmt: skip
    rw.sim.advance_clock(5)
    rw.tenant.set_password(cloud.id, "Landed-Before-Stop-3!")  # what its PATCH had done
    writes = rw.writes()
    agent = Agent(rw.sw.vault, rw.sw.keys, rw.sw.admin)
    asyncio.run(agent.drain_queue())
    asyncio.run(agent.close())
    assert rw.writes() == writes
    with rw.sw.vault.db.read() as conn:
        link = link_rows.get(conn, cred.id, entra)
    assert link is not None
    assert (link.confirmed_secret_version, link.push_attempt_version) == (version, None)


def test_a_push_that_did_not_land_is_sent_after_a_restart_however_recent_the_last_change(
    rw: RelayWorld,
) -> None:
    """The stopped agent recorded its push as under way a second after the user's last
    password change (the pair's first push) and stopped before sending it: the target shows
    no change since the stamp recorded with the intent, so the next agent sends it (Graph's
    stamps have whole seconds: a change just before the intent is no sign that it landed)."""
    from credsync.storage import links as link_rows

    _, cred, cloud = paired(rw)
    rw.sw.set_password(cred, "Never-Sent-Before-4!")
    version = rw.sw.vault.credentials.get(rw.sw.admin, cred.id).secret_version
    entra = rw.sw.vault.directories.get(rw.sw.admin, rw.entra).id
    with rw.sw.vault.db.write() as conn:  # what the stopped agent had recorded, and no more
        link = link_rows.get(conn, cred.id, entra)
        assert link is not None
        assert link.confirmed_stamp is not None
        assert link_rows.start_attempt(
            conn, entra, cred.id, run_id="stopped-run", secret_version=version,
            stamp=link.confirmed_stamp, state={},
            now=dt.datetime.fromisoformat(link.confirmed_stamp) + dt.timedelta(seconds=1),
        )  # fmt: skip
    writes = rw.writes()
    agent = Agent(rw.sw.vault, rw.sw.keys, rw.sw.admin)
    asyncio.run(agent.drain_queue())
    asyncio.run(agent.close())
    assert rw.writes() == writes + 1
    assert rw.tenant.check_password(cloud.id, "Never-Sent-Before-4!")


def test_the_relayed_password_signs_in_as_microsofts_token_endpoint_has_it(
    rw: RelayWorld,
) -> None:
    """learn.microsoft.com, "Microsoft identity platform and OAuth 2.0 Resource Owner
    Password Credentials": a managed user's right password gets a token; a wrong one is
    invalid_grant with AADSTS50126."""
    user, _, cloud = paired(rw)
    app = rw.tenant.default_app
    url = f"{rw.sim.url}/{rw.tenant.id}/oauth2/v2.0/token"

    def sign_in(password: str) -> httpx.Response:
        form = {"grant_type": "password", "client_id": app.client_id,
                "client_secret": app.client_secret, "scope": "https://graph.microsoft.com/.default",
                "username": cloud.upn, "password": password}  # fmt: skip
        return httpx.post(url, data=form, verify=ssl.create_default_context(cadata=rw.sim.ca_pem))

    assert sign_in(user.password).status_code == 200
    wrong = sign_in("Not-The-Password-1!")
    assert wrong.status_code == 400
    assert "AADSTS50126" in wrong.text


def test_nothing_is_relayed_for_a_client_with_directory_sync_off_or_a_credential_off(
    rw: RelayWorld,
) -> None:
    from credsync.sync.enforce import EnforceSwitches

    _, cred, cloud = paired(rw)
    switches = EnforceSwitches(rw.sw.vault)
    switches.set_credential_mode(rw.sw.admin, cred.id, SyncMode.OFF)
    rw.sw.set_password(cred, "Mode-Off-Not-Relayed-1!")
    assert rw.entra not in [q.directory_name for q in queued(rw, cred.id)]
    switches.set_credential_mode(rw.sw.admin, cred.id, SyncMode.TWO_WAY, confirmed=True)
    rw.sw.vault.clients.configure(rw.sw.admin, rw.sw.client, directory_sync=False)
    rw.sw.set_password(cred, "Sync-Off-Not-Relayed-1!")
    assert queued(rw, cred.id) == []
    with pytest.raises(InvalidInput, match="directory sync off"):
        rw.run(apply=True)
    assert not rw.tenant.check_password(cloud.id, "Sync-Off-Not-Relayed-1!")
