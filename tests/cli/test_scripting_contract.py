"""The scripting contract, exercised with real subprocesses and no terminal.

Every command here runs as ``python -m credsync`` with stdin a pipe or /dev/null, stdout and
stderr pipes and no controlling terminal, authenticated only by environment variables.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path

import pytest

from credsync.testing.postgres import TempPostgres

FIRST_PASSWORD = "Contract-pw-7731!"
SECOND_PASSWORD = "Contract-pw-8842?"
SIGNED_IN_VARS = ("CREDSYNC_OPERATOR", "CREDSYNC_OPERATOR_PASSWORD")


def _no_secret_in_logs(home: Path, *secrets: str) -> None:
    logs = list((home / "logs").glob("credsync.log*"))
    assert logs, "the CLI wrote no log file"
    for path in logs:
        data = path.read_bytes()
        for secret in secrets:
            assert secret.encode() not in data, f"a secret is in {path.name}"


def test_init_without_a_terminal_then_init_again_fails(empty_cli):
    cli = empty_cli
    init_env = {"CREDSYNC_ADMIN_PASSWORD": cli.admin_password}
    created = cli.proc("init", "--admin", "root", *cli.kdf_args, "--json", env=init_env)
    assert created.code == 0, created
    data = created.json()
    assert data["admin"]["name"] == "root"
    assert data["kdf"] == {
        "algorithm": "argon2id",
        "time_cost": 1,
        "memory_kib": 8192,
        "parallelism": 1,
    }
    assert (cli.home / "vault.db").is_file()

    again = cli.proc("init", "--admin", "root", *cli.kdf_args, env=init_env)
    assert again.code == 5, again
    assert "already exists" in again.error
    assert again.out == ""

    # the first vault is untouched: its admin still signs in
    who = cli.proc(
        "whoami",
        "--json",
        env={"CREDSYNC_OPERATOR": "root", "CREDSYNC_OPERATOR_PASSWORD": cli.admin_password},
    )
    assert who.code == 0, who
    assert who.json()["operator"] == "root"
    _no_secret_in_logs(cli.home, cli.passphrase, cli.admin_password)


@pytest.mark.parametrize(
    ("drop", "args", "named"),
    [
        ("CREDSYNC_PASSPHRASE", ("--admin", "root"), "CREDSYNC_PASSPHRASE"),
        ("CREDSYNC_ADMIN_PASSWORD", ("--admin", "root"), "CREDSYNC_ADMIN_PASSWORD"),
        (None, (), "--admin"),
    ],
)
def test_init_without_a_terminal_names_what_is_missing(empty_cli, drop, args, named):
    env = {
        "CREDSYNC_PASSPHRASE": empty_cli.passphrase,
        "CREDSYNC_ADMIN_PASSWORD": empty_cli.admin_password,
    }
    if drop:
        del env[drop]
    result = empty_cli.proc("init", *args, *empty_cli.kdf_args, env=env, only=True)
    assert result.code == 2, result
    assert named in result.error
    assert not (empty_cli.home / "vault.db").exists()


def test_the_documented_script(cli):
    """client add, cred add/list/show --reveal/set-password/history, audit verify."""
    client = cli.proc("client", "add", "Contoso Ltd", "--json")
    assert client.code == 0, client
    assert client.json()["name"] == "Contoso Ltd"

    added = cli.proc(
        "cred",
        "add",
        "Contoso Ltd",
        "--title",
        "DC admin",
        "--username",
        "CONTOSO\\admin",
        "--password-stdin",
        "--json",
        stdin=FIRST_PASSWORD + "\n",
    )
    assert added.code == 0, added
    cred = added.json()
    cred_id = cred["id"]
    assert cred["title"] == "DC admin"
    assert cred["username"] == "CONTOSO\\admin"
    assert "password" not in cred
    assert FIRST_PASSWORD not in added.out

    listed = cli.proc("cred", "list", "Contoso Ltd", "--json")
    assert listed.code == 0, listed
    assert [c["id"] for c in listed.json()] == [cred_id]
    assert FIRST_PASSWORD not in listed.out

    shown = cli.proc("cred", "show", cred_id, "--reveal", "--json")
    assert shown.code == 0, shown
    assert shown.json()["password"] == FIRST_PASSWORD

    changed = cli.proc(
        "cred",
        "set-password",
        cred_id,
        "--password-stdin",
        "--reason",
        "rotation",
        stdin=SECOND_PASSWORD + "\n",
    )
    assert changed.code == 0, changed
    assert SECOND_PASSWORD not in changed.out

    shown = cli.proc("cred", "show", cred_id[:8], "--reveal", "--json")
    assert shown.json()["password"] == SECOND_PASSWORD

    history = cli.proc("cred", "history", cred_id, "--json")
    assert history.code == 0, history
    entries = history.json()
    assert [e["version"] for e in entries] == [2, 1]
    assert entries[0]["current"] is True
    assert entries[0]["reason"] == "rotation"
    assert {e["created_by"] for e in entries} == {cli.admin}
    assert all("password" not in e for e in entries)

    verified = cli.proc("audit", "verify", "--json")
    assert verified.code == 0, verified
    assert verified.json()["ok"] is True
    plain = cli.proc("audit", "verify")
    assert plain.code == 0, plain
    assert "intact" in plain.out

    _no_secret_in_logs(
        cli.home, cli.passphrase, cli.admin_password, FIRST_PASSWORD, SECOND_PASSWORD
    )


def test_token_authentication(cli):
    cli.ok("client", "add", "Contoso")
    cred = cli.add_cred("Contoso", "Token test", FIRST_PASSWORD)
    created = cli.proc("token", "create", "backup-job", "--json")
    assert created.code == 0, created
    token = created.json()
    assert token["token"].startswith("cst_")

    token_env = {"CREDSYNC_TOKEN": token["token"], **dict.fromkeys(SIGNED_IN_VARS)}
    who = cli.proc("whoami", "--json", env=token_env)
    assert who.code == 0, who
    assert (who.json()["operator"], who.json()["via"]) == (cli.admin, "token")

    shown = cli.proc("cred", "show", cred["id"], "--reveal", "--json", env=token_env)
    assert shown.code == 0, shown
    assert shown.json()["password"] == FIRST_PASSWORD

    revoked = cli.proc("token", "revoke", token["id"])
    assert revoked.code == 0, revoked
    refused = cli.proc("cred", "list", "Contoso", env=token_env)
    assert refused.code == 3, refused
    assert "token" in refused.error
    assert token["token"] not in refused.err
    _no_secret_in_logs(cli.home, token["token"], FIRST_PASSWORD)


def test_session_replaces_passphrase_and_password(cli):
    cli.ok("client", "add", "Contoso")
    cred = cli.add_cred("Contoso", "Session test", FIRST_PASSWORD)
    unlocked = cli.proc("unlock", "--raw")
    assert unlocked.code == 0, unlocked
    session = unlocked.out.strip()
    assert session.startswith("css_")
    assert "\n" not in session

    session_only = {"CREDSYNC_SESSION": session}
    who = cli.proc("whoami", "--json", env=session_only, only=True)
    assert who.code == 0, who
    assert (who.json()["operator"], who.json()["via"]) == (cli.admin, "session")

    shown = cli.proc("cred", "show", cred["id"], "--reveal", "--json", env=session_only, only=True)
    assert shown.code == 0, shown
    assert shown.json()["password"] == FIRST_PASSWORD

    added = cli.proc(
        "cred",
        "add",
        "Contoso",
        "--title",
        "Added in a session",
        "--password-stdin",
        "--json",
        stdin=SECOND_PASSWORD,
        env=session_only,
        only=True,
    )
    assert added.code == 0, added
    assert added.json()["created_by"] == cli.admin

    ended = cli.proc("lock", env=session_only, only=True)
    assert ended.code == 0, ended
    assert "Ended 1 session" in ended.err

    after = cli.proc("cred", "list", "Contoso", env=session_only, only=True)
    assert after.code == 3, after
    assert "session has ended" in after.error
    assert session not in after.err
    _no_secret_in_logs(cli.home, session, FIRST_PASSWORD, SECOND_PASSWORD)


def test_expired_and_garbled_sessions_fail_with_one_line(cli):
    opened = cli.proc("unlock", "--ttl", "1s", "--json")
    assert opened.code == 0, opened
    info = opened.json()
    session = info["session"]
    expires = dt.datetime.fromisoformat(info["expires_at"])
    time.sleep(max(0.0, (expires - dt.datetime.now(dt.UTC)).total_seconds()) + 0.05)

    expired = cli.proc("whoami", env={"CREDSYNC_SESSION": session}, only=True)
    assert expired.code == 3, expired
    assert "session has expired" in expired.error

    session_id, _, key = session.rpartition("_")
    flipped = session_id + "_" + ("A" if key[0] != "A" else "B") + key[1:]
    cases = {
        "garbage": "not a credsync session",
        flipped: "session",
        "css_" + "0" * 10: "session",
    }
    for value, expected in cases.items():
        run = cli.proc if value == "garbage" else cli.run  # one subprocess is enough here
        result = run("whoami", env={"CREDSYNC_SESSION": value}, only=True)
        assert result.code in (2, 3), result
        assert expected in result.error
        assert value not in result.err


def test_no_credentials_and_no_terminal_is_one_clear_line(cli):
    result = cli.proc("client", "list", only=True)
    assert result.code == 3, result
    line = result.error
    for name in ("CREDSYNC_SESSION", "CREDSYNC_TOKEN", "CREDSYNC_OPERATOR"):
        assert name in line


def test_missing_passphrase_names_passphrase_and_session(cli):
    cli.ok("client", "add", "Contoso")
    cred = cli.add_cred("Contoso", "Needs the key", FIRST_PASSWORD)
    no_key = {"CREDSYNC_PASSPHRASE": None}

    listed = cli.run("cred", "list", "Contoso", "--json", env=no_key)
    assert listed.code == 0, listed  # metadata needs no key
    assert [c["id"] for c in listed.json()] == [cred["id"]]

    for args, stdin in [
        (("cred", "show", cred["id"], "--reveal"), None),
        (("cred", "set-password", cred["id"], "--password-stdin"), SECOND_PASSWORD),
    ]:
        result = cli.proc(*args, stdin=stdin, env=no_key)
        assert result.code == 3, result
        line = result.error
        assert "CREDSYNC_PASSPHRASE" in line
        assert "CREDSYNC_SESSION" in line

    wrong = cli.run("cred", "show", cred["id"], "--reveal", env={"CREDSYNC_PASSPHRASE": "nope!"})
    assert wrong.code == 3, wrong
    assert "passphrase" in wrong.error
    assert "nope!" not in wrong.err


def test_postgresql_by_database_url(empty_cli, pg_server: TempPostgres):
    cli = empty_cli
    name = "cli_contract"
    url = pg_server.create_database(name)
    try:
        env = {"CREDSYNC_DATABASE_URL": url, "CREDSYNC_ADMIN_PASSWORD": cli.admin_password}
        created = cli.proc("init", "--admin", cli.admin, *cli.kdf_args, env=env)
        assert created.code == 0, created
        assert not (cli.home / "vault.db").exists()
        # the rest in this process: what matters is that the URL is followed
        assert cli.run("client", "add", "Contoso", env=env).code == 0
        added = cli.run(
            "cred",
            "add",
            "Contoso",
            "--title",
            "On PostgreSQL",
            "--password-stdin",
            "--json",
            stdin=FIRST_PASSWORD,
            env=env,
        )
        assert added.code == 0, added
        shown = cli.proc("cred", "show", added.json()["id"], "--reveal", "--json", env=env)
        assert shown.code == 0, shown
        assert shown.json()["password"] == FIRST_PASSWORD
        status = cli.json("db", "status", env=env)
        assert status["database"].startswith("postgresql")
        assert status["revision"] == status["required"]
        assert cli.run("audit", "verify", env=env).code == 0
    finally:
        pg_server.drop_database(name)


HEAVY = ("sqlalchemy", "cryptography", "argon2", "alembic")


@pytest.mark.parametrize("argv", [["--help"], ["cred", "--help"], ["cred", "add", "--help"]])
def test_help_imports_no_heavy_library(argv, empty_cli):
    code = (
        "import json, sys\n"
        "from credsync.cli import main\n"
        "status = main(sys.argv[1:])\n"
        f"loaded = sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r}))\n"
        "print(json.dumps({'status': status, 'loaded': loaded}), file=sys.stderr)\n"
    )
    result = empty_cli.python("-c", code, *argv)
    assert result.code == 0, result
    report = json.loads(result.err.strip().splitlines()[-1])
    assert report == {"status": 0, "loaded": []}
    assert "Usage: credsync" in result.out
    assert not empty_cli.home.exists(), "--help must not create the data directory"


def test_console_script_help_imports_nothing_heavy(empty_cli):
    """``python -m credsync --help`` as a whole process, with -X importtime."""
    result = empty_cli.python("-X", "importtime", "-m", "credsync", "--help")
    assert result.code == 0, result
    imported = {
        line.split("|")[-1].strip().split(".")[0]
        for line in result.err.splitlines()
        if line.startswith("import time:") and "|" in line
    }
    assert "click" in imported  # the parse worked
    assert not imported & set(HEAVY), sorted(imported & set(HEAVY))
