"""What /metrics reads from the database (storage.gauges) on both backends: the push queue's
waiting and given-up rows and the oldest waiting one (a given-up row older than it does not
count), runs by state, open flags and checks by status."""

from __future__ import annotations

import datetime as dt

from credsync.storage import gauges, push_queue
from storage.test_push_queue import NOW, build
from vault.helpers import VaultWorld


def test_the_queue_s_depth_and_oldest_waiting_push(world: VaultWorld) -> None:
    with world.db.read() as conn:
        empty = gauges.read(conn)
    assert (empty.queue_waiting, empty.queue_given_up, empty.queue_oldest) == (0, 0, None)
    assert empty.open_flags_by_status == {}
    queue = build(world, creds=3, directories=1)
    for n in range(3):
        queue.enqueue(n, at=NOW + dt.timedelta(minutes=n))
    first = queue.rows()[0]
    with world.db.write() as conn:
        push_queue.give_up(conn, [first.id], "unreachable", NOW)
    with world.db.read() as conn:
        found = gauges.read(conn)
    assert (found.queue_waiting, found.queue_given_up) == (2, 1)
    assert found.queue_oldest is not None
    oldest = found.queue_oldest.replace(tzinfo=found.queue_oldest.tzinfo or dt.UTC)
    assert oldest == NOW + dt.timedelta(minutes=1)  # the given-up row is older: not counted
    assert found.captures_waiting == 0
    assert all(isinstance(n, int) for n in found.runs_by_state.values())
    assert all(isinstance(n, int) for n in found.checks_by_status.values())
