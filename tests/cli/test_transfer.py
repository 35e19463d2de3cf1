"""import and export: reports, exit status 10, files created 0600, audit entries."""

from __future__ import annotations

import csv
import io
import stat

import pytest

GOOD_AND_BAD = (
    "title,username,password,url,notes,tags,folder,type,sync_mode\r\n"
    "DC admin,CONTOSO\\admin,Imp-pw-1111!,https://dc.test,kept secret,ad;tier0,Servers,login,\r\n"
    ",nobody,Imp-pw-2222!,,,,,,\r\n"
    "Backup,svc-backup,Imp-pw-3333!,,,backup,,service_account,off\r\n"
    "Broken type,x,Imp-pw-4444!,,,,,spaceship,\r\n"
)


@pytest.fixture
def contoso(cli):
    cli.use_session()
    cli.add_client("Contoso")
    return cli


def test_import_reports_rejected_rows_and_exits_10(contoso, tmp_path):
    cli = contoso
    source = tmp_path / "passwords.csv"
    source.write_text(GOOD_AND_BAD, encoding="utf-8")

    result = cli.run("import", "Contoso", str(source), "--json")
    assert result.code == 10, result
    report = result.json()
    assert (report["rows"], report["imported"], report["rejected_count"]) == (4, 2, 2)
    assert [(r["line"], r["title"]) for r in report["rejected"]] == [(3, ""), (5, "Broken type")]
    assert "title" in report["rejected"][0]["reason"]
    assert "spaceship" in report["rejected"][1]["reason"]
    assert report["folders_created"] == ["Servers"]
    assert len(report["sha256"]) == 64
    assert "Imp-pw" not in result.out

    creds = {c["title"]: c for c in cli.json("cred", "list", "Contoso")}
    assert set(creds) == {"DC admin", "Backup"}
    dc = cli.json("cred", "show", creds["DC admin"]["id"], "--reveal")
    assert (dc["password"], dc["notes"], dc["folder"]) == ("Imp-pw-1111!", "kept secret", "Servers")
    assert sorted(dc["tags"]) == ["ad", "tier0"]
    assert cli.json("cred", "show", creds["Backup"]["id"])["sync_mode"] == "off"

    audit = cli.json("audit", "--action", "import")
    assert len(audit) == 1
    assert audit[0]["details"]["imported"] == 2
    assert audit[0]["details"]["source"] == "passwords.csv"

    # the same file again: every good row is now a duplicate; human report names the lines
    again = cli.run("import", "Contoso", str(source))
    assert again.code == 10, again
    lines = again.out.splitlines()
    assert lines[0] == "Contoso: imported 0 of 4 rows."
    assert "Rejected 4:" in lines
    table = lines[lines.index("Rejected 4:") + 1 :]
    assert table[0].split() == ["LINE", "TITLE", "REASON"]
    assert [row.split()[0] for row in table[1:]] == ["2", "3", "4", "5"]
    assert "duplicate" in table[1]


def test_import_from_stdin_dry_run_strict_and_generate(contoso):
    cli = contoso
    good = "title,username,password\r\nOne,u1,Imp-pw-5555!\r\nTwo,u2,\r\n"

    dry = cli.json("import", "Contoso", "-", "--dry-run", "--generate-missing", stdin=good)
    assert (dry["imported"], dry["dry_run"]) == (2, True)
    assert cli.json("cred", "list", "Contoso") == []

    strict = cli.run("import", "Contoso", "-", "--strict", "--json", stdin=good)
    assert strict.code == 2, strict
    assert "strict" in strict.error
    report = strict.json()  # the report still says which rows, and why
    assert (report["imported"], report["rejected_count"]) == (0, 1)
    assert report["rejected"][0]["line"] == 3
    assert "password is empty" in report["rejected"][0]["reason"]
    assert cli.json("cred", "list", "Contoso") == []
    human = cli.run("import", "Contoso", "-", "--strict", stdin=good.replace("One", "F/One"))
    assert human.code == 2, human
    assert "Rejected 1:" in human.out

    partial = cli.run("import", "Contoso", "-", stdin=good)
    assert partial.code == 10, partial
    assert "Rejected 1:" in partial.out

    generated = cli.json(
        "import", "Contoso", "-", "--generate-missing", stdin=good.replace("One", "Uno")
    )
    assert generated["imported"] == 2
    titles = [c["title"] for c in cli.json("cred", "list", "Contoso")]
    assert titles == ["One", "Two", "Uno"]


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"", "empty"),
        (b"title,secret\r\nx,y\r\n", "secret"),
        (b"username,password\r\nx,y\r\n", "title"),
        (b"\xff\xfetitle,password\r\n", "UTF-8"),
    ],
)
def test_import_refuses_a_bad_file_whole(contoso, data, words):
    line = contoso.fails(2, "import", "Contoso", "-", stdin=data)
    assert words in line
    assert contoso.json("cred", "list", "Contoso") == []


def test_import_errors(contoso, tmp_path):
    cli = contoso
    assert "cannot read" in cli.fails(2, "import", "Contoso", str(tmp_path / "missing.csv"))
    cli.fails(4, "import", "Nowhere", "-", stdin="title,password\r\nx,y\r\n")


def test_export_to_a_file(contoso, tmp_path):
    cli = contoso
    cli.add_cred(
        "Contoso", "Exported", "Exp-pw-1111!", "--tag", "a", "--folder", "F", username="u1"
    )
    cli.add_cred("Contoso", "Also exported", "Exp-pw-2222!", username="u2")
    target = tmp_path / "out" / "contoso.csv"
    target.parent.mkdir()

    refused = cli.fails(2, "export", "Contoso", "-o", str(target))
    assert "--yes" in refused
    assert not target.exists()
    assert cli.json("audit", "--action", "export") == []

    done = cli.run("export", "Contoso", "-o", str(target), "--yes")
    assert done.code == 0, done
    assert "Exported 2 credential(s)" in done.err
    assert done.out == ""
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    rows = list(csv.DictReader(io.StringIO(target.read_text(encoding="utf-8"))))
    assert [(r["title"], r["password"]) for r in rows] == [
        ("Also exported", "Exp-pw-2222!"),
        ("Exported", "Exp-pw-1111!"),
    ]
    assert (rows[1]["folder"], rows[1]["tags"], rows[1]["username"]) == ("F", "a", "u1")

    exists = cli.fails(2, "export", "Contoso", "-o", str(target), "--yes")
    assert "--force" in exists
    target.write_text("old\n")
    target.chmod(0o644)  # overwriting a readable file must not leave the passwords readable
    cli.ok("export", "Contoso", "-o", str(target), "--yes", "--force")
    assert target.read_text(encoding="utf-8").startswith("title,username,password")
    assert stat.S_IMODE(target.stat().st_mode) == 0o600

    audit = cli.json("audit", "--action", "export")
    assert len(audit) == 2
    assert audit[0]["details"] == {"destination": str(target), "credentials": 2}

    # what export writes, import reads back as it was
    cli.add_client("Copy")
    report = cli.json("import", "Copy", str(target))
    assert (report["imported"], report["rejected_count"]) == (2, 0)
    copy = {c["title"]: c for c in cli.json("cred", "list", "Copy")}
    assert cli.json("cred", "show", copy["Exported"]["id"], "--reveal")["password"] == (
        "Exp-pw-1111!"
    )
    assert copy["Exported"]["folder"] == "F"


def test_export_to_stdout_and_permissions(contoso):
    cli = contoso
    cli.add_cred("Contoso", "Out", "Exp-pw-3333!")
    out = cli.ok("export", "Contoso", "-o", "-", "--yes").out
    assert list(csv.reader(io.StringIO(out)))[1][:3] == ["Out", "admin", "Exp-pw-3333!"]
    assert cli.json("audit", "--action", "export")[0]["details"]["destination"] == "<stdout>"

    cli.ok(
        "operator", "add", "bob", "--role", "technician", "--password-stdin",
        stdin="bob-cli-password-5521",
    )  # fmt: skip
    bob = {
        "CREDSYNC_OPERATOR": "bob",
        "CREDSYNC_OPERATOR_PASSWORD": "bob-cli-password-5521",
        "CREDSYNC_PASSPHRASE": cli.passphrase,
    }
    line = cli.fails(3, "export", "Contoso", "-o", "-", "--yes", env=bob, only=True)
    assert "vault.export" in line
    assert cli.fails(4, "export", "Nowhere", "-o", "-", "--yes")
