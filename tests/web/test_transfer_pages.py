"""CSV import and export on the dashboard, in-process: a dry run or a real import answers the
per-row report the vault's service returns (strict writes nothing when a row is rejected);
the upload is checked for the permission before it is read, is at most the API's 32 MiB and
stays in memory; the export is a download with the CLI's audit entry."""

from __future__ import annotations

import csv
import io
import tempfile
from typing import Any

import pytest
from fastapi.testclient import TestClient

from credsync.vault.csvio import MAX_IMPORT_BYTES
from credsync.web.routes.transfer import DOWNLOAD

from .conftest import SECRET, WebWorld, csrf_of

GOOD = "Imp-Pa55-word-1!"
CSV = (
    "title,username,password,folder\r\n"
    f"Printer,svc-print,{GOOD},Devices\r\n"
    ",nobody,Imp-Pa55-word-2!,\r\n"
    "Router,admin,Imp-Pa55-word-3!,Devices,extra\r\n"
).encode()


def _import(
    web: WebWorld,
    browser: TestClient,
    data: bytes | None,
    *,
    name: str = "devices.csv",
    **fields: str,
) -> Any:
    path = f"/clients/{web.ids['client']}/import"
    form = {"csrf_token": csrf_of(browser.get(path).text), **fields}
    files = {"csv": (name, data, "text/csv")} if data is not None else None
    return browser.post(path, data=form, files=files)


def _titles(web: WebWorld) -> list[str]:
    found = web.world.vault.credentials.list(web.world.admin, web.ids["client"], limit=100)
    return sorted(c.title for c in found.items)


def test_a_dry_run_reports_each_rejected_row_and_writes_nothing(web: WebWorld) -> None:
    browser = web.signed_in("technician")
    client_page = browser.get(f"/clients/{web.ids['client']}").text
    assert f'href="/clients/{web.ids["client"]}/import"' in client_page
    form = browser.get(f"/clients/{web.ids['client']}/import").text
    assert 'enctype="multipart/form-data"' in form
    assert '<label for="csv">' in form
    before = _titles(web)
    response = _import(web, browser, CSV, action="check")
    assert response.status_code == 200
    page = response.text
    assert "<h1>Checked devices.csv</h1>" in page
    assert "Dry run: nothing was written. 1 of 3 rows would be imported, 2 rejected." in page
    assert '<tr><td class="num">3</td><th scope="row">-</th><td>title must not be empty</td>' in (
        page
    )
    assert '<td class="num">4</td><th scope="row">Router</th><td>row has 5 fields' in page
    assert "Devices" in page  # the folder a real import would create
    assert GOOD not in page
    assert _titles(web) == before
    assert web.world.vault.audit.list(web.world.admin, action="import") == []


def test_an_import_writes_the_rows_that_pass_and_is_audited(web: WebWorld) -> None:
    browser = web.signed_in("technician")
    response = _import(web, browser, CSV, action="import")
    assert response.status_code == 200
    assert "Imported 1 of 3 rows; 2 rejected: nothing of them was written." in response.text
    assert "Printer" in _titles(web)
    [entry] = web.world.vault.audit.list(web.world.admin, action="import")
    assert entry.actor == "op-technician"
    assert (entry.details["source"], entry.details["imported"]) == ("devices.csv", 1)
    assert entry.details["sha256"] in response.text

    # Strict: a rejected row and nothing is written.
    response = _import(web, browser, CSV, action="import", strict="on", name="again.csv")
    assert response.status_code == 400
    assert "<h1>Nothing imported from again.csv</h1>" in response.text
    assert "3 of 3 rows were rejected; strict import wrote nothing." in response.text
    assert "duplicate of an existing credential" in response.text  # Printer, now
    assert len(web.world.vault.audit.list(web.world.admin, action="import")) == 1
    # Generated passwords for empty ones, from a policy.
    rows = b"title,password\r\nKiosk,\r\n"
    response = _import(web, browser, rows, action="import", generate_missing="on", policy="default")
    assert response.status_code == 200
    assert "Imported 1 of 1 row." in response.text


def test_a_bad_file_or_none_comes_back_to_the_form(web: WebWorld) -> None:
    browser = web.signed_in("technician")
    response = _import(web, browser, None, action="import")
    assert response.status_code == 400
    assert '<a href="#csv">Choose the CSV file to import.</a>' in response.text
    response = _import(web, browser, b"name;secret\r\nx;y\r\n", action="import")
    assert response.status_code == 400
    assert '<a href="#csv">' in response.text
    assert "Line 1: unknown column" in response.text
    response = _import(web, browser, b"", action="import")
    assert response.status_code == 400
    assert "is empty: a header row is required" in response.text
    response = _import(
        web, browser, b"title,password\r\nA,\r\n",
        action="import", generate_missing="on", policy="nope",
    )  # fmt: skip
    assert response.status_code == 400
    assert '<a href="#policy">No password policy named &#39;nope&#39;' in response.text
    assert web.world.vault.audit.list(web.world.admin, action="import") == []


def test_a_file_past_the_forms_1_mib_limit_is_taken_by_the_import(web: WebWorld) -> None:
    """The server refuses form bodies over 1 MiB (server/middleware.py); the import declares
    its own 32 MiB, as the API's does."""
    rows = [f"Device {n:05d} {'x' * 150},user{n:05d},Imp-Pa55-word-{n}!" for n in range(7000)]
    data = ("title,username,password\r\n" + "\r\n".join(rows) + "\r\n").encode()
    assert len(data) > 2**20
    browser = web.signed_in("technician")
    response = _import(web, browser, data, name="big.csv", action="check")
    assert response.status_code == 200, response.text[:300]
    assert "7000 of 7000 rows would be imported" in response.text


def test_the_upload_is_refused_past_32_mib_and_without_the_permission(web: WebWorld) -> None:
    path = f"/clients/{web.ids['client']}/import"
    browser = web.signed_in("technician")
    token = csrf_of(browser.get(path).text)
    too_large = b"title,password\r\n" + b"x" * MAX_IMPORT_BYTES
    response = browser.post(path, data={"csrf_token": token}, files={"csv": ("big.csv", too_large)})
    assert response.status_code == 413  # by its Content-Length, before any route (middleware)
    assert "larger than 32 MiB" in response.text
    declared = browser.post(
        path,
        content=b"--x--\r\n",
        headers={
            "Content-Type": "multipart/form-data; boundary=x",
            "Content-Length": str(MAX_IMPORT_BYTES * 2),
        },
    )
    assert declared.status_code == 413
    # A viewer is refused before the body is read (the permission comes first), once it is
    # under the server's ceiling (32 MiB, checked by its Content-Length before any route).
    viewer = web.signed_in("viewer")
    response = viewer.post(
        path,
        content=b"--x--\r\n",
        headers={
            "Content-Type": "multipart/form-data; boundary=x",
            "Content-Length": str(2 * 2**20),
        },
    )
    assert response.status_code == 403
    assert "vault.write" in response.text
    wrong = browser.post(path, content=b"title,password\r\n", headers={"Content-Type": "text/csv"})
    assert wrong.status_code == 415
    assert web.world.vault.audit.list(web.world.admin, action="import") == []


def test_the_upload_never_goes_to_a_temporary_file(
    web: WebWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Starlette keeps an uploaded file in memory up to 1 MiB and then in a temporary file:
    a CSV of passwords must stay in memory (the spool never rolls over)."""
    files: list[Any] = []
    real = tempfile.TemporaryFile

    def recording(*args: Any, **kwargs: Any) -> Any:
        files.append(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(tempfile, "TemporaryFile", recording)
    rows = [f"Account {n},user{n},Pa55-word-{n:06d}!,{'n' * 40}" for n in range(40_000)]
    data = ("title,username,password,notes\r\n" + "\r\n".join(rows) + "\r\n").encode()
    assert len(data) > 2 * 1024 * 1024
    browser = web.signed_in("technician")
    response = _import(web, browser, data, action="check")
    assert response.status_code == 200
    assert "40000 of 40000 rows would be imported" in response.text
    assert files == []


def test_export_downloads_the_csv_after_the_audit_entry(web: WebWorld) -> None:
    client = web.ids["client"]
    browser = web.signed_in("admin")
    assert f'href="/clients/{client}/export"' in browser.get(f"/clients/{client}").text
    page = browser.get(f"/clients/{client}/export")
    assert page.status_code == 200
    assert "in the clear" in page.text
    assert SECRET not in page.text
    response = browser.post(f"/clients/{client}/export", data={"csrf_token": csrf_of(page.text)})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"] == (
        'attachment; filename="Contoso-credentials.csv"'
    )
    assert response.headers["cache-control"] == "no-store"
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert {r["title"]: r["password"] for r in rows}["Domain admin"] == SECRET
    [entry] = web.world.vault.audit.list(web.world.admin, action="export")
    assert (entry.actor, entry.details) == ("alice", {"destination": DOWNLOAD, "credentials": 2})
    # The export's permissions: a technician has no vault.export.
    technician = web.signed_in("technician")
    assert 'href="/clients/' + client + '/export"' not in technician.get(f"/clients/{client}").text
    refused = technician.post(
        f"/clients/{client}/export", data={"csrf_token": web.csrf(technician)}
    )
    assert refused.status_code == 403
    assert "vault.export" in refused.text
    assert SECRET not in refused.text
    # What an export writes imports back as it was (into another client).
    web.world.vault.clients.add(web.world.admin, web.world.keys, "Copy")
    copy = web.world.vault.clients.get(web.world.admin, "Copy")
    path = f"/clients/{copy.id}/import"
    imported = browser.post(
        path,
        data={"csrf_token": csrf_of(browser.get(path).text), "action": "import"},
        files={"csv": ("export.csv", response.content, "text/csv")},
    )
    assert imported.status_code == 200
    assert "Imported 2 of 2 rows." in imported.text
