"""Scenario 4: the Graph simulator answering a ``credsync agent`` process with 429 storms
(Retry-After), 503s, and dropped connections, before the request is handled and after it
(the write done, its answer lost: a retry must not write the password again). Each phase
queues one password change per user and waits for the queue to drain; the simulator's own log
of password writes per user counts what landed."""

from __future__ import annotations

import signal

import pytest

from agent_procs import Agents
from credsync.types import SyncMode
from sync.entra import EntraWorld

from .agents import queue_rows
from .figures import Figure, Stopwatch, record

USERS = 20
# (scenario, status, times, Retry-After, dropped after the request was handled)
PHASES = [
    ("Graph 429 storm (Retry-After 1 s)", 429, 3 * USERS, 1, False),
    ("Graph 503s (Retry-After 1 s)", 503, USERS, 1, False),
    ("Graph connections dropped before an answer", 0, USERS // 2, None, False),
    ("Graph connections dropped after the write", 0, USERS // 2, None, True),
]


@pytest.mark.parametrize(
    ("scenario", "status", "times", "retry_after", "after"), PHASES, ids=lambda p: str(p)
)
def test_graph_faults_lose_and_double_nothing(
    ew: EntraWorld,
    agents: Agents,
    scenario: str,
    status: int,
    times: int,
    retry_after: int | None,
    after: bool,
) -> None:
    users = [ew.add_user() for _ in range(USERS)]
    creds = [ew.add(u, mode=SyncMode.ENFORCE) for u in users]
    ew.run()
    ew.confirm()
    log = ew.tenant.password_log
    before = {u.id: log.count(u.id) for u in users}
    # Graph's lastPasswordChangeDateTime is to the second, and a push whose answer was lost is
    # settled by whether that stamp moved: a push in the second the user's password was set
    # in waits for that second to pass (sync/stamps.py same_second_wait), or it could not be
    # told from none and would be pushed again (docs/chaos.md). No wait here.
    ew.tenant.inject_fault(
        "PATCH", "/v1.0/users", status=status, times=times, retry_after=retry_after, after=after
    )
    agent = agents.start()
    clock = Stopwatch()
    wanted = [f"Graph-Fault-{n}-Pw9!" for n in range(USERS)]
    for cred, password in zip(creds, wanted, strict=True):
        ew.set_password(cred, password)
    agents.until(lambda: not queue_rows(ew.vault.db), agent, f"{scenario}: pushes never ended")
    took = clock.seconds()
    agent.send_signal(signal.SIGTERM)
    assert agent.wait(30) == 0, agents.logs()
    ew.tenant.clear_faults()
    writes = [log.count(u.id) - before[u.id] for u in users]
    wrong = [
        u.upn for u, pw in zip(users, wanted, strict=True) if not ew.tenant.check_password(u.id, pw)
    ]
    figure = Figure(
        scenario,
        operations=USERS,
        lost=len(wrong),
        duplicates=sum(
            log.count(u.id, pw) - 1
            for u, pw in zip(users, wanted, strict=True)
            if log.count(u.id, pw) > 1
        ),
        recover_seconds=took,
        detail=f"{USERS} pushes, {times} faults injected; writes {sum(writes)}",
    )
    record(figure)
    assert not wrong, wrong
    assert figure.duplicates == 0, writes
    assert ew.flags() == {}, ew.flags()
