"""The import of operators from the MSP's tenant (the Graph simulator's), on a real vault:
search; selected users made operators (random password, linked, source import); a mapped
group's members (nested too) made operators with its role and client access, updated when
the mapping changes; a user disabled or deleted in the tenant disabled in the vault at the
next sync and listed for review, enabled again when the tenant enables them; a dry run changes
nothing; admins only."""

from __future__ import annotations

from typing import Any

import pytest

from credsync.errors import PermissionDenied
from credsync.sync.operator_import import OperatorImport
from credsync.types import Secret
from vault.helpers import VaultWorld


@pytest.fixture
def msp(sqlite_world: VaultWorld, graph_sim: Any) -> tuple[VaultWorld, Any, OperatorImport]:
    world = sqlite_world
    tenant = graph_sim.add_tenant(users=0, groups=0, domain="msp-import.test")
    world.vault.operator_sign_in.setup(
        world.admin,
        world.keys,
        tenant_id=tenant.id,
        client_id=tenant.default_app.client_id,
        client_secret=Secret(tenant.default_app.client_secret),
        redirect_uri="https://vault.example.test/sign-in/microsoft/callback",
        authority=graph_sim.url,
        ca_pem=graph_sim.ca_pem,
    )
    world.vault.clients.add(world.admin, world.keys, "Contoso")
    return world, tenant, OperatorImport(world.vault, world.keys)


def _user(tenant: Any, alias: str) -> str:
    return str(tenant.create_user(upn=f"{alias}@{tenant.domain}", display_name=alias.title()).id)


def _actions(report: Any) -> dict[str, str]:
    return {line["username"] or line["object_id"]: line["action"] for line in report.lines}


def test_search_and_import_selected_users(msp) -> None:
    world, tenant, importer = msp
    ada = _user(tenant, "ada")
    _user(tenant, "bob")
    found = importer.search(world.admin, "ada")
    assert [(f["kind"], f["object_id"]) for f in found] == [("user", ada)]
    dry = importer.sync(world.admin, [ada], role="technician", dry_run=True)
    assert _actions(dry) == {f"ada@{tenant.domain}": "created"}
    assert world.vault.operator_sign_in.links(world.admin) == []
    done = importer.sync(world.admin, [ada], role="technician", clients=["Contoso"])
    assert _actions(done) == {f"ada@{tenant.domain}": "created"}
    op = world.vault.operators.get(world.admin, f"ada@{tenant.domain}")
    assert op.role == "technician"
    assert [name for _, name in op.clients or ()] == ["Contoso"]
    [link] = world.vault.operator_sign_in.links(world.admin)
    assert (link.object_id, link.source, link.review) == (ada, "import", None)
    again = importer.sync(world.admin)
    assert _actions(again) == {f"ada@{tenant.domain}": "unchanged"}


def test_a_mapped_group_maps_a_role_and_clients(msp) -> None:
    world, tenant, importer = msp
    cyd, dan = _user(tenant, "cyd"), _user(tenant, "dan")
    inner = tenant.create_group("Night shift", members=[dan])
    helpdesk = tenant.create_group("Helpdesk", members=[cyd])
    tenant.add_member(helpdesk, inner)  # a nested group
    mapped = importer.map_group(world.admin, helpdesk, "viewer", ["Contoso"])
    assert mapped["group_name"] == "Helpdesk"
    done = importer.sync(world.admin)
    assert _actions(done) == {
        f"cyd@{tenant.domain}": "created",
        f"dan@{tenant.domain}": "created",
    }
    assert world.vault.operators.get(world.admin, f"dan@{tenant.domain}").role == "viewer"
    importer.map_group(world.admin, helpdesk, "technician", None)
    changed = importer.sync(world.admin)
    assert _actions(changed)[f"cyd@{tenant.domain}"] == "updated"
    cyd_op = world.vault.operators.get(world.admin, f"cyd@{tenant.domain}")
    assert (cyd_op.role, cyd_op.clients) == ("technician", None)


def test_disabled_and_deleted_users_are_disabled_and_listed_for_review(msp) -> None:
    world, tenant, importer = msp
    eve, fay = _user(tenant, "eve"), _user(tenant, "fay")
    importer.sync(world.admin, [eve, fay])
    tenant.disable(eve)
    tenant.soft_delete(fay)
    done = importer.sync(world.admin)
    assert _actions(done) == {f"eve@{tenant.domain}": "disabled", fay: "disabled"}
    for name in (f"eve@{tenant.domain}", f"fay@{tenant.domain}"):
        assert world.vault.operators.get(world.admin, name).disabled_at is not None
    reviews = {x.operator: x.review for x in world.vault.operator_sign_in.links(world.admin)}
    assert reviews == {
        f"eve@{tenant.domain}": "disabled in the tenant",
        f"fay@{tenant.domain}": "deleted in the tenant",
    }
    tenant.enable(eve)
    back = importer.sync(world.admin)
    assert _actions(back)[f"eve@{tenant.domain}"] == "updated"
    assert world.vault.operators.get(world.admin, f"eve@{tenant.domain}").disabled_at is None


def test_an_operator_of_that_name_is_not_taken_over(msp) -> None:
    world, tenant, importer = msp
    gus = _user(tenant, "gus")
    world.operator(f"gus@{tenant.domain}", "viewer")
    done = importer.sync(world.admin, [gus])
    assert _actions(done) == {f"gus@{tenant.domain}": "skipped"}
    assert world.vault.operator_sign_in.links(world.admin) == []


@pytest.mark.parametrize("role", ["viewer", "technician", "directory_manager", "auditor"])
def test_only_admins_import(msp, role: str) -> None:
    world, _, importer = msp
    someone = world.operator(f"who-{role}", role)
    with pytest.raises(PermissionDenied):
        importer.search(someone, "")
    with pytest.raises(PermissionDenied):
        importer.sync(someone, [])
    with pytest.raises(PermissionDenied):
        importer.map_group(someone, "11111111-2222-3333-4444-555555555555", "viewer", None)


def test_the_agent_synchronises_the_operators(msp) -> None:
    """An agent running as an admin syncs the operators too (at start, then every 15
    minutes): a user disabled in the tenant is disabled in the vault without anyone asking."""
    import asyncio

    from credsync.agent.loop import Agent

    world, tenant, importer = msp
    hal = _user(tenant, "hal")
    importer.sync(world.admin, [hal])
    tenant.disable(hal)
    asyncio.run(Agent(world.vault, world.keys, world.admin, poll_seconds=0.05).run(once=True))
    operator = world.vault.operators.get(world.admin, f"hal@{tenant.domain}")
    assert operator.disabled_at is not None
    [link] = world.vault.operator_sign_in.links(world.admin)
    assert link.review == "disabled in the tenant"
