"""Search on the dashboard: the header's box on every signed-in page, a client's box, and
the results page (filters, at most 100 results with a note, no results, bad input as an error
on the page), in-process over a copy of the template vault."""

from __future__ import annotations

import datetime as dt
import io
import re

from credsync.storage.tables import links
from sync.helpers import add_directory
from vault.helpers import add_cred

from .conftest import SECRET, WebWorld

OTHER_SECRET = "Fabrikam-Backup-Pa55!"
MISMATCH = (
    'contoso-365:</span> <span class="badge badge-warn" title="mismatch">password differs</span>'
)


def _rows(html: str) -> list[str]:
    """The titles of the results table, in order."""
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0] if "<tbody>" in html else ""
    return re.findall(r'<th scope="row"><a href="/credentials/[^"]+">([^<]*)</a>', body)


def _add_fabrikam(web: WebWorld) -> dict[str, str]:
    """Client Fabrikam with two credentials (one tagged, in a folder, with a url), and a check
    of Contoso's Domain admin in a directory (status mismatch)."""
    w = web.world
    fabrikam = w.vault.clients.add(w.admin, w.keys, "Fabrikam")
    backup = add_cred(
        w,
        "Fabrikam",
        "Backup admin",
        OTHER_SECRET,
        username="fabrikam\\backup",
        url="https://backup.fabrikam.example/console",
        tags=["backup", "prod"],
        folder_path="Servers/Backup",
    )
    add_cred(w, "Fabrikam", "Wifi", OTHER_SECRET, username="guest")
    directory = add_directory(
        w.vault,
        w.admin,
        "Contoso",
        "contoso-365",
        kind="entra",
        url=None,
        base_dn=None,
        bind_credential=web.ids["bind"],
        tenant_id="00000000-0000-0000-0000-000000000001",
        app_id="00000000-0000-0000-0000-000000000002",
        bind_kind="secret",
    )
    with w.db.write() as conn:
        conn.execute(
            links.insert().values(
                credential_id=web.ids["credential"],
                directory_id=directory.id,
                account_id="account-1",
                linked_at=dt.datetime.now(dt.UTC),
                linked_by="test",
                status="mismatch",
            )
        )
    return {"fabrikam": fabrikam.id, "backup": backup.id}


def test_every_signed_in_page_has_a_labelled_search_box(web: WebWorld) -> None:
    browser = web.signed_in("viewer")
    for path in ("/", f"/clients/{web.ids['client']}", "/flags", "/search"):
        html = browser.get(path).text
        assert '<form class="site-search" role="search" aria-label="Search the vault"' in html
        assert 'method="get" action="/search"' in html
        assert '<label for="site-search-q" class="sr-only">Search credentials</label>' in html
        assert 'id="site-search-q" name="q"' in html
    assert 'role="search"' not in web.http.get("/sign-in").text
    signed_out = web.http.get("/search?q=admin&client=Contoso")
    assert signed_out.status_code == 303
    assert signed_out.headers["location"].startswith("/sign-in?next=/search")


def test_results_across_clients_with_links_fields_and_checks(web: WebWorld) -> None:
    ids = _add_fabrikam(web)
    browser = web.signed_in("viewer")  # vault.read is enough
    response = browser.get("/search?q=admin")
    assert response.status_code == 200
    html = response.text
    assert _rows(html) == ["Backup admin", "Domain admin"]
    assert "2 credentials match, by title." in html
    assert 'value="admin"' in html  # the query kept in the box
    assert f'<a href="/credentials/{ids["backup"]}">Backup admin</a>' in html
    assert f'<a href="/clients/{ids["fabrikam"]}">Fabrikam</a>' in html
    assert f'<a href="/clients/{web.ids["client"]}">Contoso</a>' in html
    for shown in ("fabrikam\\backup", "https://backup.fabrikam.example/console", "Servers/Backup"):
        assert shown in html
    assert '<span class="tag mono">backup</span><span class="tag mono">prod</span>' in html
    assert MISMATCH in html
    assert "not checked" in html  # Backup admin has no check
    assert SECRET not in html
    assert OTHER_SECRET not in html
    # Prefixes of several words, any case; the url's words count.
    assert _rows(browser.get("/search?q=CONS+fab").text) == ["Backup admin"]


def test_the_client_and_tag_filters(web: WebWorld) -> None:
    ids = _add_fabrikam(web)
    browser = web.signed_in("technician")
    client_page = browser.get(f"/clients/{web.ids['client']}").text
    assert MISMATCH in client_page  # the same checks cell as the results
    box = 'aria-label="Search Contoso\'s credentials" method="get" action="/search"'
    assert box in client_page
    assert f'<input type="hidden" name="client" value="{web.ids["client"]}">' in client_page
    assert '<label for="client-search-q">Search Contoso\'s credentials</label>' in client_page
    html = browser.get(f"/search?q=admin&client={web.ids['client']}").text
    assert _rows(html) == ["Domain admin"]
    assert "<h1>Search Contoso</h1>" in html
    assert f'<option value="{web.ids["client"]}" selected>Contoso</option>' in html
    assert f'<option value="{ids["fabrikam"]}">Fabrikam</option>' in html
    # A client by name, as in the CLI; the tag filter; both with no match.
    assert _rows(browser.get("/search?q=admin&client=fabrikam").text) == ["Backup admin"]
    assert _rows(browser.get("/search?q=admin&tag=PROD").text) == ["Backup admin"]
    none = browser.get("/search?q=admin&client=Contoso&tag=prod")
    assert none.status_code == 200
    assert _rows(none.text) == []
    assert "No credential matches <strong>admin</strong> in Contoso with the tag" in none.text


def test_only_what_the_operator_may_see(web: WebWorld) -> None:
    # The bind credential (directory_admin) needs directory_admin.use, as on the client page.
    assert _rows(web.signed_in("technician").get("/search?q=graph").text) == []
    assert _rows(web.signed_in("admin").get("/search?q=graph").text) == ["Graph app"]
    # Archived clients are left out.
    _add_fabrikam(web)
    web.world.vault.clients.set_archived(web.world.admin, "Fabrikam", True)
    assert _rows(web.signed_in("admin").get("/search?q=admin").text) == ["Domain admin"]


def test_at_most_100_results_and_a_note_to_narrow(web: WebWorld) -> None:
    lines = (f"Account {n:03d},user{n:03d}@contoso.example,Pa55-{n}!\n" for n in range(130))
    data = io.BytesIO(("title,username,password\n" + "".join(lines)).encode())
    w = web.world
    w.vault.csv.import_csv(w.admin, w.keys, "Contoso", data, source_name="accounts.csv")
    browser = web.signed_in("viewer")
    html = browser.get("/search?q=account").text
    assert len(_rows(html)) == 100
    assert "More than 100 credentials match" in html
    assert "Narrow your search" in html
    narrowed = browser.get("/search?q=account+user12").text
    assert _rows(narrowed) == [f"Account {n:03d}" for n in range(120, 130)]
    assert "10 credentials match, by title." in narrowed
    assert "Narrow your search" not in narrowed


def test_bad_input_is_an_error_on_the_page(web: WebWorld) -> None:
    browser = web.signed_in("viewer")
    form = browser.get("/search")
    assert form.status_code == 200
    assert "error-summary" not in form.text
    assert "<h2>Results</h2>" not in form.text
    cases = {
        "/search?q=": "The search needs at least one letter or digit.",
        "/search?q=++%21%3F+": "The search needs at least one letter or digit.",
        "/search?q=a+b+c+d+e+f+g+h+i": "The search has too many words (at most 8).",
        "/search?q=" + "a" * 513: "The search is too long (at most 512 characters).",
    }
    for path, message in cases.items():
        response = browser.get(path)
        assert response.status_code == 400, path
        assert response.headers["content-type"].startswith("text/html")
        assert f'<a href="#q">{message}</a>' in response.text, path
        assert 'aria-invalid="true" aria-describedby="q-error"' in response.text
        assert "<h2>Results</h2>" not in response.text
    kept = browser.get("/search?q=a+b+c+d+e+f+g+h+i&client=Contoso&tag=prod").text
    assert 'value="a b c d e f g h i"' in kept  # the form is kept, to correct it
    assert f'<option value="{web.ids["client"]}" selected>Contoso</option>' in kept
    assert 'id="tag" name="tag" value="prod"' in kept
    missing = browser.get("/search?q=admin&client=Nobody")
    assert missing.status_code == 404
    assert '<a href="#client">' in missing.text
    assert "Nobody" in missing.text
    long_tag = browser.get("/search?q=admin&tag=" + "t" * 200)
    assert long_tag.status_code == 400
    assert '<a href="#tag">The tag is too long (at most 128 characters).</a>' in long_tag.text
    escaped = browser.get("/search?q=%3Cscript%3Ealert(1)%3C/script%3E").text
    assert "<script>alert" not in escaped
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in escaped
