"""The overview page and the runs list's filters on the dashboard (the read model's figures
are tested in tests/sync/test_overview.py)."""

from __future__ import annotations

from .conftest import WebWorld


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
