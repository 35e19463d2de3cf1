"""Relays under the target directory's outbound threshold (the real Samba DC and the Graph
simulator): a relay run or a burst of queued relays that would push more passwords than the
Office 365 directory's push_cap pushes none (the tenant's password writes do not move), holds
them with the reason, and ends aborted; a later run does not hold them twice; approving
pushes them (the tenant then takes the vault's password), discarding does not; under the
threshold relays are pushed as before."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from credsync.connectors.registry import open_connector
from credsync.errors import NotFound, PermissionDenied
from credsync.sync.connect import directory_config, load_directory
from credsync.sync.quarantine_restore import Quarantine
from credsync.sync.relay_push import push_queued, queued_jobs
from credsync.types import Secret
from sync.helpers import update_directory

from .conftest import RelayWorld


def _paired(rw: RelayWorld, count: int) -> list[tuple[Any, Any, Any]]:
    """``count`` AD users matched to Office 365 users and relayed once: (user, credential,
    cloud user) each."""
    out = []
    for _ in range(count):
        user, cred = rw.ad_user()
        out.append((user, cred, rw.cloud_user(user.name)))
    rw.link_ad()
    assert rw.run(apply=True).pushed == count
    return out


def _cap(rw: RelayWorld, cap: int) -> None:
    update_directory(rw.sw.vault, rw.sw.admin, rw.entra, options={"push_cap": cap})


def _changed(rw: RelayWorld, users: list[tuple[Any, Any, Any]], tag: str) -> list[str]:
    out = []
    for n, (_, cred, _) in enumerate(users):
        password = f"Burst-{tag}-{n}-Pass-7!"
        rw.sw.vault.credentials.set_password(rw.sw.admin, rw.sw.keys, cred.id, Secret(password))
        out.append(password)
    return out


def _quarantine(rw: RelayWorld, actor: Any = None) -> Quarantine:
    return Quarantine(rw.sw.vault, rw.sw.keys, actor or rw.sw.admin)


def test_a_relay_run_over_push_cap_is_held_then_approved(rw: RelayWorld) -> None:
    users = _paired(rw, 3)
    _cap(rw, 2)
    passwords = _changed(rw, users, "a")
    writes = rw.writes()
    report = rw.run(apply=True)
    assert (report.pushed, rw.writes()) == (0, writes)
    stored = rw.sw.engine().report(report.run_id)
    assert stored.state == "aborted"
    assert "quarantined by the outbound threshold: 3 relayed passwords" in stored.message
    assert all("push_cap of 2" in i.detail for i in report.items)
    held = _quarantine(rw).list(rw.entra)
    assert sorted((h["direction"], h["action"]) for h in held) == [("outbound", "relay")] * 3
    assert {h["account_id"] for h in held} == {c.id for _, _, c in users}

    again = rw.run(apply=True)  # held: skipped, not held twice
    assert rw.writes() == writes
    assert all("held in quarantine" in i.detail for i in again.items)
    assert len(_quarantine(rw).list(rw.entra)) == 3

    done = asyncio.run(_quarantine(rw).approve([], rw.entra))
    assert done["totals"] == {"done": 3}, done
    assert rw.writes() == writes + 3
    [run_id] = done["run_ids"]
    approval = rw.sw.engine().report(run_id)
    assert (approval.kind, approval.trigger, approval.state) == ("relay", "quarantine", "done")
    for (_, _, cloud), password in zip(users, passwords, strict=True):
        assert rw.tenant.check_password(cloud.id, password)
    assert {h["state"] for h in _quarantine(rw).list(rw.entra, include_decided=True)} == {
        "approved"
    }
    third = rw.run(apply=True)
    assert (third.pushed, rw.writes()) == (0, writes + 3)


def test_discarded_relays_are_not_pushed_and_under_the_cap_nothing_changes(
    rw: RelayWorld,
) -> None:
    users = _paired(rw, 3)
    _cap(rw, 2)
    old = [rw.reveal(cred) for _, cred, _ in users]
    _changed(rw, users, "b")
    rw.run(apply=True)
    writes = rw.writes()
    dropped = _quarantine(rw).discard([], rw.entra)
    assert dropped["totals"] == {"done": 3}
    later = rw.run(apply=True)
    assert rw.writes() == writes
    assert all("discarded from quarantine" in i.detail for i in later.items)
    for (_, _, cloud), secret in zip(users, old, strict=True):
        assert rw.tenant.check_password(cloud.id, secret.reveal())

    one = _changed(rw, users[:2], "c")  # the next passwords: relayed, two under a cap of 2
    under = rw.run(apply=True)
    assert under.pushed == 2
    assert rw.tenant.check_password(users[0][2].id, one[0])
    assert rw.sw.engine().report(under.run_id).state == "done"


def test_a_burst_of_queued_relays_over_push_cap_is_held(rw: RelayWorld) -> None:
    users = _paired(rw, 3)
    _cap(rw, 2)
    _changed(rw, users, "d")
    writes = rw.writes()
    db = rw.sw.vault.db
    directory = load_directory(db, rw.entra)
    jobs = queued_jobs(db, directory.id, [cred.id for _, cred, _ in users])
    assert len(jobs) == 3
    connector = open_connector(directory_config(db, rw.sw.keys, directory))

    async def burst() -> list[Any]:
        try:
            return await push_queued(db, rw.sw.keys, rw.sw.admin, directory, connector,
                                     list(jobs.values()))  # fmt: skip
        finally:
            await connector.close()

    results = asyncio.run(burst())
    assert rw.writes() == writes
    assert {r.action for r in results} == {"none"}
    assert all("quarantined by the outbound threshold" in r.detail for r in results)
    assert len(_quarantine(rw).list(rw.entra)) == 3


@pytest.mark.parametrize("role", ["viewer", "technician", "directory_manager"])
def test_who_may_not_decide_held_relays(rw: RelayWorld, role: str) -> None:
    users = _paired(rw, 2)
    _cap(rw, 1)
    _changed(rw, users, "e")
    rw.run(apply=True)
    held = _quarantine(rw).list(rw.entra)
    assert len(held) == 2
    who, refused = rw.sw.refused_operator(role)
    writes = rw.writes()
    with pytest.raises(refused):
        asyncio.run(_quarantine(rw, who).approve([held[0]["id"]]))
    with pytest.raises(refused):
        _quarantine(rw, who).discard([held[0]["id"]])
    assert rw.writes() == writes
    assert {h["state"] for h in _quarantine(rw).list(rw.entra)} == {"held"}
    assert refused in (NotFound, PermissionDenied)
