"""Quarantine on the dashboard, in-process, against the Graph simulator: a mass disable held by
a run is listed on /quarantine, the restore's dry run is shown first (nothing changes in the
tenant), "Restore now" enables the accounts; a viewer sees the list without the buttons, a
technician's decision is the 403 page."""

from __future__ import annotations

from typing import Any

from credsync.types import SyncMode
from sync.entra import EntraWorld
from sync.helpers import update_directory

from .conftest import WebWorld, csrf_of, page_text
from .entra_pages import directory_id, ew, graph_sim

__all__ = ["ew", "graph_sim"]  # the fixtures, shared with tests/sync


def _held(ew: EntraWorld, count: int) -> list[Any]:
    users = [ew.add_user() for _ in range(count + 1)]
    for user in users:
        ew.add(user, mode=SyncMode.ENFORCE)
    ew.run()
    ew.confirm()
    ew.later()
    ew.run(full=True)
    update_directory(ew.vault, ew.admin, ew.directory,
                     options={"inbound_cap": count - 1, "inbound_cap_percent": 0})  # fmt: skip
    for user in users[:count]:
        ew.tenant.disable(user.id)
    ew.later()
    assert f"{count} links held in quarantine" in ew.run(full=True).message
    return users[:count]


def test_the_list_the_dry_run_and_the_restore(web: WebWorld, ew: EntraWorld) -> None:
    users = _held(ew, 3)
    directory = directory_id(ew)
    viewer = web.signed_in("viewer")
    seen = viewer.get(f"/quarantine?directory={directory}")
    assert seen.status_code == 200, seen.text
    assert all(u.upn in seen.text for u in users)
    assert 'formaction="/quarantine/restore"' not in seen.text
    assert "Deciding needs vault.write" in seen.text

    technician = web.signed_in("technician")
    data = {"csrf_token": csrf_of(technician.get("/").text), "directory": directory}
    refused = technician.post("/quarantine/restore", data=data)
    assert refused.status_code == 403
    assert "directory.setup" in refused.text

    manager = web.signed_in("directory_manager")
    listed = manager.get(f"/quarantine?directory={directory}")
    assert 'formaction="/quarantine/restore"' in listed.text
    data = {"csrf_token": csrf_of(listed.text), "directory": directory}
    dry = manager.post("/quarantine/restore", data={**data, "dry_run": "yes"})
    assert dry.status_code == 200, dry.text
    assert "3 would" in page_text(dry.text)
    assert "Restore now" in dry.text
    assert all(ew.tenant.get_user(u.id)["accountEnabled"] is False for u in users)

    done = manager.post("/quarantine/restore", data=data)
    assert done.status_code == 200, done.text
    assert "3 done" in page_text(done.text)
    assert all(ew.tenant.get_user(u.id)["accountEnabled"] is not False for u in users)
    assert "Nothing in quarantine." in manager.get("/quarantine").text


def test_accepting_chosen_items(web: WebWorld, ew: EntraWorld) -> None:
    _held(ew, 3)
    manager = web.signed_in("directory_manager")
    listed = manager.get("/quarantine")
    items = sorted({part.split('"')[0] for part in listed.text.split('name="item:')[1:]})
    assert len(items) == 3
    data = {"csrf_token": csrf_of(listed.text), f"item:{items[0]}": "1"}
    done = manager.post("/quarantine/accept", data=data)
    assert "1 done" in page_text(done.text)
    assert len(ew.vault.audit.list(ew.admin, action="quarantine.accepted")) == 1
    left = manager.get("/quarantine").text
    assert items[0] not in left
    assert items[1] in left
