"""Revision 0013 makes the search index anew with folded words (credsync.storage.words):
credentials stored before it are found by "cafe" and "wifi" after the upgrade, and the
downgrade gives back the terms revision 0010 made, on both backends."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command

from credsync.storage.migrate import alembic_config
from vault.helpers import VaultWorld, add_cred


def _terms(world: VaultWorld, credential_id: str) -> set[str]:
    with world.db.read() as conn:
        found = conn.execute(
            sa.text("SELECT term FROM search_terms WHERE credential_id = :id"),
            {"id": credential_id},
        )
        return set(found.scalars())


def test_the_index_is_made_anew_with_folded_words_and_back(world: VaultWorld) -> None:
    vault, admin = world.vault, world.admin
    vault.clients.add(admin, world.keys, "Contoso")
    cafe = add_cred(world, "Contoso", "Café terrace", username="José", tags=["été"])
    wifi = add_cred(world, "Contoso", "Wi-Fi router", url="https://www.router.test/admin")
    trashed = add_cred(world, "Contoso", "Gäste Wi-Fi")
    vault.credentials.delete(admin, trashed.id)
    new_terms = {c.id: _terms(world, c.id) for c in (cafe, wifi, trashed)}

    with world.db.engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0010")
    assert _terms(world, cafe.id) == {"café", "terrace", "josé", "été"}
    assert _terms(world, wifi.id) == {"wi", "fi", "router", "test", "admin"}
    assert _terms(world, trashed.id) == {"gäste", "wi", "fi"}

    world.db.upgrade()
    assert {c.id: _terms(world, c.id) for c in (cafe, wifi, trashed)} == new_terms
    assert new_terms[cafe.id] == {"cafe", "terrace", "jose", "ete"}
    # Up to the newest revision: 0041 also leaves out "wi", which starts "wifi".
    assert new_terms[wifi.id] == {"fi", "wifi", "router", "test", "admin"}
    assert new_terms[trashed.id] == {"gaste", "fi", "wifi"}

    def found(text: str) -> list[str]:
        return [c.title for c in vault.credentials.search(admin, text, client_ref="Contoso")]

    assert found("cafe") == ["Café terrace"]
    assert found("wifi") == ["Wi-Fi router"]
    assert found("wi fi") == ["Wi-Fi router"]
    vault.credentials.restore(admin, trashed.id)
    assert found("gaste wifi") == ["Gäste Wi-Fi"]
