"""The Graph connector's ``people`` capability: searches paged (with ConsistencyLevel and
$count), reads by id beyond Graph's 15 values of ``in``, direct members with their kinds,
group types, a refused query naming ``query``, and throttled reads that all finish."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from credsync.connectors.base import Capability
from credsync.connectors.people_source import PeopleSource
from credsync.errors import InvalidInput
from credsync.testing.graphsim import ThrottleConfig

from .world import GraphWorld


def run(coro: Any) -> Any:
    return asyncio.run(coro)


async def _all(items: Any) -> list[Any]:
    return [i async for i in items]


def test_search_pages_and_reads_by_id_beyond_the_in_limit(gw: GraphWorld) -> None:
    made = [gw.tenant.create_user(display_name=f"Pat Member{n:02d}").id for n in range(20)]
    conn = gw.connector(options={"page_size": "7"})
    try:
        assert Capability.PEOPLE in conn.capabilities
        assert isinstance(conn, PeopleSource)
        found = run(_all(conn.search_people("pat")))
        assert sorted(p.object_id for p in found) == sorted(made)
        read = run(conn.read_people([*made, "00000000-0000-0000-0000-000000000000"]))
        assert [p.object_id for p in read] == made  # in the order asked, the unknown left out
        with pytest.raises(InvalidInput) as bad:
            run(_all(conn.search_people('"displayName:pat" OR')))
        assert bad.value.field == "query"
    finally:
        run(conn.close())


def test_groups_their_types_and_direct_members(gw: GraphWorld) -> None:
    ada = gw.tenant.create_user(display_name="Ada").id
    inner = gw.tenant.create_group("Inner", members=[ada])
    outer = gw.tenant.create_group("Outer Team", unified=True, members=[ada])
    gw.tenant.add_member(outer, inner)
    conn = gw.connector()
    try:
        groups = {g.object_id: g for g in run(_all(conn.search_groups("")))}
        assert groups[inner].type == "security"
        assert groups[outer].type == "microsoft365"
        assert groups[outer].email
        members = run(_all(conn.iter_members(outer)))
        assert sorted((m.kind, m.object_id) for m in members) == sorted(
            [("person", ada), ("group", inner)]
        )
    finally:
        run(conn.close())


def test_throttled_searches_all_finish(gw: GraphWorld) -> None:
    for n in range(6):
        gw.tenant.create_user(display_name=f"Quinn Throttle{n}")
    gw.tenant.throttle = ThrottleConfig(
        enabled=True, read_units=2, read_window=1.0, write_units=3000, write_window=150.0
    )
    conn = gw.connector(options={"page_size": "2"})
    try:
        assert len(run(_all(conn.search_people("quinn")))) == 6
        assert gw.tenant.stats["throttled"] >= 1
    finally:
        run(conn.close())
