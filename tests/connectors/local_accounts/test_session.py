"""The local-accounts connector's warm SAMR session against real Samba standalone servers:
kept between runs while its connector is open (the agent keeps one a directory), closed
after an idle timeout and by ``close()`` (no connection left to the machine), and opened again
when the machine dropped it (a restarted server)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from credsync.connectors.local_accounts import LocalAccountsConnector
from credsync.connectors.local_accounts._client import SamrSession
from credsync.testing.conformance import run
from credsync.testing.samba_standalone import LocalMachine, StandaloneFacts, StandaloneServer


def _connections_to(port: int) -> int:
    """Established TCP connections to 127.0.0.1:``port`` (clients' ends: their remote port)."""
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        if not Path(table).exists():
            continue
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            remote_port = int(fields[2].rsplit(":", 1)[1], 16)
            if remote_port == port and fields[3] == "01":  # 01: ESTABLISHED
                count += 1
    return count


def _connector(facts: StandaloneFacts, idle: float) -> LocalAccountsConnector:
    session = SamrSession(
        facts.host, facts.port, facts.machine, facts.admin_user, facts.admin_password, 10,
        idle_seconds=idle,
    )  # fmt: skip
    return LocalAccountsConnector(facts.directory_config(), session=session)


def _listing(conn: LocalAccountsConnector) -> list[str]:
    async def go() -> list[str]:
        return [a.username async for a in conn.iter_accounts()]

    return run(go())


def _wait(condition, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


@pytest.fixture
def machine_facts(local_machine: LocalMachine) -> StandaloneFacts:
    return local_machine.facts


def test_the_session_stays_warm_between_runs(machine_facts: StandaloneFacts) -> None:
    conn = _connector(machine_facts, idle=300)
    try:
        before = _connections_to(machine_facts.port)
        for _ in range(3):  # three runs' listings on one open connector: one session
            assert machine_facts.admin_user in _listing(conn)
        assert conn._session.connects == 1
        assert conn._session.warm
        assert _connections_to(machine_facts.port) == before + 1
    finally:
        run(conn.close())
    assert not conn._session.warm
    assert _wait(lambda: _connections_to(machine_facts.port) == before, 10)


def test_an_idle_session_is_closed_and_opened_again_when_needed(
    machine_facts: StandaloneFacts,
) -> None:
    conn = _connector(machine_facts, idle=1.0)
    try:
        before = _connections_to(machine_facts.port)
        assert machine_facts.admin_user in _listing(conn)
        assert conn._session.warm
        assert _wait(lambda: not conn._session.warm, 10), "the idle session was not closed"
        assert _wait(lambda: _connections_to(machine_facts.port) == before, 10)
        assert machine_facts.admin_user in _listing(conn)  # the next run connects again
        assert conn._session.connects == 2
    finally:
        run(conn.close())


def test_a_session_in_use_is_not_closed_as_idle(machine_facts: StandaloneFacts) -> None:
    conn = _connector(machine_facts, idle=1.5)
    try:
        for _ in range(6):  # a call every 0.5 s for 3 s: never idle for 1.5 s
            assert machine_facts.admin_user in _listing(conn)
            time.sleep(0.5)
        assert conn._session.connects == 1
    finally:
        run(conn.close())


@pytest.fixture
def own_server() -> Iterator[tuple[StandaloneServer, StandaloneFacts]]:
    """A machine of this test's own: it is restarted under the session."""
    server = StandaloneServer(machine="DROPTEST")
    facts = server.start()  # fails loudly when Samba is missing: this test needs a server
    try:
        yield server, facts
    finally:
        server.stop()


def test_a_dropped_session_is_opened_again(
    own_server: tuple[StandaloneServer, StandaloneFacts],
) -> None:
    server, facts = own_server
    conn = _connector(facts, idle=300)
    try:
        assert facts.admin_user in _listing(conn)
        again = server.reset()  # smbd stopped and started: the session's connection is gone
        assert again.port == facts.port
        assert facts.admin_user in _listing(conn)
        assert conn._session.connects == 2
    finally:
        run(conn.close())
