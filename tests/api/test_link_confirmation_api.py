"""Issue 13, finding 1 through the API: a credential made by an operator without
directory.setup never leads to a push of a directory account it happens to match (the real
Samba AD DC), and only operators with directory.setup confirm the links waiting."""

from __future__ import annotations

from typing import Any

from sync.helpers import build_sync_world
from sync.test_enforce_mode import binds
from sync.test_link_confirmation import ATTACKER_PASSWORD, _assert_untouched, _enforce_client

from .conftest import ApiWorld


def test_a_vault_writer_cannot_take_over_an_unlinked_account(api: ApiWorld, ad_ou: Any) -> None:
    sw = build_sync_world(api.world, ad_ou)
    victim = sw.ad.create_user()
    _enforce_client(sw)
    technician = api.as_role("technician")
    created = technician.post(
        f"/api/v1/clients/{sw.client}/credentials",
        json={"title": "Via API", "username": victim.name, "password": ATTACKER_PASSWORD},
    )
    assert created.status_code == 201, created.text
    cred_id = created.json()["id"]
    assert created.json()["effective_sync_mode"] == "enforce"
    run = sw.run()
    assert sw.items(run)[cred_id] == ("mismatch", "verify")
    _assert_untouched(sw, victim)
    assert binds(sw, victim.dn, victim.password)
    assert sw.flags()[cred_id] == "awaiting_confirmation"
