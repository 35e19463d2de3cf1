"""credsync backup and restore on the command line: admin only (refusals audited), a new
0600 file, no secret printed; a restore into an empty home opens with the passphrase and gives
back every secret and a chain that verifies; a vault, a wrong passphrase, a damaged file and a
server are refused with one clear line each."""

from __future__ import annotations

from pathlib import Path

from credsync.cli.exits import exit_code_of
from credsync.errors import AlreadyExists, IntegrityError, InvalidInput, WrongPassphrase

PW = "Backup-cli-Pa55-1!"


def _backed_up(cli, tmp_path: Path) -> tuple[Path, dict]:
    cli.add_client("Contoso")
    cred = cli.add_cred("Contoso", "Router", PW)
    path = tmp_path / "vault.backup"
    made = cli.json("backup", str(path))
    assert made["path"] == str(path)
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    return path, cred


def test_backup_and_restore_into_an_empty_home(cli, empty_cli, tmp_path: Path) -> None:
    path, cred = _backed_up(cli, tmp_path)
    human = cli.run("backup", str(tmp_path / "second.backup"))
    assert human.code == 0, human
    assert "opens with the master passphrase" in human.out
    assert PW not in human.out + human.err
    assert cli.json("audit", "--action", "vault.backup")[0]["actor"] == cli.admin

    restored = empty_cli.json("restore", str(path), env={"CREDSYNC_PASSPHRASE": cli.passphrase})
    assert restored["audit_chain_ok"] is True
    assert restored["backup_revision"] == restored["schema_revision"]
    assert PW not in str(restored)
    shown = empty_cli.json("cred", "show", cred["id"], "--reveal")
    assert shown["password"] == PW
    assert empty_cli.ok("audit", "verify").code == 0
    assert empty_cli.json("audit", "--action", "vault.restore")[0]["actor"] == "system"


def test_backup_is_admin_only_and_the_refusal_is_audited(cli, tmp_path: Path) -> None:
    cli.ok("operator", "add", "bob", "--role", "technician", "--password-stdin",
           stdin="bob-cli-password-5521")  # fmt: skip
    bob = {"CREDSYNC_OPERATOR": "bob", "CREDSYNC_OPERATOR_PASSWORD": "bob-cli-password-5521"}
    path = tmp_path / "bob.backup"
    line = cli.fails(3, "backup", str(path), env=bob)
    assert "admin" in line
    assert not path.exists()
    denied = cli.json("audit", "--action", "permission.denied")
    assert denied[0]["actor"] == "bob"
    assert denied[0]["details"]["operation"] == "backup"


def test_refusals(cli, empty_cli, tmp_path: Path) -> None:
    path, _ = _backed_up(cli, tmp_path)
    exists = cli.fails(exit_code_of(InvalidInput), "backup", str(path))
    assert "new file" in exists
    into_vault = cli.fails(exit_code_of(AlreadyExists), "restore", str(path))
    assert "not empty" in into_vault
    wrong = empty_cli.fails(
        exit_code_of(WrongPassphrase), "restore", str(path),
        env={"CREDSYNC_PASSPHRASE": "not the passphrase at all"},
    )  # fmt: skip
    assert "passphrase" in wrong
    cut = tmp_path / "cut.backup"
    cut.write_bytes(path.read_bytes()[:-10])
    damaged = empty_cli.fails(exit_code_of(IntegrityError), "restore", str(cut),
                              env={"CREDSYNC_PASSPHRASE": cli.passphrase})  # fmt: skip
    assert "truncated" in damaged or "damaged" in damaged or "authentication" in damaged
    assert not (empty_cli.home / "vault.db").exists()
    remote = cli.fails(2, "--server", "https://127.0.0.1:1", "backup", str(tmp_path / "r"))
    assert "local vault only" in remote
