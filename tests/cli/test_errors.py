"""Errors: one line on stderr starting ``credsync: error:``, nothing on stdout, and the
documented exit status (see ``credsync.cli.exits``):
2 input/config, 3 auth/locked, 4 not found, 5 conflict, 6 integrity, 7 storage, 10 import partial.
"""

from __future__ import annotations

import contextlib
import socket
import sqlite3

import pytest

PW = "Err-test-pw-1111!"


@contextlib.contextmanager
def _vault_db(cli):
    """The vault's SQLite file, opened directly (to play an attacker or a broken disk)."""
    conn = sqlite3.connect(cli.home / "vault.db")
    try:
        with conn:
            yield conn
    finally:
        conn.close()


@pytest.fixture
def contoso(cli):
    cli.use_session()
    cli.add_client("Contoso")
    return cli


@pytest.mark.parametrize(
    ("code", "args", "stdin"),
    [
        (2, ("cred", "add", "Contoso", "--title", ""), PW),  # empty title
        (2, ("cred", "add", "Contoso", "--title", "t" * 5000, "--password-stdin"), PW),
        (2, ("cred", "add", "Contoso", "--title", "T", "--password-stdin"), b"\xc3\x28"),
        (2, ("client", "add", "A", "--default-sync-mode", "never"), None),  # usage error
        (2, ("cred", "list", "Contoso", "--limit", "many"), None),
        (4, ("cred", "show", "deadbeef"), None),
        (4, ("cred", "list", "Fabrikam"), None),
        (4, ("client", "show", "Fabrikam"), None),
        (4, ("operator", "show", "mallory"), None),
        (5, ("client", "add", "contoso"), None),
    ],
)
def test_exit_codes(contoso, code, args, stdin):
    line = contoso.fails(code, *args, stdin=stdin)
    assert len(line) < 400


def test_auth_and_locked_are_3(cli):
    cli.add_client("Contoso")
    cred = cli.add_cred("Contoso", "Guarded", PW)
    cli.ok(
        "operator", "add", "val", "--role", "viewer", "--password-stdin",
        stdin="val-cli-password-9753",
    )  # fmt: skip
    viewer = {"CREDSYNC_OPERATOR": "val", "CREDSYNC_OPERATOR_PASSWORD": "val-cli-password-9753"}
    assert cli.json("cred", "list", "Contoso", env=viewer)[0]["id"] == cred["id"]
    assert "secret.reveal" in cli.fails(3, "cred", "show", cred["id"], "--reveal", env=viewer)
    assert "vault.write" in cli.fails(3, "client", "add", "Other", env=viewer)
    cli.fails(3, "client", "list", env={"CREDSYNC_OPERATOR_PASSWORD": "wrong-password-0000"})
    cli.fails(3, "cred", "show", cred["id"], "--reveal", env={"CREDSYNC_PASSPHRASE": None})


def test_stale_version_is_a_conflict(contoso):
    cred = contoso.add_cred("Contoso", "Versioned", PW)
    contoso.json("cred", "edit", cred["id"], "--title", "Versioned 2", "--if-version", "1")
    line = contoso.fails(
        5, "cred", "edit", cred["id"], "--title", "Versioned 3", "--if-version", "1"
    )
    assert "version" in line
    assert contoso.json("cred", "show", cred["id"])["title"] == "Versioned 2"


def test_broken_audit_chain_exits_6(contoso):
    assert contoso.ok("audit", "verify").code == 0
    with _vault_db(contoso) as db:
        # the append-only triggers stop mistakes, not someone who can write the file
        triggers = db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_log'"
        ).fetchall()
        assert triggers
        for (name,) in triggers:
            db.execute(f'DROP TRIGGER "{name}"')
        db.execute("UPDATE audit_log SET actor = 'mallory' WHERE seq = 2")
    result = contoso.run("audit", "verify")
    assert result.code == 6, result
    assert "AUDIT LOG BROKEN at entry 2" in result.out
    as_json = contoso.run("audit", "verify", "--json")
    assert as_json.code == 6, as_json
    report = as_json.json()
    assert report["ok"] is False
    assert "entry 2" in report["problem"]


def test_tampered_ciphertext_exits_6(contoso):
    cred = contoso.add_cred("Contoso", "Tampered", PW)
    with _vault_db(contoso) as db:
        (blob,) = db.execute(
            "SELECT ciphertext FROM secret_versions WHERE credential_id = ?", (cred["id"],)
        ).fetchone()
        flipped = bytes([blob[0], *blob[1:-1], blob[-1] ^ 1])
        db.execute(
            "UPDATE secret_versions SET ciphertext = ? WHERE credential_id = ?",
            (flipped, cred["id"]),
        )
    line = contoso.fails(6, "cred", "show", cred["id"], "--reveal")
    assert PW not in line
    assert contoso.json("cred", "show", cred["id"])["id"] == cred["id"]  # metadata still reads


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_unreachable_database_is_7(cli):
    url = f"postgresql+psycopg://credsync@127.0.0.1:{_closed_port()}/credsync"
    line = cli.fails(7, "client", "list", env={"CREDSYNC_DATABASE_URL": url})
    assert "127.0.0.1" in line


def test_config_errors_are_2(cli):
    assert "CREDSYNC_LOG_LEVEL" in cli.fails(
        2, "client", "list", env={"CREDSYNC_LOG_LEVEL": "LOUD"}
    )


def test_refused_confirmation_writes_nothing(contoso):
    cred = contoso.add_cred("Contoso", "Confirm me", PW)
    result = contoso.run("cred", "sync-mode", cred["id"], "enforce")  # stdin is empty: no answer
    assert result.code != 0
    assert result.out == ""
    assert len(result.err.splitlines()) <= 2
    assert contoso.json("cred", "show", cred["id"])["sync_mode"] is None


def test_errors_never_show_secrets(cli):
    secret_title_password = "Very-secret-value-8080!"
    cli.add_client("Contoso")
    # a password that is too long is refused without being echoed
    line = cli.fails(
        2, "cred", "add", "Contoso", "--title", "Long", "--password-stdin",
        stdin=secret_title_password * 1000,
    )  # fmt: skip
    assert secret_title_password not in line
    line = cli.fails(3, "whoami", env={"CREDSYNC_OPERATOR_PASSWORD": secret_title_password})
    assert secret_title_password not in line
    log = (cli.home / "logs" / "credsync.log").read_text(encoding="utf-8")
    assert secret_title_password not in log
    assert cli.admin_password not in log
    assert cli.passphrase not in log
