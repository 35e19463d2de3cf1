"""The executor against the Graph simulator: each chunk it applies comes back as one frozen
result (its outcomes, link columns, pushes), nothing of it stays behind in the executor, and
only the run's push count (the cap) and its stop carry over to the next chunk."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest

from credsync.sync.executor import Applied, Executor
from credsync.sync.model import Action, PlanItem, Status
from credsync.types import Secret, SyncMode

from .entra import EntraWorld, strong


def test_chunks_come_back_frozen_and_only_the_push_cap_carries_over(ew: EntraWorld) -> None:
    users = [ew.add_user() for _ in range(3)]
    creds = [ew.add(u, mode=SyncMode.ENFORCE) for u in users]
    items = [
        PlanItem(c.id, c.title, u.id, u.upn, Action.PUSH, Status.PENDING, "the vault changed")
        for c, u in zip(creds, users, strict=True)
    ]
    secrets = {c.id: (2, Secret(strong())) for c in creds}

    async def scenario() -> tuple[Executor, Applied, Applied]:
        connector = ew.engine().connect(ew.directory)
        try:
            accounts = {a.id: a async for a in connector.iter_accounts()}
            executor = Executor(connector=connector, accounts=accounts, links={}, push_cap=2)
            first = await executor.apply_all(items[:2], secrets)
            second = await executor.apply_all(items[2:], secrets)
            return executor, first, second
        finally:
            await connector.close()

    executor, first, second = asyncio.run(scenario())
    assert [(o.status, o.action) for o in first.outcomes] == [(Status.IN_SYNC, Action.PUSH)] * 2
    assert (first.pushes, first.binds) == (2, 0)
    assert set(first.link_updates) == {creds[0].id, creds[1].id}
    assert first.link_updates[creds[0].id]["confirmed_secret_version"] == 2
    assert sorted(a.id for a in first.changed_accounts) == sorted(u.id for u in users[:2])
    # The cap is the run's: the third push, in the next chunk, is not made.
    [skipped] = second.outcomes
    assert (skipped.status, skipped.action) == (Status.SKIPPED, Action.SKIP)
    assert "cap of 2 pushes" in skipped.detail
    assert (second.pushes, dict(second.link_updates), second.changed_accounts) == (0, {}, ())
    assert (executor.pushes, executor.stopped) == (2, skipped.detail)
    assert ew.tenant.stats["password_writes"] == 2
    with pytest.raises(dataclasses.FrozenInstanceError):
        first.pushes = 3  # type: ignore[misc]
    with pytest.raises(TypeError):
        first.link_updates[creds[0].id]["confirmed_secret_version"] = 1  # type: ignore[index]
