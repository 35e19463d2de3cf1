"""A password check left unanswered (the bind timed out: a busy DC) makes that credential's
check `unreachable` and the run goes on; :data:`~credsync.sync.executor.UNANSWERED_STOP`
checks in a row with no answer stop the run as a DC that is gone does. Against the shared
Samba DC through a proxy whose latency plays the slow answers."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import pytest

from credsync.connectors.ad import ActiveDirectoryConnector
from credsync.connectors.base import Account
from credsync.sync.executor import UNANSWERED_STOP, Applied, Executor
from credsync.sync.model import Action, PlanItem, Status
from credsync.testing.fault_proxy import FaultProxy
from credsync.testing.samba import OuWorld
from credsync.types import Secret

pytestmark = pytest.mark.samba

SLOW = 3.0  # seconds the proxy holds each answer back: past the connector's timeout
TIMEOUT = 1.0


class NoPushes:
    async def attempt(
        self, item: PlanItem, version: int, account: Account, state: Mapping[str, Any]
    ) -> None:
        raise AssertionError("a check run pushes nothing")

    async def settled(self, applied: Applied) -> None:
        pass


def test_an_unanswered_check_is_that_credentials_and_a_run_of_them_stops_it(
    ad_ou: OuWorld,
) -> None:
    assert UNANSWERED_STOP == 3
    users = [ad_ou.create_user() for _ in range(6)]
    proxy = FaultProxy(("127.0.0.1", 636))
    conn = ActiveDirectoryConnector(ad_ou.config(url=proxy.url, timeout=TIMEOUT))
    secrets = {f"c{n}": (1, Secret(u.password)) for n, u in enumerate(users)}
    items = [
        PlanItem(f"c{n}", u.name, u.guid, u.name, Action.VERIFY, Status.PENDING, "check")
        for n, u in enumerate(users)
    ]

    async def go() -> tuple[Executor, list[Applied]]:
        accounts = {u.guid: await conn.get_account(u.guid) for u in users}
        ex = Executor(connector=conn, accounts=accounts, links={}, push_cap=0, journal=NoPushes())
        done = []
        for n, item in enumerate(items):
            proxy.latency = 0.0 if n == 1 else SLOW  # only the second check is answered
            done.append(await ex.apply_all([item], secrets))
        return ex, done

    try:
        ex, done = asyncio.run(go())
    finally:
        asyncio.run(conn.close())
        proxy.close()
    seen = [(o.status, o.action) for applied in done for o in applied.outcomes]
    assert seen == [
        (Status.UNREACHABLE, Action.VERIFY),  # one slow bind: that check alone
        (Status.IN_SYNC, Action.VERIFY),  # an answer: the count starts again
        (Status.UNREACHABLE, Action.VERIFY),
        (Status.UNREACHABLE, Action.VERIFY),
        (Status.UNREACHABLE, Action.SKIP),  # the third in a row: the run stops
        (Status.UNREACHABLE, Action.SKIP),  # and the rest is not tried
    ]
    assert ex.stopped is not None
    assert "check the password of" in ex.stopped
    assert ex.stop_status is Status.UNREACHABLE
    assert sum(a.binds for a in done) == 5
