"""Quarantine on an Entra directory (the Graph simulator): a mass disable, delete and portal
reset is held, a dry run changes nothing in the tenant, and the restore brings the deleted
users back from the deleted items, enables the disabled ones and pushes the vault's
passwords back (checked by the tenant's own password check)."""

from __future__ import annotations

import asyncio
from typing import Any

from credsync.sync.quarantine_restore import Quarantine
from credsync.types import SyncMode

from .entra import EntraWorld
from .helpers import update_directory


def _enforced(ew: EntraWorld, count: int) -> list[tuple[Any, Any]]:
    pairs = []
    for _ in range(count):
        user = ew.add_user()
        pairs.append((user, ew.add(user, mode=SyncMode.ENFORCE)))
    ew.run()
    ew.confirm()
    ew.later()
    assert ew.run(full=True).state == "done"
    return pairs


def test_a_mass_change_in_entra_is_held_and_restored(ew: EntraWorld) -> None:
    pairs = _enforced(ew, 7)
    update_directory(ew.vault, ew.admin, ew.directory,
                     options={"inbound_cap": 2, "inbound_cap_percent": 0})  # fmt: skip
    tenant = ew.tenant
    ew.later()
    for user, _ in pairs[:2]:
        tenant.disable(user.id)
    for user, _ in pairs[2:4]:
        tenant.soft_delete(user.id)
    tenant.set_password(pairs[4][0].id, "Portal-Reset-9!")
    ew.later()
    report = ew.run(full=True)
    assert report.state == "done"
    assert "5 links held in quarantine" in report.message
    quarantine = Quarantine(ew.vault, ew.keys, ew.admin)
    held = quarantine.list(ew.directory)
    assert sorted(h["action"] for h in held) == [
        "deleted", "deleted", "disabled", "disabled", "password_changed"
    ]  # fmt: skip
    assert tenant.check_password(pairs[4][0].id, "Portal-Reset-9!")  # not pushed back

    writes = tenant.stats["password_writes"]
    dry = asyncio.run(quarantine.restore([], ew.directory, dry_run=True))
    assert dry["totals"] == {"would": 5}
    assert tenant.stats["password_writes"] == writes
    assert all(not tenant.get_user(u.id)["accountEnabled"] for u, _ in pairs[:2])
    assert len(quarantine.list(ew.directory)) == 5

    done = asyncio.run(quarantine.restore([], ew.directory))
    assert done["totals"] == {"done": 5}, done
    for user, _ in pairs[:5]:
        assert tenant.get_user(user.id)["accountEnabled"] is not False
    for user, cred in pairs[2:5]:
        assert tenant.check_password(user.id, ew.reveal(cred))
    assert quarantine.list(ew.directory) == []
    ew.later()
    after = ew.run(full=True)
    assert after.state == "done"
    assert quarantine.list(ew.directory) == []
    assert {ew.status_in(after, c.id) for _, c in pairs} == {"in_sync"}
