"""CSV import and export through ``vault.csv``."""

from __future__ import annotations

import csv
import hashlib
import io

import pytest

from credsync.errors import InvalidInput, PermissionDenied
from credsync.types import Secret, SyncMode
from credsync.vault.csvio import COLUMNS, ImportRejected
from credsync.vault.generator import PasswordPolicy


def rows_of(*lines: str) -> bytes:
    return ("\n".join(lines) + "\n").encode("utf-8")


def do_import(ctx, data: bytes, client=None, actor=None, **options):
    return ctx.vault.csv.import_csv(
        actor or ctx.admin,
        ctx.keys,
        client or ctx.client.id,
        io.BytesIO(data),
        source_name="creds.csv",
        **options,
    )


def listed(ctx, client=None):
    return ctx.vault.credentials.list(ctx.admin, client or ctx.client.id).items


def by_title(ctx, client=None):
    return {c.title: c for c in listed(ctx, client)}


def password_of(ctx, cred_id):
    return ctx.vault.credentials.reveal(ctx.admin, ctx.keys, cred_id).password


def assert_untouched(ctx):
    """Nothing of an import reached the client: no credential, folder or audit entry."""
    assert listed(ctx) == []
    assert ctx.vault.clients.folders(ctx.admin, ctx.client.id) == []
    assert ctx.audit("import", ctx.client.id) == []


# -- good files --------------------------------------------------------------------------------
def test_good_rows_are_imported_with_every_column(ctx):
    data = rows_of(
        "title,username,password,url,notes,tags,folder,type,sync_mode",
        'DC admin,CONTOSO\\admin,Dc-Pa55!,ldaps://dc01,"two\nlines",prod;AD,Servers/DCs,'
        "directory_admin,enforce",
        "Web,webadmin,Web-Pa55!,https://web,,,Servers,login,off",
        "Mail,info@contoso.com,Mail-Pa55!,,,mail,,,",
    )

    report = do_import(ctx, data)

    assert (report.rows, report.imported, report.rejected_count) == (3, 3, 0)
    assert report.rejected == []
    assert report.folders_created == ["Servers/DCs", "Servers"]
    assert report.sha256 == hashlib.sha256(data).hexdigest()
    assert report.dry_run is False
    creds = by_title(ctx)
    dc = creds["DC admin"]
    assert (dc.username, dc.url, dc.folder, dc.type, dc.tags, dc.sync_mode) == (
        "CONTOSO\\admin",
        "ldaps://dc01",
        "Servers/DCs",
        "directory_admin",
        ("ad", "prod"),
        SyncMode.ENFORCE,
    )
    web, mail = creds["Web"], creds["Mail"]
    assert (web.folder, web.type, web.sync_mode, web.has_notes) == (
        "Servers",
        "login",
        SyncMode.OFF,
        False,
    )
    assert (mail.folder, mail.tags, mail.sync_mode) == (None, ("mail",), None)
    shown = ctx.vault.credentials.reveal(ctx.admin, ctx.keys, dc.id)
    assert shown.password == Secret("Dc-Pa55!")
    assert shown.notes == Secret("two\nlines")
    assert password_of(ctx, mail.id) == Secret("Mail-Pa55!")
    [history] = ctx.vault.credentials.history(ctx.admin, None, dc.id)
    assert (history.source, history.reason) == ("imported", "imported from creds.csv")
    [entry] = ctx.audit("import", ctx.client.id)
    assert entry.details == {
        "source": "creds.csv",
        "sha256": report.sha256,
        "rows": 3,
        "imported": 3,
        "rejected": 0,
    }


def test_header_names_are_forgiving(ctx):
    data = rows_of(
        " Name ,LOGIN,Password,URI,Note,Group,Sync Mode,id,client",
        "First,u1,Pw-1-2345!,https://one,n1,G1,report,123,Other Ltd",
    )

    report = do_import(ctx, data)

    assert report.imported == 1
    [cred] = listed(ctx)
    assert (cred.title, cred.username, cred.url, cred.folder, cred.sync_mode) == (
        "First",
        "u1",
        "https://one",
        "G1",
        SyncMode.REPORT,
    )
    assert cred.client_id == ctx.client.id  # the client column is not obeyed


def test_bom_crlf_blank_lines_and_quoting(ctx):
    data = (
        b"\xef\xbb\xbftitle,password,notes\r\n"
        b"\r\n"
        b'"Quoted, title","pa,ss""word","said ""hi"""\r\n'
        b"   \r\n"
        b"Plain,Pw-2-3456!,\r\n"
    )

    report = do_import(ctx, data)

    assert (report.rows, report.imported, report.rejected_count) == (2, 2, 0)
    creds = by_title(ctx)
    assert set(creds) == {"Quoted, title", "Plain"}
    shown = ctx.vault.credentials.reveal(ctx.admin, ctx.keys, creds["Quoted, title"].id)
    assert shown.password == Secret('pa,ss"word')
    assert shown.notes == Secret('said "hi"')


def test_generate_missing_fills_empty_passwords_by_policy(ctx):
    data = rows_of("title,username,password", "Given,alice,Given-Pa55!", "Made,bob,", "Made2,,")
    policy = PasswordPolicy(length=24, symbols=2)

    report = do_import(ctx, data, generate_missing=True, policy=policy)

    assert report.imported == 3
    creds = by_title(ctx)
    assert password_of(ctx, creds["Given"].id) == Secret("Given-Pa55!")
    made = [password_of(ctx, creds[t].id).reveal() for t in ("Made", "Made2")]
    for password in made:
        assert len(password) == 24
        assert sum(c in policy.symbol_set for c in password) >= 2
        assert "bob" not in password.lower()
    assert made[0] != made[1]


def test_rows_beyond_one_batch_and_duplicates_across_batches(ctx):
    lines = ["title,username,password"] + [f"Account {i},user{i},Pw-{i}-xyz!" for i in range(2100)]
    lines.append("ACCOUNT 7,USER7,another-Pa55!")  # duplicate of row 7, far behind it

    report = do_import(ctx, rows_of(*lines))

    assert (report.rows, report.imported, report.rejected_count) == (2101, 2100, 1)
    assert [(r.line, r.title) for r in report.rejected] == [(2102, "ACCOUNT 7")]
    page = ctx.vault.credentials.list(ctx.admin, ctx.client.id, limit=10_000)
    assert len(page.items) == 2100
    assert ctx.vault.clients.get(ctx.admin, ctx.client.id).credential_count == 2100


# -- rejected rows -----------------------------------------------------------------------------
def test_bad_rows_are_rejected_with_line_and_reason_while_good_rows_land(ctx):
    secret = "Never-Show-Me-1!"
    lines = [
        b"title,username,password,type,sync_mode,tags",  # 1
        b"Good one,u1,Pw-1-2345!,,,",  # 2
        b"Too few,u2,Pw-2-2345!",  # 3
        b",u3,Pw-3-2345!,,,",  # 4: empty title
        b"No password,u4,,,,",  # 5
        ("T" * 256 + ",u5,Pw-5-2345!,,,").encode(),  # 6
        f"Long password,u6,{'p' * 1025},,,".encode(),  # 7
        b"Control,u\x07ser,Pw-7-2345!,,,",  # 8
        b"Bad mode,u8,Pw-8-2345!,,sometimes,",  # 9
        b"Bad type,u9,Pw-9-2345!,printer,,",  # 10
        b"Not UTF-8 \xff\xfe,u10,Pw-10-2345!,,,",  # 11
        b"Bad tag,u11,Pw-11-2345!,,,has space",  # 12
        b'Multi line,u12,Pw-12-2345!,,,"a;',  # 13 (a quoted field that goes on ...)
        b'b"',  # 14
        f"Too many,u13,{secret},,,,extra".encode(),  # 15
        b"Good two,u14,Pw-14-2345!,service_account,report,x",  # 16
    ]
    data = b"\n".join(lines) + b"\n"

    report = do_import(ctx, data)

    assert (report.rows, report.imported, report.rejected_count) == (14, 3, 11)
    reasons = {r.line: (r.title, r.reason) for r in report.rejected}
    expected = {
        3: ("Too few", "row has 3 fields, the header has 6"),
        4: ("", "title must not be empty"),
        5: ("No password", "password is empty"),
        6: ("T" * 80, "title is too long"),
        7: ("Long password", "password is too long"),
        8: ("Control", "username contains a control character (U+0007)"),
        9: ("Bad mode", "sync mode must be one of"),
        10: ("Bad type", "credential type must be one of"),
        11: ("", "column 1 is not valid UTF-8"),
        12: ("Bad tag", "tag 'has space' is not valid"),
        15: ("Too many", "row has 7 fields, the header has 6"),
    }
    assert set(reasons) == set(expected)
    for line, (title, reason) in expected.items():
        assert reasons[line][0] == title, line
        assert reason in reasons[line][1], (line, reasons[line][1])
    assert sorted(by_title(ctx)) == ["Good one", "Good two", "Multi line"]
    assert secret not in str(report.to_json())
    [entry] = ctx.audit("import", ctx.client.id)
    assert (entry.details["imported"], entry.details["rejected"]) == (3, 11)


def test_rows_needing_permissions_the_importer_lacks_are_rejected(ctx):
    tech = ctx.as_role("technician")
    data = rows_of(
        "title,password,type,sync_mode",
        "Bind,Pw-1-2345!,directory_admin,",
        "Enforced,Pw-2-2345!,,enforce",
        "Fine,Pw-3-2345!,login,report",
    )

    report = do_import(ctx, data, actor=tech)

    assert report.imported == 1
    assert [(r.line, r.reason) for r in report.rejected] == [
        (2, "type directory_admin needs permission directory_admin.use"),
        (3, "sync_mode enforce needs permission directory.setup"),
    ]
    assert list(by_title(ctx)) == ["Fine"]


def test_strict_import_writes_nothing_when_a_row_is_rejected(ctx):
    data = rows_of("title,password,folder", "Good,Pw-1-2345!,New folder", "Bad,,")

    with pytest.raises(ImportRejected) as rejected:
        do_import(ctx, data, strict=True)

    assert isinstance(rejected.value, InvalidInput)
    assert "1 of 2 rows were rejected" in str(rejected.value)
    assert rejected.value.report.imported == 0
    assert [r.line for r in rejected.value.report.rejected] == [3]
    assert_untouched(ctx)
    # the same file without the bad row goes through in strict mode
    report = do_import(
        ctx, rows_of("title,password,folder", "Good,Pw-1-2345!,New folder"), strict=True
    )
    assert report.imported == 1


def test_duplicates_are_rejected_unless_allowed(ctx):
    ctx.add("Existing", username="Admin", folder_path="Servers")
    trashed = ctx.add("Trashed", username="x")
    ctx.vault.credentials.delete(ctx.admin, trashed.id)
    data = rows_of(
        "title,username,password,folder",
        "existing,ADMIN,Pw-1-2345!,servers",  # same as the stored one
        "Existing,Admin,Pw-2-2345!,",  # other folder: not a duplicate
        "Twice,u,Pw-3-2345!,",
        "TWICE,U,Pw-4-2345!,",  # same as the row above
        "Trashed,x,Pw-5-2345!,",  # the stored one is in the trash
    )

    report = do_import(ctx, data)

    assert report.imported == 3
    assert [(r.line, r.reason) for r in report.rejected] == [
        (2, "duplicate of an existing credential (same folder, title and username)"),
        (5, "duplicate of an existing credential (same folder, title and username)"),
    ]
    assert len(listed(ctx)) == 4

    again = do_import(ctx, data, allow_duplicates=True)
    assert (again.imported, again.rejected_count) == (5, 0)
    assert len(listed(ctx)) == 9


def test_dry_run_reports_but_writes_nothing(ctx):
    ctx.vault.clients.add_folder(ctx.admin, ctx.client.id, "Existing")
    data = rows_of(
        "title,password,folder",
        "One,Pw-1-2345!,Existing",
        "Two,Pw-2-2345!,Brand new",
        "Bad,,Brand new",
    )

    report = do_import(ctx, data, dry_run=True)

    assert report.dry_run is True
    assert (report.rows, report.imported, report.rejected_count) == (3, 2, 1)
    assert report.folders_created == ["Brand new"]
    assert listed(ctx) == []
    assert [f.path for f in ctx.vault.clients.folders(ctx.admin, ctx.client.id)] == ["Existing"]
    assert ctx.audit("import", ctx.client.id) == []


# -- files refused as a whole ------------------------------------------------------------------
@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "is empty"),
        (b"\xef\xbb\xbf", "is empty"),
        (b"title,password,colour\nx,Pw-1-2345!,red\n", "unknown column 'colour'"),
        (b"username,password\nu,Pw-1-2345!\n", "no 'title' column"),
        (b"title,username\nt,u\n", "no 'password' column"),
        (b"title,password,Title\nt,p,q\n", "column 'title' appears twice"),
        (b"title,name,password\nt,n,p\n", "column 'title' appears twice"),
        (b"title,pass\xffword\nt,p\n", "header is not valid UTF-8"),
        (b'"title,password\nt,p\n', "malformed CSV"),
        (b'title,password\nGood,Pw-1-2345!\nBad,"open\n', "line 3: malformed CSV"),
        (b'title,password\nGood,Pw-1-2345!\nBad,"x"y\n', "line 3: malformed CSV"),
        (b"title,password\nGood,Pw-1-2345!\nHuge," + b"x" * (1 << 20) + b"1\n", "malformed"),
    ],
    ids=[
        "empty",
        "bom only",
        "unknown column",
        "no title",
        "no password",
        "duplicate column",
        "alias duplicate",
        "header not utf-8",
        "quoting in header",
        "unterminated quote",
        "text after quote",
        "field over 1 MiB",
    ],
)
def test_bad_files_raise_and_write_nothing(ctx, data, message):
    with pytest.raises(InvalidInput, match=message):
        do_import(ctx, data)
    assert_untouched(ctx)


def test_a_malformed_file_leaves_no_folder_behind(ctx):
    data = rows_of("title,password,folder", "Good,Pw-1-2345!,Made by import") + b'Bad,"x"y,z\n'
    limit = csv.field_size_limit()

    with pytest.raises(InvalidInput, match="nothing was imported"):
        do_import(ctx, data)

    assert_untouched(ctx)
    assert csv.field_size_limit() == limit  # the module-wide limit is put back


# -- export ------------------------------------------------------------------------------------
def test_export_then_import_into_another_client_round_trips_every_field(ctx):
    ctx.add(
        "DC admin",
        'Dc-Pa55,"quoted"',
        username="CONTOSO\\admin",
        url="ldaps://dc01.contoso.local",
        notes='multi\nline, with "quotes"\r\nand CRLF',
        type_="directory_admin",
        tags=["prod", "ad"],
        sync_mode=SyncMode.ENFORCE,
        folder_path="Servers/DCs",
    )
    ctx.add("Bürokonto", "Pässwörd-€", username="jörg", tags=["büro"], sync_mode=SyncMode.OFF)
    ctx.add("Bare", "Bare-Pa55!")
    rotated = ctx.add("Rotated", "old-Pa55!")
    ctx.vault.credentials.set_password(ctx.admin, ctx.keys, rotated.id, Secret("new-Pa55!"))
    gone = ctx.add("In the trash")
    ctx.vault.credentials.delete(ctx.admin, gone.id)

    out = io.StringIO()
    count = ctx.vault.csv.export_csv(ctx.admin, ctx.keys, ctx.client.id, out, destination="x.csv")

    assert count == 4
    text = out.getvalue()
    assert text.splitlines()[0] == ",".join(COLUMNS)
    assert "In the trash" not in text
    other = ctx.other_client("Copy")
    report = do_import(ctx, text.encode("utf-8"), client=other.id)
    assert (report.imported, report.rejected_count) == (4, 0)

    def snapshot(client_id):
        out = {}
        for cred in listed(ctx, client_id):
            shown = ctx.vault.credentials.reveal(ctx.admin, ctx.keys, cred.id)
            out[cred.title] = (
                cred.username,
                cred.url,
                cred.type,
                cred.tags,
                cred.folder,
                cred.sync_mode,
                shown.password,
                shown.notes,
            )
        return out

    original, copy = snapshot(ctx.client.id), snapshot(other.id)
    assert copy == original
    assert original["Rotated"][6] == Secret("new-Pa55!")
    assert original["DC admin"][7] == Secret('multi\nline, with "quotes"\r\nand CRLF')
    [entry] = ctx.audit("export", ctx.client.id)
    assert entry.details == {"destination": "x.csv", "credentials": 4}


class FailingWriter(io.StringIO):
    """An output that breaks after some writes, like a full disk or a closed pipe."""

    def __init__(self, writes_before_failing: int) -> None:
        super().__init__()
        self.left = writes_before_failing

    def write(self, text: str) -> int:
        if self.left <= 0:
            raise OSError("no space left on device")
        self.left -= 1
        return super().write(text)


@pytest.mark.parametrize("writes", [0, 2])
def test_export_is_audited_even_when_the_output_fails(ctx, writes):
    for i in range(5):
        ctx.add(f"Cred {i}", f"Pw-{i}-2345!")

    with pytest.raises(OSError, match="no space"):
        ctx.vault.csv.export_csv(ctx.admin, ctx.keys, ctx.client.id, FailingWriter(writes))

    [entry] = ctx.audit("export", ctx.client.id)
    assert (entry.actor, entry.details["credentials"]) == ("alice", 5)
    assert ctx.vault.audit.verify(ctx.admin).ok


def test_export_needs_the_export_permission(ctx):
    ctx.add("Secret one", "Do-Not-Leak-1!")
    for role in ("technician", "directory_manager", "auditor", "viewer"):
        out = io.StringIO()
        with pytest.raises(PermissionDenied, match=r"vault\.export"):
            ctx.vault.csv.export_csv(ctx.as_role(role), ctx.keys, ctx.client.id, out)
        assert out.getvalue() == ""
    assert ctx.audit("export", ctx.client.id) == []


def test_export_of_an_empty_client_is_just_the_header(ctx):
    out = io.StringIO()
    assert ctx.vault.csv.export_csv(ctx.admin, ctx.keys, ctx.client.name, out) == 0
    assert out.getvalue() == ",".join(COLUMNS) + "\r\n"
    assert len(ctx.audit("export", ctx.client.id)) == 1


def test_two_way_is_imported_in_either_spelling_and_needs_directory_setup(ctx):
    data = rows_of(
        "title,password,sync_mode",
        "Hyphen,Pw-1-2345!,two-way",
        "Underscore,Pw-2-2345!,two_way",
    )
    tech = ctx.as_role("technician")
    refused = do_import(ctx, data, actor=tech)
    assert [(r.line, r.reason) for r in refused.rejected] == [
        (2, "sync_mode two-way needs permission directory.setup"),
        (3, "sync_mode two-way needs permission directory.setup"),
    ]
    assert do_import(ctx, data).imported == 2
    assert {t: c.sync_mode for t, c in by_title(ctx).items()} == {
        "Hyphen": SyncMode.TWO_WAY,
        "Underscore": SyncMode.TWO_WAY,
    }
    out = io.StringIO()
    ctx.vault.csv.export_csv(ctx.admin, ctx.keys, ctx.client.id, out, destination="x.csv")
    exported = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert {r["sync_mode"] for r in exported} == {"two_way"}
