"""The clients page in-process (issue 20: 500 clients): a page of clients at a time by name
with a "next" link, a search by name, the counts read for the page's clients; an operator
who reaches some clients sees neither the others' rows nor their counts."""

from __future__ import annotations

import html
import re

from fastapi.testclient import TestClient

from credsync.web.routes.vault import CLIENTS_PAGE_SIZE
from vault.flag_seed import seed_flags

from .conftest import WebWorld, page_text

_NEXT = re.compile(r'<a href="(/\?[^"]*after=[^"]+)">Next clients</a>')
_ROW = re.compile(r'<th scope="row"><a href="/clients/[^"]+">([^<]+)</a></th>')
MORE = CLIENTS_PAGE_SIZE + 12  # clients added to Contoso: two pages and a bit


def _walk(browser: TestClient, path: str) -> tuple[list[str], int]:
    """Every client's name on the pages from ``path`` on, following "next"; and the pages."""
    names: list[str] = []
    pages = 0
    next_path: str | None = path
    while next_path is not None:
        response = browser.get(next_path)
        assert response.status_code == 200
        pages += 1
        names += [html.unescape(n) for n in _ROW.findall(response.text)]
        found = _NEXT.search(response.text)
        next_path = html.unescape(found.group(1)) if found else None
        assert pages <= 10, "the pages go round in circles"
    return names, pages


def _add_clients(web: WebWorld, count: int) -> list[str]:
    names = [f"Client {n:03d}" for n in range(count)]
    for name in names:
        web.world.vault.clients.add(web.world.admin, web.world.keys, name)
    return names


def test_the_clients_come_a_page_at_a_time_by_name(web: WebWorld) -> None:
    names = _add_clients(web, MORE)
    browser = web.signed_in("viewer")
    first = browser.get("/")
    assert f"{MORE + 1} clients;" in page_text(first.text)
    assert len(_ROW.findall(first.text)) == CLIENTS_PAGE_SIZE
    shown, pages = _walk(browser, "/")
    assert pages == 2
    assert shown == sorted([*names, "Contoso"], key=str.casefold)  # each once, by name
    second = browser.get(html.unescape(_NEXT.findall(first.text)[0])).text
    assert '<a href="/">First page</a>' in second


def test_a_search_by_name_pages_through_the_matches(web: WebWorld) -> None:
    _add_clients(web, MORE)
    browser = web.signed_in("viewer")
    found = browser.get("/", params={"q": "  CLIENT 0"})  # any case, spaces around
    text = page_text(found.text)
    matches = [f"Client {n:03d}" for n in range(min(MORE, 100))]
    assert f"{len(matches)} clients whose name contains “CLIENT 0”" in text
    shown, pages = _walk(browser, "/?q=client+0")
    assert shown == matches
    assert pages == 2
    assert "q=CLIENT+0" in _NEXT.findall(found.text)[0]  # the next page keeps the search
    none = browser.get("/", params={"q": "%_"})  # LIKE's wildcards are plain characters
    assert none.status_code == 200
    assert "No client's name contains “%_”." in page_text(none.text)
    too_long = browser.get("/", params={"q": "x" * 201})
    assert too_long.status_code == 400  # a clear error page, nothing searched


def test_an_operator_sees_only_their_clients_rows_and_counts(web: WebWorld) -> None:
    vault, admin, keys = web.world.vault, web.world.admin, web.world.keys
    _add_clients(web, MORE)
    vault.clients.add(admin, keys, "Fabrikam")
    seed_flags(web.world, "Contoso", 3, directory="contoso-ad")
    seed_flags(web.world, "Fabrikam", 7, directory="fabrikam-ad", title="Secret")
    vault.operators.set_clients(admin, "op-technician", ["Contoso", "Client 007"])

    technician = web.signed_in("technician")
    page = technician.get("/").text
    assert _ROW.findall(page) == ["Client 007", "Contoso"]
    text = page_text(page)
    assert "2 clients; 3 open flags ." in text
    assert "Fabrikam" not in page
    assert _NEXT.search(page) is None
    # A search or a cursor past their clients finds nothing of the others.
    assert _ROW.findall(technician.get("/", params={"q": "fabrikam"}).text) == []
    assert _ROW.findall(technician.get("/", params={"after": "client 007"}).text) == ["Contoso"]

    everyone = page_text(web.signed_in("admin").get("/").text)
    assert f"{MORE + 2} clients; 10 open flags ." in everyone
