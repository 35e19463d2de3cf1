"""Seeded tenants: the same seed gives the same tenant; 100,000 users load and scan quickly."""

from __future__ import annotations

import ssl
from collections import Counter

import httpx
import pytest

from credsync.testing.graphsim import GraphSimulator

from .conftest import Graph


def _snapshot(tenant) -> tuple:
    users = [tenant.get_user(i) for i in tenant.user_ids()]
    groups = [(tenant.get_group(i), tenant.group_members(i)) for i in tenant.group_ids()]
    return tenant.id, tenant.domain, tenant.default_app.client_id, users, groups


def test_same_seed_same_tenant() -> None:
    first, second, other = GraphSimulator(seed=5), GraphSimulator(seed=5), GraphSimulator(seed=6)
    try:
        a = first.add_tenant(users=300, groups=6)
        b = second.add_tenant(users=300, groups=6)
        c = other.add_tenant(users=300, groups=6)
        assert _snapshot(a) == _snapshot(b)
        assert a.id != c.id
        assert set(a.user_ids()).isdisjoint(c.user_ids())
        # an explicit tenant seed gives the same contents whatever the simulator's seed
        d = first.add_tenant(users=50, groups=0, seed=99)
        e = other.add_tenant(users=50, groups=0, seed=99)
        assert [d.get_user(i) for i in d.user_ids()] == [e.get_user(i) for i in e.user_ids()]
        assert d.domain == "contoso2.test"  # domains are unique within a simulator
    finally:
        for sim in (first, second, other):
            sim.stop()


def test_seeded_users_are_a_plausible_mix() -> None:
    sim = GraphSimulator(seed=8)
    try:
        tenant = sim.add_tenant(users=2000, groups=10)
        users = [tenant.get_user(i) for i in tenant.user_ids()]
        assert len({u["userPrincipalName"].lower() for u in users}) == 2000
        assert all(u["userPrincipalName"].endswith("@contoso.test") for u in users)
        assert 20 < sum(not u["accountEnabled"] for u in users) < 300
        assert 10 < sum(bool(u["onPremisesSyncEnabled"]) for u in users) < 200
        assert sum(tenant.admin_role(i) is not None for i in tenant.user_ids()) >= 3
        assert tenant.admin_role(tenant.user_ids()[0]) == "Global Administrator"
        assert all(u["lastPasswordChangeDateTime"] >= u["createdDateTime"] for u in users)
        consumed = Counter(lic["skuId"] for u in users for lic in u["assignedLicenses"])
        for sku in tenant.subscribed_skus():
            assert sku["consumedUnits"] == consumed.get(sku["skuId"], 0)
        # seeded users have no password until one is set
        some = tenant.user_ids()[10]
        assert not tenant.check_password(some, "")
        tenant.set_password(some, "Now-Kn0wn!")
        assert tenant.check_password(some, "Now-Kn0wn!")
    finally:
        sim.stop()


@pytest.mark.slow
def test_a_100k_tenant_loads_and_scans() -> None:
    with GraphSimulator(seed=1) as sim:
        tenant = sim.add_tenant(users=100_000, groups=20)
        assert tenant.users_count() == 100_000
        ids = tenant.user_ids()
        assert len(set(ids)) == 100_000
        with httpx.Client(verify=ssl.create_default_context(cafile=str(sim.ca_file))) as http:
            graph = Graph(http, sim, tenant, tenant.default_app)
            users, _ = graph.all(
                "/users?$top=999&$select=id,userPrincipalName,accountEnabled,"
                "lastPasswordChangeDateTime,onPremisesSyncEnabled"
            )
        assert [u["id"] for u in users] == ids
        again = GraphSimulator(seed=1)
        try:
            twin = again.add_tenant(users=100_000, groups=20)
            for index in (0, 1, 4_999, 50_000, 99_999):
                assert twin.get_user(ids[index]) == tenant.get_user(ids[index])
        finally:
            again.stop()
