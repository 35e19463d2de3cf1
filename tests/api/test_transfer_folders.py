"""Folders, CSV import and export, and purging through the API: what the CLI does locally,
with the same checks, audit entries and reports; refusals in the one error shape, nothing
half-written, and no secret in an answer that is not an export."""

from __future__ import annotations

import csv
import io

from credsync.api.routes.transfer import COUNT_HEADER, MAX_IMPORT_BYTES
from security._safe import check_absent, check_secret, check_secrets
from vault.helpers import audit_of

from .conftest import ApiWorld, assert_error

V1 = "/api/v1"
CSV = {"Content-Type": "text/csv"}
# The other names of the columns (name, login, uri, note, group), in another order.
GOOD_AND_BAD = "".join(
    ",".join(row) + "\r\n"
    for row in [
        ("name", "login", "password", "group", "uri", "note", "tags", "sync_mode", "type"),
        ("DC admin", "CONTOSO\\admin", "Imp-pw-1111!", "Servers", "", "rack 4", "ad;tier0", "", ""),
        ("", "nobody", "Imp-pw-2222!", "", "", "", "", "", ""),
        ("Backup", "svc-backup", "Imp-pw-3333!", "", "", "", "backup", "off", "service_account"),
        ("Broken type", "x", "Imp-pw-4444!", "", "", "", "", "", "spaceship"),
    ]
)
PASSWORDS = {f"password {n}": f"Imp-pw-{n * 1111}!" for n in range(1, 7)}


def _import(
    api: ApiWorld, data: str | bytes, client: str = "Contoso", role: str = "admin", **params
):
    return api.as_role(role).post(
        f"{V1}/clients/{client}/import", content=data, headers=CSV, params=params
    )


def _titles(api: ApiWorld, client: str = "Contoso") -> list[str]:
    page = api.admin.get(f"{V1}/clients/{client}/credentials").json()
    return [c["title"] for c in page["items"]]


def test_folders_import_export_and_purge(api_both: ApiWorld) -> None:
    api, http = api_both, api_both.admin
    for name in ("Contoso", "Fabrikam"):
        assert http.post(f"{V1}/clients", json={"name": name}).status_code == 201

    # Folders: add, list, refuse a taken path, delete by path (slashes escaped or not).
    added = http.post(f"{V1}/clients/Contoso/folders", json={"path": " Servers / DCs "})
    assert added.status_code == 201, added.text
    folder = added.json()
    assert set(folder) == {"id", "client_id", "path", "created_at"}
    assert folder["path"] == "Servers/DCs"
    assert_error(
        http.post(f"{V1}/clients/Contoso/folders", json={"path": "servers/dcs"}),
        409,
        "already_exists",
    )
    http.post(f"{V1}/clients/Contoso/folders", json={"path": "Apps"})
    listed = http.get(f"{V1}/clients/contoso/folders").json()
    assert [f["path"] for f in listed] == ["Apps", "Servers/DCs"]
    assert http.delete(f"{V1}/clients/Contoso/folders/Servers%2FDCs").json() == folder
    assert_error(http.delete(f"{V1}/clients/Contoso/folders/Servers/DCs"), 404, "not_found")
    assert [e.details["path"] for e in audit_of(api.world, "folder.delete")] == ["Servers/DCs"]

    # Import: the good rows written, the bad ones reported by line, audited with the SHA-256.
    imported = _import(api, GOOD_AND_BAD, source="passwords.csv")
    assert imported.status_code == 200, imported.text
    report = imported.json()
    assert (report["client"], report["rows"], report["imported"]) == ("Contoso", 4, 2)
    assert [(r["line"], r["title"]) for r in report["rejected"]] == [(3, ""), (5, "Broken type")]
    assert report["rejected_count"] == 2
    assert report["folders_created"] == ["Servers"]
    assert (len(report["sha256"]), report["dry_run"]) == (64, False)
    check_absent(PASSWORDS, imported.text, "the import report")
    assert _titles(api) == ["Backup", "DC admin"]
    [entry] = audit_of(api.world, "import")
    assert entry.details["source"] == "passwords.csv"
    assert (entry.details["imported"], entry.details["sha256"]) == (2, report["sha256"])
    in_use = http.delete(f"{V1}/clients/Contoso/folders/Servers")
    assert "still holds 1 credential" in assert_error(in_use, 400, "invalid_input")["message"]

    # Strict: one bad row and nothing is written; the refusal carries the report.
    strict = _import(api, "title,password\r\nNew one,Imp-pw-5555!\r\nNo password,\r\n", strict=True)
    error = assert_error(strict, 400, "invalid_input")
    assert "strict import wrote nothing" in error["message"]
    assert (error["report"]["imported"], error["report"]["rejected_count"]) == (0, 1)
    assert error["report"]["rejected"][0]["line"] == 3
    dry = _import(api, "title,password,folder\r\nNew one,Imp-pw-5555!,Dry\r\n", dry_run=True)
    assert (dry.json()["imported"], dry.json()["folders_created"]) == (1, ["Dry"])
    assert _titles(api) == ["Backup", "DC admin"]
    assert len(audit_of(api.world, "import")) == 1

    # Export: the CSV with the passwords, counted, audited, not cached.
    exported = http.post(f"{V1}/clients/Contoso/export", params={"destination": "c.csv"})
    assert exported.status_code == 200, exported.text
    assert exported.headers["content-type"].startswith("text/csv")
    assert exported.headers["cache-control"] == "no-store"
    assert exported.headers[COUNT_HEADER] == "2"
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [(r["title"], r["folder"]) for r in rows] == [("Backup", ""), ("DC admin", "Servers")]
    check_secrets([r["password"] for r in rows], ["Imp-pw-3333!", "Imp-pw-1111!"], "exported")
    assert (rows[1]["notes"], rows[1]["tags"]) == ("rack 4", "ad;tier0")
    [export] = audit_of(api.world, "export")
    assert export.details == {"destination": "c.csv", "credentials": 2}
    # ... and it imports back as it was.
    again = _import(api, exported.content, client="Fabrikam")
    assert (again.json()["imported"], again.json()["rejected"]) == (2, [])
    check_secret(http.post(f"{V1}/clients/Fabrikam/export").text, exported.text, "re-export")

    # Purge: only from the trash, then gone with its history.
    cred = http.get(f"{V1}/clients/Contoso/credentials").json()["items"][0]["id"]
    not_trashed = http.post(f"{V1}/credentials/{cred}/purge")
    assert "not in the trash" in assert_error(not_trashed, 400, "invalid_input")["message"]
    http.delete(f"{V1}/credentials/{cred}")
    assert http.post(f"{V1}/credentials/{cred[:8]}/purge").json() == {"id": cred, "purged": True}
    assert_error(http.get(f"{V1}/credentials/{cred}"), 404, "not_found")
    assert_error(http.post(f"{V1}/credentials/{cred}/purge"), 404, "not_found")
    assert audit_of(api.world, "credential.purge", cred)


def test_import_refusals_write_nothing(api: ApiWorld) -> None:
    api.admin.post(f"{V1}/clients", json={"name": "Contoso"})
    good = "title,password\r\nOne,Imp-pw-6666!\r\n"
    # Permission first: the body of a caller who may not import is not even read.
    assert_error(_import(api, good, role="viewer"), 403, "forbidden")
    assert_error(_import(api, good, role="auditor"), 403, "forbidden")
    wrong_type = api.admin.post(
        f"{V1}/clients/Contoso/import", json={"title": "One", "password": "Imp-pw-6666!"}
    )
    assert "text/csv" in assert_error(wrong_type, 415, "unsupported_media_type")["message"]
    too_large = b"title,password\r\n" + b"x" * MAX_IMPORT_BYTES
    assert "MiB" in assert_error(_import(api, too_large), 413, "too_large")["message"]
    streamed = api.admin.post(  # no Content-Length: counted as it arrives
        f"{V1}/clients/Contoso/import",
        content=(b"x" * (1 << 20) for _ in range(MAX_IMPORT_BYTES // (1 << 20) + 1)),
        headers=CSV,
    )
    assert_error(streamed, 413, "too_large")
    for data, words in [
        ("", "empty"),
        ("title,secret\r\nx,y\r\n", "secret"),
        ('title,password\r\n"One,Imp-pw-6666!\r\n', "malformed"),
    ]:
        error = assert_error(_import(api, data), 400, "invalid_input")
        assert words in error["message"]
        assert "report" not in error
        check_absent(PASSWORDS, error["message"], "an error message")
    assert_error(_import(api, good, client="Nowhere"), 404, "not_found")
    missing_policy = _import(api, good, generate_missing=True, policy="nope")
    assert_error(missing_policy, 404, "not_found")
    assert_error(_import(api, good, dry_run="maybe"), 422, "invalid_request")
    assert _titles(api) == []
    assert audit_of(api.world, "import") == []
    # technician may import (vault.write), but not export (vault.export) nor purge (admin).
    assert _import(api, good, role="technician").json()["imported"] == 1
    tech = api.as_role("technician")
    assert_error(tech.post(f"{V1}/clients/Contoso/export"), 403, "forbidden")
    cred = api.admin.get(f"{V1}/clients/Contoso/credentials").json()["items"][0]["id"]
    tech.delete(f"{V1}/credentials/{cred}")
    assert_error(tech.post(f"{V1}/credentials/{cred}/purge"), 403, "forbidden")
    assert audit_of(api.world, "export") == []
