"""How a run cuts its plan into chunks (each applied, then stored in one transaction): at most
200 items that bind or push, and at most 2,000 in all, in the plan's order."""

from __future__ import annotations

from credsync.sync.engine import CHUNK, QUIET_CHUNK, _chunks
from credsync.sync.model import Action, PlanItem, Status


def _item(n: int, action: Action) -> PlanItem:
    status = Status.PENDING if action in (Action.VERIFY, Action.PUSH) else Status.IN_SYNC
    return PlanItem(f"c{n}", "t", f"a{n}", f"user{n}", action, status, "")


def test_items_in_step_are_stored_a_few_thousand_a_chunk() -> None:
    items = [_item(n, Action.NONE) for n in range(5000)]
    chunks = list(_chunks(items))
    assert [len(c) for c in chunks] == [QUIET_CHUNK, QUIET_CHUNK, 1000]
    assert [i for c in chunks for i in c] == items


def test_binds_and_pushes_stay_200_a_chunk_among_the_rest() -> None:
    acting = (Action.VERIFY, Action.PUSH)
    items = [_item(n, acting[n % 2] if n % 3 == 0 else Action.NONE) for n in range(1500)]
    chunks = list(_chunks(items))
    assert [i for c in chunks for i in c] == items  # the plan's order: the report's numbers
    counts = [sum(i.action in acting for i in c) for c in chunks]
    assert counts == [CHUNK, CHUNK, 100]
    assert all(len(c) <= QUIET_CHUNK for c in chunks)


def test_no_items_no_chunk() -> None:
    assert list(_chunks([])) == []
