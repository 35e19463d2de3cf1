"""The Graph connector's ``provision`` capability: the tenant's domains (verified, federated)
and licences (free seats), its users with what provisioning compares, a create with its
licence in one ordered group, an update of what is given, a refused create that gives its
licence no try (424) and Graph's words without the password, and a removal."""

from __future__ import annotations

import asyncio
from typing import Any

from credsync.connectors.base import Capability
from credsync.connectors.provisioning import PeopleTarget, UserWrite
from credsync.types import Secret

from .world import GraphWorld


def run(coro: Any) -> Any:
    return asyncio.run(coro)


async def _all(items: Any) -> list[Any]:
    return [i async for i in items]


def test_facts_users_create_update_refusal_and_removal(gw: GraphWorld) -> None:
    fed = gw.sim.add_domain(gw.tenant, "fedprov.test", federated=True)
    conn = gw.connector()
    try:
        assert Capability.PROVISION in conn.capabilities
        assert isinstance(conn, PeopleTarget)
        facts = run(conn.target_facts())
        assert facts.domain(gw.tenant.domain).verified
        assert facts.domain(fed).federated
        assert not facts.domain(gw.tenant.domain).federated
        e3 = facts.licence("enterprisepack")
        assert e3 is not None
        assert e3.free == e3.enabled - e3.consumed
        assert facts.licence(e3.sku_id) == e3

        upn = f"new.person@{gw.tenant.domain}"
        fields = {"display_name": "New Person", "given_name": "New", "surname": "Person",
                  "usage_location": "SE", "enabled": True}  # fmt: skip
        made = run(conn.write_user(UserWrite(upn, fields=fields, licence=e3.sku_id,
                                             password=Secret("Cs-New-Pass-77!"))))  # fmt: skip
        assert (made.error, made.done, made.writes) == (
            None,
            ["created", "password", "licensed"],
            2,
        )
        [user] = [u for u in run(_all(conn.iter_target_users())) if u.username == upn]
        assert (user.object_id, user.usage_location, user.enabled) == (made.object_id, "SE", True)
        assert user.licences == {e3.sku_id}
        assert gw.tenant.check_password(user.object_id, "Cs-New-Pass-77!")

        changed = run(conn.write_user(UserWrite(upn, user.object_id, {"surname": "Personne"})))
        assert (changed.done, changed.writes) == (["updated"], 1)
        assert gw.tenant.get_user(user.object_id)["surname"] == "Personne"

        weak_write = UserWrite(f"weak@{gw.tenant.domain}", fields=fields, licence=e3.sku_id,
                               password=Secret("weakpw1"))  # fmt: skip
        weak = run(conn.write_user(weak_write))
        assert weak.done == []
        assert weak.error is not None
        assert "complexity" in weak.error
        assert "weakpw1" not in weak.error
        assert not weak.throttled

        gone = run(conn.remove_user(user.object_id))
        assert (gone.done, gone.writes) == (["removed"], 1)
        assert user.object_id in gw.tenant.store.users.deleted
    finally:
        run(conn.close())
