"""The executor against the Graph simulator: each chunk it applies comes back as one frozen
result (its outcomes, link columns, pushes), nothing of it stays behind in the executor, and
only the run's push count (the cap) and its stop carry over to the next chunk. Each push goes
through the run's journal: its intent first (refused: nothing is sent), its outcome alone as
soon as the directory answered."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Mapping
from typing import Any

import pytest

from credsync.connectors.base import Account
from credsync.sync.executor import Applied, Executor, NotAttempted
from credsync.sync.model import Action, PlanItem, Status
from credsync.types import Secret, SyncMode

from .entra import EntraWorld, strong


class Journal:
    """What a run's journal is told, in order (the recorder's writes are tested with runs)."""

    def __init__(self, refuse: set[str] = frozenset()) -> None:  # type: ignore[assignment]
        self.said: list[tuple[str, Any]] = []
        self.refuse = refuse

    async def attempt(
        self, item: PlanItem, version: int, account: Account, state: Mapping[str, Any]
    ) -> None:
        if item.credential_id in self.refuse:
            raise NotAttempted("the link is not confirmed for pushes")
        self.said.append(("attempt", (item.credential_id, version, account.password_stamp)))

    async def settled(self, applied: Applied) -> None:
        self.said.append(("settled", applied))


def _scenario(ew: EntraWorld, items: list[PlanItem], journal: Journal, secrets: Any) -> Any:
    async def go() -> tuple[Executor, Applied, Applied]:
        connector = ew.engine().connect(ew.directory)
        try:
            accounts = {a.id: a async for a in connector.iter_accounts()}
            executor = Executor(
                connector=connector, accounts=accounts, links={}, push_cap=2, journal=journal
            )
            first = await executor.apply_all(items[:2], secrets)
            second = await executor.apply_all(items[2:], secrets)
            return executor, first, second
        finally:
            await connector.close()

    return asyncio.run(go())


def _pushes(ew: EntraWorld, n: int = 3) -> tuple[list[Any], list[Any], list[PlanItem]]:
    users = [ew.add_user() for _ in range(n)]
    creds = [ew.add(u, mode=SyncMode.ENFORCE) for u in users]
    items = [
        PlanItem(c.id, c.title, u.id, u.upn, Action.PUSH, Status.PENDING, "the vault changed")
        for c, u in zip(creds, users, strict=True)
    ]
    return users, creds, items


def test_chunks_come_back_frozen_and_only_the_push_cap_carries_over(ew: EntraWorld) -> None:
    users, creds, items = _pushes(ew)
    secrets = {c.id: (2, Secret(strong())) for c in creds}
    journal = Journal()
    executor, first, second = _scenario(ew, items, journal, secrets)
    # Each push: its intent, then its outcome alone; the chunk's result leaves them out.
    kinds = [kind for kind, _ in journal.said]
    assert sorted(kinds) == ["attempt", "attempt", "settled", "settled"]
    assert kinds.index("attempt") < kinds.index("settled")
    pushed = [applied for kind, applied in journal.said if kind == "settled"]
    assert [(o.status, o.action, o.pushed) for a in pushed for o in a.outcomes] == [
        (Status.IN_SYNC, Action.PUSH, "pushed")
    ] * 2
    assert {cid for a in pushed for cid in a.link_updates} == {creds[0].id, creds[1].id}
    assert all(a.link_updates[cid]["confirmed_secret_version"] == 2 for a in pushed
               for cid in a.link_updates)  # fmt: skip
    assert sorted(acc.id for a in pushed for acc in a.changed_accounts) == sorted(
        u.id for u in users[:2]
    )
    assert (first.outcomes, first.pushes, first.binds) == ((), 2, 0)
    assert dict(first.link_updates) == {}
    # The cap is the run's: the third push, in the next chunk, is not made (nor its intent).
    [skipped] = second.outcomes
    assert (skipped.status, skipped.action) == (Status.SKIPPED, Action.SKIP)
    assert "cap of 2 pushes" in skipped.detail
    assert (second.pushes, dict(second.link_updates), second.changed_accounts) == (0, {}, ())
    assert (executor.pushes, executor.stopped) == (2, skipped.detail)
    assert ew.tenant.stats["password_writes"] == 2
    with pytest.raises(dataclasses.FrozenInstanceError):
        first.pushes = 3  # type: ignore[misc]
    # (whichever push answered first: pushes in the second of the users' creation wait)
    mine = next(iter(pushed[0].link_updates))
    with pytest.raises(TypeError):
        pushed[0].link_updates[mine]["confirmed_secret_version"] = 1  # type: ignore[index]


def test_a_refused_intent_sends_nothing(ew: EntraWorld) -> None:
    _, creds, items = _pushes(ew, 2)
    secrets = {c.id: (2, Secret(strong())) for c in creds}
    journal = Journal(refuse={creds[0].id})
    _, first, _ = _scenario(ew, items, journal, secrets)
    [refused] = first.outcomes
    assert (refused.status, refused.action, refused.pushed) == (Status.SKIPPED, Action.SKIP, None)
    assert "not confirmed for pushes" in refused.detail
    assert ew.tenant.stats["password_writes"] == 1  # only the other one
