"""Pushes' outcomes stored together (issue 19): outcomes that arrive while another is being
stored are committed in one transaction, each push keeping its own audit entry, link columns,
account cache row and report item; each intent stays a transaction of its own, before its
push."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt

import sqlalchemy as sa

from credsync.storage import accounts as account_rows
from credsync.storage import links as link_rows
from credsync.storage.tables import run_items
from credsync.sync import store
from credsync.sync.executor import Applied
from credsync.sync.model import Action, Outcome, PlanItem, Status
from credsync.sync.recorder import RunRecorder, RunSecrets
from credsync.types import SyncMode

from .helpers import SyncWorld


def test_outcomes_arriving_together_are_one_transaction_and_each_push_is_recorded(
    sw_both: SyncWorld,
) -> None:
    sw = sw_both
    users = [sw.ad.create_user() for _ in range(3)]
    creds = [sw.add(u, mode=SyncMode.ENFORCE) for u in users]
    sw.run()
    sw.confirm()
    for n, cred in enumerate(creds):
        sw.set_password(cred, f"Pushed-{n}-By-Vault-1!")
    vault, admin = sw.vault, sw.admin
    directory = vault.directories.get(admin, sw.directory)
    with vault.db.read() as conn:
        linked = {r.credential_id: r.account_id for r in link_rows.of_directory(conn, directory.id)}
        cached = account_rows.load(conn, directory.id, list(linked.values()), [])
    accounts = {r.account_id: store.account_from_row(r) for r in cached}
    clock = lambda: dt.datetime.now(dt.UTC)  # noqa: E731
    recorder = RunRecorder.start(
        vault, admin, directory, kind="push", trigger="test", dry_run=False, clock=clock
    )
    items = [
        PlanItem(c.id, c.title, linked[c.id], u.name, Action.PUSH, Status.PENDING, "vault changed")
        for c, u in zip(creds, users, strict=True)
    ]
    recorder.reserve(items)
    applied = []
    for item in items:
        account = accounts[item.account_id or ""]
        recorder.attempt(item, 2, account, {})  # each intent committed before its push
        after = dataclasses.replace(account, password_stamp="999")
        outcome = Outcome(item, Status.IN_SYNC, Action.PUSH, "pushed version 2", pushed="pushed")
        columns = {"confirmed_stamp": "999", "confirmed_secret_version": 2, "confirmed_at": clock()}
        applied.append(Applied((outcome,), {item.credential_id or "": columns}, (), (after,), 0, 1))
    journal = recorder.journal(RunSecrets(vault, sw.keys, admin, directory.client_id))

    async def settle_all() -> None:
        await asyncio.gather(*(journal.settled(a) for a in applied))

    asyncio.run(settle_all())
    assert journal.transactions == 1  # the three waited for one another: one store
    recorder.finish("done", "test", kind="push", accounts_read=0)

    with vault.db.read() as conn:
        links = {r.credential_id: r for r in link_rows.of_directory(conn, directory.id)}
        stamps = {
            r.account_id: r.password_stamp
            for r in account_rows.load(conn, directory.id, list(linked.values()), [])
        }
        stored = conn.execute(
            sa.select(run_items.c.credential_id, run_items.c.status, run_items.c.action).where(
                run_items.c.run_id == recorder.run_id
            )
        ).all()
    for cred in creds:
        link = links[cred.id]
        assert link.push_attempt_run is None  # the outcome cleared its intent
        assert (link.confirmed_stamp, link.confirmed_secret_version) == ("999", 2)
        assert stamps[linked[cred.id]] == "999"
        for action in ("credential.push_attempted", "credential.pushed"):
            assert len(vault.audit.list(admin, action=action, target_id=cred.id)) == 1
    assert sorted(stored) == sorted((c.id, "in_sync", "push") for c in creds)
    assert vault.audit.verify(admin).ok  # one chain, the batch's entries in it


def test_an_outcome_alone_is_stored_at_once(sw: SyncWorld) -> None:
    """A push whose outcome comes alone (the others still at the DC) is stored in its own
    transaction and the run is as before: pushed, audited once, in step after."""
    user = sw.ad.create_user()
    cred = sw.add(user, mode=SyncMode.ENFORCE)
    sw.run()
    sw.confirm()
    sw.set_password(cred, "Pushed-Alone-1!")
    report = sw.run()
    assert sw.items(report)[cred.id] == ("in_sync", "push")
    assert sw.in_step(sw.run(), cred.id)
    pushed = sw.vault.audit.list(sw.admin, action="credential.pushed", target_id=cred.id)
    assert len(pushed) == 1
