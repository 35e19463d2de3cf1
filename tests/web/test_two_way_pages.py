"""Two-way mode on the dashboard, in-process: offered (as "two-way") only to an operator with
directory.setup, refused to one without, and switched to only after a page naming the
accounts it overwrites; the client's default likewise."""

from __future__ import annotations

from credsync.types import SyncMode

from .conftest import WebWorld
from .test_credential_forms import _add_directory, _last_seq, _post


def test_switching_a_credential_to_two_way_is_confirmed_and_needs_directory_setup(
    web: WebWorld,
) -> None:
    _add_directory(web)
    path = f"/credentials/{web.ids['credential']}"
    technician = web.signed_in("technician")
    shown = technician.get(path).text
    assert '<option value="two_way"' not in shown  # needs directory.setup
    before = _last_seq(web)
    refused = _post(technician, f"{path}/sync-mode", sync_mode="two_way", version="1")
    assert refused[0] == 403
    assert "directory.setup" in refused[2]
    refused = _post(
        technician, f"{path}/sync-mode", sync_mode="two_way", version="1", confirm="yes"
    )
    assert refused[0] == 403
    after = [e for e in web.world.vault.audit.list(web.world.admin, limit=10) if e.seq > before]
    assert {e.action for e in after} == {"permission.denied"}

    manager = web.signed_in("directory_manager")
    offered = manager.get(path).text
    assert '<option value="two_way">two-way</option>' in offered
    status, _, page = _post(manager, f"{path}/sync-mode", sync_mode="two_way", version="1")
    assert status == 200
    assert "<h1>Switch Domain admin to two-way?</h1>" in page
    assert "In two-way mode the vault&#39;s changes are pushed for" in page
    assert "contoso-ad" in page
    assert "(not linked yet)" in page
    assert ">Switch to two-way</button>" in page
    cred = web.world.vault.credentials.get(web.world.admin, web.ids["credential"])
    assert cred.sync_mode is None  # nothing done yet

    status, _, page = _post(
        manager, f"{path}/sync-mode", sync_mode="two_way", version="1", confirm="yes"
    )
    assert status == 303
    assert "Sync mode: two-way." in page
    assert "<dd>two-way" in page
    cred = web.world.vault.credentials.get(web.world.admin, web.ids["credential"])
    assert cred.sync_mode is SyncMode.TWO_WAY


def test_a_default_switched_to_two_way_names_the_accounts_first(web: WebWorld) -> None:
    vault, admin = web.world.vault, web.world.admin
    client = web.ids["client"]
    _add_directory(web)
    fields = {"name": "Contoso", "settings": "on", "directory_sync": "on"}
    technician = web.signed_in("technician")
    refused = _post(
        technician, f"/clients/{client}/edit", default_sync_mode="two_way", version="1", **fields
    )
    assert refused[0] == 403

    browser = web.signed_in("directory_manager")
    form = browser.get(f"/clients/{client}/edit").text
    assert '<option value="two_way">two-way</option>' in form
    status, _, page = _post(
        browser, f"/clients/{client}/edit", default_sync_mode="two_way", version="1", **fields
    )
    assert status == 200
    assert "<h1>Switch Contoso's default to two-way?</h1>" in page
    assert "Domain admin" in page
    assert vault.clients.get(admin, client).default_sync_mode is SyncMode.REPORT
    status, _, page = _post(
        browser,
        f"/clients/{client}/edit",
        default_sync_mode="two_way",
        version="1",
        confirm="yes",
        **fields,
    )
    assert status == 303
    assert vault.clients.get(admin, client).default_sync_mode is SyncMode.TWO_WAY
    assert "Default sync mode</dt><dd>two-way</dd>" in page
