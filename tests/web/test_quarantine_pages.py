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


def test_the_vault_wide_thresholds_form(web: WebWorld) -> None:
    admin = web.signed_in("admin")
    page = admin.get("/quarantine")
    assert 'id="quarantine-defaults-form"' in page.text
    data = {"csrf_token": csrf_of(page.text), "push_cap": "250", "push_cap_percent": "",
            "inbound_cap": "", "inbound_cap_percent": "101"}  # fmt: skip
    refused = admin.post("/quarantine/defaults", data=data)
    assert refused.status_code == 400
    assert "Inbound_cap_percent must be 0 to 100, not 101" in page_text(refused.text)
    assert 'id="inbound_cap_percent" name="inbound_cap_percent" value="101"' in refused.text
    shown = web.world.vault.quarantine_defaults.show(web.world.admin)
    assert shown["push_cap"]["vault"] is None  # nothing stored

    saved = admin.post("/quarantine/defaults", data={**data, "inbound_cap_percent": "15"})
    assert saved.status_code == 303, saved.text
    shown_page = admin.get(saved.headers["location"])
    assert "The vault-wide thresholds are saved." in shown_page.text
    shown = web.world.vault.quarantine_defaults.show(web.world.admin)
    assert (shown["push_cap"]["vault"], shown["inbound_cap_percent"]["vault"]) == (250, 15)
    assert shown["inbound_cap"]["vault"] is None  # empty: the built-in
    [entry] = web.world.vault.audit.list(web.world.admin, action="quarantine.defaults_set")
    assert entry.details == {"push_cap": 250, "push_cap_percent": None, "change_cap": None,
                             "change_cap_percent": None, "inbound_cap": None,
                             "inbound_cap_percent": 15}  # fmt: skip

    viewer = web.signed_in("viewer")
    seen = viewer.get("/quarantine").text
    assert "quarantine-defaults-form" not in seen
    assert "vault-wide, set by" in seen
    refused = viewer.post("/quarantine/defaults", data={**data, "csrf_token": csrf_of(seen)})
    assert refused.status_code == 403
    assert web.world.vault.quarantine_defaults.show(web.world.admin)["push_cap"]["vault"] == 250
