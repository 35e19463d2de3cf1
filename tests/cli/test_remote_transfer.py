"""folder add/list/delete, import, export and cred purge through a server (--server with an
API token) print what the local commands print, write the same files and exit with the
same codes. One `credsync serve` serves the whole module; each test works on its own
clients in that vault, running each command locally and remotely."""

from __future__ import annotations

import shutil
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from security._safe import check_absent, check_present, check_secret

GOOD_AND_BAD = (
    "title,username,password,url,notes,tags,folder,type,sync_mode\r\n"
    "DC admin,CONTOSO\\admin,Rem-pw-1111!,https://dc.test,kept secret,ad;tier0,Servers,login,\r\n"
    ",nobody,Rem-pw-2222!,,,,,,\r\n"
    "Backup,svc-backup,Rem-pw-3333!,,,backup,,service_account,off\r\n"
    "Broken type,x,Rem-pw-4444!,,,,,spaceship,\r\n"
)
PASSWORDS = {f"password {n}": f"Rem-pw-{n * 1111}!" for n in range(1, 5)}


class _Served:
    """The module's server, started by the first test that asks (it needs that test's
    ``cli``). No repr of its own: it holds a session and an API token."""

    server: Any = None
    home: Path
    session: str
    env: dict[str, str | None]


@pytest.fixture(scope="module")
def _server() -> Iterator[_Served]:
    served = _Served()
    yield served
    if served.server is not None:
        served.server.stop()


def _start(served: _Served, cli: Any, home: Path) -> None:
    shutil.copytree(cli.home, home)
    cli.home, cli.env = home, {**cli.env, "CREDSYNC_HOME": str(home)}
    served.home, served.session = home, cli.use_session()
    token = cli.json("token", "create", "remote-cli")["token"]
    served.server = cli.serve()
    served.env = served.server.remote(token)


@pytest.fixture
def remote(
    cli, _server: _Served, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, str | None]:
    """``cli`` pointed at the served vault (signed in locally with a session), and the
    environment of the same CLI against the server."""
    if _server.server is None:
        _start(_server, cli, tmp_path_factory.mktemp("remote-transfer") / "home")
    cli.home = _server.home
    cli.env = {"CREDSYNC_HOME": str(cli.home), "CREDSYNC_SESSION": _server.session}
    return _server.env


def _same(cli, remote, *args: str, code: int = 0, **kwargs: Any) -> tuple[Any, Any]:
    """Run locally and remotely: the same exit code and the same stderr."""
    __tracebackhide__ = True  # its arguments may hold passwords (stdin)
    local = cli.run(*args, **kwargs)
    there = cli.run(*args, env=remote, **kwargs)
    assert (local.code, there.code) == (code, code), (args, local, there)
    assert there.err == local.err, args
    return local, there


def test_folders_through_the_server(cli, remote) -> None:
    cli.ok("client", "add", "Folders Co")
    # add: the same answer for a path added remotely as for one added locally
    there = cli.run("folder", "add", "Folders Co", " Servers / DCs ", "--json", env=remote)
    assert there.code == 0, there
    here = cli.json("folder", "add", "Folders Co", "Apps")
    assert set(there.json()) == set(here) == {"id", "client_id", "path", "created_at"}
    first = there.json()
    assert first["path"] == "Servers/DCs"
    assert there.json()["client_id"] == here["client_id"]
    added = cli.run("folder", "add", "Folders Co", "Web/Front ends", env=remote)
    assert added.out == "Folder Web/Front ends added.\n"
    # list: JSON and table alike
    for args in (("--json",), ()):
        local, there = _same(cli, remote, "folder", "list", "folders co", *args)
        assert there.out == local.out
    assert [f["path"] for f in cli.json("folder", "list", "Folders Co")] == [
        "Apps",
        "Servers/DCs",
        "Web/Front ends",
    ]
    cli.ok("client", "add", "No Folders Co")
    local, there = _same(cli, remote, "folder", "list", "No Folders Co")
    assert there.out == local.out == "No folders.\n"
    # errors, with the same exit code and message
    _same(cli, remote, "folder", "add", "Folders Co", "apps", code=5)
    _same(cli, remote, "folder", "add", "Nowhere Co", "Apps", code=4)
    _same(cli, remote, "folder", "delete", "Folders Co", "Nope/Never", code=4)
    _same(cli, remote, "folder", "add", "Folders Co", "a/../b", code=2)
    _same(cli, remote, "folder", "delete", "Folders Co", "..", code=2)
    _same(cli, remote, "folder", "delete", "Folders Co", "Apps/..", code=2)
    cli.add_cred("Folders Co", "In a folder", "Fold-pw-1!", "--folder", "Apps")
    _same(cli, remote, "folder", "delete", "Folders Co", "Apps", code=2)
    # delete: a path with a slash and a space, JSON and text
    gone = cli.run("folder", "delete", "Folders Co", "servers/dcs", "--json", env=remote)
    assert gone.code == 0, gone
    assert gone.json() == first
    text = cli.run("folder", "delete", "Folders Co", "Web/Front ends", env=remote)
    assert text.out == "Folder Web/Front ends deleted.\n"
    assert [f["path"] for f in cli.json("folder", "list", "Folders Co")] == ["Apps"]
    assert len(cli.json("audit", "--action", "folder.delete")) == 2


def test_import_through_the_server(cli, remote, tmp_path: Path) -> None:
    for name in ("Import L", "Import R"):
        cli.ok("client", "add", name)
    source = tmp_path / "passwords.csv"
    source.write_text(GOOD_AND_BAD, encoding="utf-8")

    # Good and bad rows: the same report (JSON and table) and exit status 10.
    local = cli.run("import", "Import L", str(source), "--json")
    there = cli.run("import", "Import R", str(source), "--json", env=remote)
    assert (local.code, there.code) == (10, 10), (local, there)
    assert there.json() == {**local.json(), "client": "Import R"}
    check_absent(PASSWORDS, there.out, "the import report")
    again_local = cli.run("import", "Import L", str(source))
    again_there = cli.run("import", "Import R", str(source), env=remote)
    assert (again_local.code, again_there.code) == (10, 10)
    assert again_there.out == again_local.out.replace("Import L", "Import R")
    assert "duplicate" in again_there.out
    here_creds = cli.json("cred", "list", "Import L")
    there_creds = cli.json("cred", "list", "Import R")
    assert [c["title"] for c in there_creds] == [c["title"] for c in here_creds]
    dc = next(c for c in there_creds if c["title"] == "DC admin")
    shown = cli.json("cred", "show", dc["id"], "--reveal")
    check_secret(shown["password"], "Rem-pw-1111!", "the imported password")
    assert (shown["notes"], shown["folder"]) == ("kept secret", "Servers")
    sources = [e["details"]["source"] for e in cli.json("audit", "--action", "import")]
    assert sources.count("passwords.csv") == 4

    # Standard input, --dry-run, --generate-missing, --strict: the same reports and codes.
    good = "title,username,password,folder\r\nOne,u1,Rem-pw-5555!,New/Folder\r\nTwo,u2,,\r\n"
    for options, code in [
        (("--dry-run", "--generate-missing"), 0),
        (("--strict",), 2),
        (("--strict", "--dry-run"), 2),
    ]:
        for as_json in (("--json",), ()):
            args = ("-", *options, *as_json)
            local = cli.run("import", "Import L", *args, stdin=good)
            there = cli.run("import", "Import R", *args, stdin=good, env=remote)
            assert (local.code, there.code) == (code, code), (options, local, there)
            assert there.out == local.out.replace("Import L", "Import R"), options
            assert there.err == local.err.replace("Import L", "Import R"), options
    strict = cli.run("import", "Import R", "-", "--strict", "--json", stdin=good, env=remote)
    assert "strict import wrote nothing" in strict.error
    assert (strict.json()["imported"], strict.json()["folders_created"]) == (0, [])
    generated = cli.run(
        "import", "Import R", "-", "--generate-missing", "--json", stdin=good, env=remote
    )
    assert generated.json()["imported"] == 2
    assert generated.json()["folders_created"] == ["New/Folder"]
    assert {"One", "Two"} <= {c["title"] for c in cli.json("cred", "list", "Import R")}

    # Files refused whole, unknown clients and policies, unreadable files.
    for data in (b"", b"title,secret\r\nx,y\r\n", b"\xff\xfetitle,password\r\n"):
        _same(cli, remote, "import", "Import L", "-", stdin=data, code=2)
    _same(cli, remote, "import", "Nowhere Co", "-", stdin=good, code=4)
    _same(
        cli, remote, "import", "Import L", "-", "--generate-missing", "--policy", "nope",
        stdin=good, code=4,
    )  # fmt: skip
    huge = tmp_path / "huge.csv"
    huge.write_bytes(b"title,password\r\n" + b"x" * (33 << 20))
    too_large = cli.run("import", "Import R", str(huge), env=remote)
    assert too_large.code == 2, too_large
    assert "larger than 32 MiB" in too_large.error
    missing = str(tmp_path / "missing.csv")
    local, there = _same(cli, remote, "import", "Import L", missing, code=2)
    assert "cannot read" in there.error


def test_export_through_the_server(cli, remote, tmp_path: Path) -> None:
    cli.ok("client", "add", "Export Co")
    cli.add_cred(
        "Export Co", "Exported", "Exp-pw-1111!", "--tag", "a", "--folder", "F", username="u1"
    )
    cli.add_cred("Export Co", "Also, exported", 'Exp-pw-"2222"', username="u2")
    before = len(cli.json("audit", "--action", "export"))

    # Asks first: without --yes (no terminal) nothing is written, nothing audited.
    refused = tmp_path / "refused.csv"
    local, there = _same(cli, remote, "export", "Export Co", "-o", str(refused), code=2)
    assert "--yes" in there.error
    assert not refused.exists()

    # The same bytes in a new 0600 file, the same note, one audit entry each.
    here, far = tmp_path / "local.csv", tmp_path / "remote.csv"
    local = cli.run("export", "Export Co", "-o", str(here), "--yes")
    there = cli.run("export", "Export Co", "-o", str(far), "--yes", env=remote)
    assert (local.code, there.code) == (0, 0), (local, there)
    assert there.err == local.err == "Exported 2 credential(s) of Export Co.\n"
    check_secret(there.out + local.out, "", "standard output (the CSV went to the files)")
    check_secret(far.read_bytes().decode(), here.read_bytes().decode(), "the remote export")
    check_present({"the first password": "Exp-pw-1111!"}, far.read_bytes().decode(), "the export")
    assert stat.S_IMODE(far.stat().st_mode) == 0o600
    audit = cli.json("audit", "--action", "export")
    assert len(audit) == before + 2
    assert audit[0]["details"] == {"destination": str(far), "credentials": 2}
    assert audit[1]["details"] == {"destination": str(here), "credentials": 2}

    # Standard output; an existing file (refused, then --force: 0600 again).
    local, there = _same(cli, remote, "export", "Export Co", "-o", "-", "--yes")
    check_secret(there.out, local.out, "the export on standard output")
    check_secret(there.out, here.read_bytes().decode(), "the export on standard output")
    _same(cli, remote, "export", "Export Co", "-o", str(far), "--yes", code=2)
    far.write_text("old\n")
    far.chmod(0o644)
    cli.ok("export", "Export Co", "-o", str(far), "--yes", "--force", env=remote)
    check_secret(
        far.read_bytes().decode(), here.read_bytes().decode(), "the export written with --force"
    )
    assert stat.S_IMODE(far.stat().st_mode) == 0o600

    # Errors: an unknown client (and no empty file left behind), a role without vault.export.
    nowhere = tmp_path / "nowhere.csv"
    _same(cli, remote, "export", "Nowhere Co", "-o", str(nowhere), "--yes", code=4)
    assert not nowhere.exists()
    tech = _token_of(cli, "tech-export", "technician")
    denied = cli.run(
        "export", "Export Co", "-o", str(nowhere), "--yes", env=remote | {"CREDSYNC_TOKEN": tech}
    )
    assert denied.code == 3, denied
    assert "vault.export" in denied.error
    assert not nowhere.exists()
    assert len(cli.json("audit", "--action", "export")) == before + 5


def _token_of(cli, name: str, role: str) -> str:
    cli.ok(
        "operator", "add", name, "--role", role, "--password-stdin", stdin=f"{name}-pass-12345\n"
    )
    token: str = cli.json("token", "create", f"{name}-token", "--operator", name)["token"]
    return token


def test_purge_through_the_server(cli, remote) -> None:
    cli.ok("client", "add", "Purge Co")
    ids = [
        cli.add_cred("Purge Co", f"Old {n}", f"Purge-pw-{n}!", username=f"u{n}")["id"]
        for n in range(3)
    ]
    # Not in the trash yet: refused alike (exit 2); asking first without a terminal too.
    _same(cli, remote, "cred", "purge", ids[0][:8], "--yes", code=2)
    for cred in ids:
        cli.ok("cred", "delete", cred)
    local, there = _same(cli, remote, "cred", "purge", ids[0], code=2)
    assert "Pass --yes" in there.error
    assert len(cli.json("cred", "list", "Purge Co", "--trash")) == 3

    local = cli.run("cred", "purge", ids[0][:8], "--yes")
    there = cli.run("cred", "purge", ids[1][:8], "--yes", env=remote)
    assert (local.code, there.code) == (0, 0), (local, there)
    assert (local.err, there.err) == (f"Purged {ids[0]}.\n", f"Purged {ids[1]}.\n")
    assert [c["id"] for c in cli.json("cred", "list", "Purge Co", "--trash")] == [ids[2]]
    _same(cli, remote, "cred", "show", ids[1], code=4)
    _same(cli, remote, "cred", "purge", ids[1], "--yes", code=4)
    purged = [e["target_id"] for e in cli.json("audit", "--action", "credential.purge")]
    assert set(purged) >= {ids[0], ids[1]}

    # Admin only: a technician's token is refused (exit 3) and the credential stays.
    tech = _token_of(cli, "tech-purge", "technician")
    denied = cli.run("cred", "purge", ids[2], "--yes", env=remote | {"CREDSYNC_TOKEN": tech})
    assert denied.code == 3, denied
    assert [c["id"] for c in cli.json("cred", "list", "Purge Co", "--trash")] == [ids[2]]
