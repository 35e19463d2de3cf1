"""The overview page and the runs list's filters on the dashboard (the read model's figures
are tested in tests/sync/test_overview.py)."""

from __future__ import annotations

import datetime as dt

import pytest

from credsync.storage.tables import credentials
from credsync.sync import overview as overview_model
from credsync.types import Secret
from credsync.vault.drafts import make_draft
from vault.flag_seed import add_ad_directory, seed_flags

from .conftest import WebWorld, page_text


def test_the_overview_shows_directories_charts_and_ages(web: WebWorld) -> None:
    browser = web.signed_in("viewer")
    page = browser.get("/overview")
    assert page.status_code == 200
    html = page.text
    assert "<h1>Overview</h1>" in html
    assert "No directories yet." in html  # the template vault has none (a viewer can't add)
    assert "Clients without a directory" in html
    assert html.count('<svg class="chart"') == 2
    assert "Runs, the last 30 days" in html
    assert "Flags, the last 30 days" in html
    assert 'role="img" aria-label="Runs a day, ' in html
    assert "Password age" in html
    assert "Contoso" in html
    assert "<script" not in html.split("</main>")[0].split("<main")[1]
    admin = web.signed_in("admin").get("/overview").text
    assert '<a href="/directories/new">add one</a>' in admin


def test_the_runs_list_filters_by_state_and_refuses_a_state_that_is_none(web: WebWorld) -> None:
    browser = web.signed_in("viewer")
    none = browser.get("/runs?state=failed")
    assert none.status_code == 200
    assert "No runs match." in none.text
    assert '<option value="failed" selected>' in none.text
    bad = browser.get("/runs?state=sideways")
    assert bad.status_code == 400
    assert "must be one of running, done, aborted, failed" in bad.text
    missing = browser.get("/runs?directory=nowhere")
    assert missing.status_code == 404


def test_with_many_directories_and_clients_the_overview_shows_those_needing_attention(
    web: WebWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past SHOWN directories (and clients), the overview lists those that need a look most
    and says so; an operator who reaches some clients sees nothing of the others."""
    vault, admin, keys = web.world.vault, web.world.admin, web.world.keys
    monkeypatch.setattr(overview_model, "SHOWN", 1)
    vault.clients.add(admin, keys, "Fabrikam")
    vault.clients.add(admin, keys, "Northwind", rotate_every_days=30)
    seed_flags(web.world, "Fabrikam", 2, directory="fabrikam-ad", title="Secret")
    add_ad_directory(web.world, "Contoso", "contoso-ad")  # no flags, nothing to see
    vault.credentials.add(
        admin, keys, "Northwind", make_draft(title="Old one", password=Secret("Old-Pa55word-1!"))
    )
    with web.world.db.write() as conn:  # a password changed long ago: overdue
        conn.execute(
            credentials.update()
            .where(credentials.c.title == "Old one")
            .values(password_changed_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=400))
        )
    text = page_text(web.signed_in("admin").get("/overview").text)
    assert "The 1 of 2 directories that need attention most" in text
    assert "fabrikam-ad" in text
    assert "contoso-ad" not in text
    assert "The 1 of 3 clients with the most credentials overdue for rotation" in text
    ages = text.split("Password age")[1]
    assert "Northwind" in ages
    assert "Contoso" not in ages

    vault.operators.set_clients(admin, "op-technician", ["Contoso"])
    mine = page_text(web.signed_in("technician").get("/overview").text)
    assert "fabrikam-ad" not in mine
    assert "Fabrikam" not in mine
    assert "Northwind" not in mine
    assert "No open flags" in mine
    assert "contoso-ad" in mine
