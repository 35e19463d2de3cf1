"""Local machine accounts end to end through the command line, against the session's real
Samba standalone server: directory add and test, report (timestamp first: a second run logs
in nobody), the enforce confirmation and a push that works on the machine, and who may add
such a directory or push to it."""

from __future__ import annotations

import pytest

from credsync.connectors.local_accounts._client import login
from credsync.testing.samba_standalone import LocalMachine


def _works(machine: LocalMachine, name: str, password: str) -> bool:
    facts = machine.facts
    return login(facts.host, facts.port, facts.machine, name, password, 5).status is None


@pytest.fixture
def local_cli(cli, local_machine: LocalMachine):
    """A vault (session signed in) with client Contoso, directory sync on, the machine's admin
    credential and directory ``filesrv1``."""
    cli.use_session()
    cli.add_client("Contoso")
    cli.ok("client", "set", "Contoso", "--directory-sync", "on")
    facts = local_machine.facts
    bind = cli.add_cred(
        "Contoso", "FILESRV1 admin", facts.admin_password, "--type", "directory_admin",
        "--sync-mode", "off", username=f"FILESRV1\\{facts.admin_user}",
    )  # fmt: skip
    directory = cli.json(
        "directory", "add", "Contoso", "filesrv1", "--kind", "local-accounts",
        "--url", facts.url, "--machine", "filesrv1", "--bind-credential", bind["id"][:8],
    )  # fmt: skip
    assert directory["kind"] == "local_accounts"
    assert directory["machine"] == "FILESRV1"
    cli.machine = local_machine
    return cli


def test_directory_test_checks_every_step(local_cli) -> None:
    result = local_cli.json("directory", "test", "filesrv1")
    assert result["ok"] is True, result
    steps = [(s["step"], s["outcome"]) for s in result["steps"]]
    assert steps == [
        ("tcp", "ok"), ("smb", "ok"), ("ntlm", "ok"), ("samr", "ok"),
        ("reset password right", "ok"),
    ]  # fmt: skip


def test_report_then_enforce_through_the_command_line(local_cli) -> None:
    machine: LocalMachine = local_cli.machine
    user = machine.admin.create_user()
    cred = local_cli.add_cred(
        "Contoso", "Kiosk", "Not-Its-Passw0rd-1!", username=f"FILESRV1\\{user.name}"
    )
    run = local_cli.json("sync", "run", "Contoso")["runs"][0]
    mine = [i for i in run["items"] if i["credential_id"] == cred["id"]]
    assert [(i["status"], i["action"]) for i in mine] == [("mismatch", "verify")]
    assert [f["status"] for f in local_cli.json("flags", "Contoso")] == ["mismatch"]
    # the same stamp again: no second login (the bad password count stays at one)
    again = local_cli.json("sync", "run", "Contoso")["runs"][0]
    assert again["summary"]["binds"] == 0
    assert machine.admin.bad_password_count(user.name) == 1
    refused = local_cli.fails(2, "cred", "sync-mode", cred["id"], "enforce")
    assert f"filesrv1:{user.name}" in refused
    local_cli.ok("cred", "sync-mode", cred["id"], "enforce", "--yes")
    run = local_cli.json("sync", "run", "Contoso")["runs"][0]
    mine = [i for i in run["items"] if i["credential_id"] == cred["id"]]
    assert [(i["status"], i["action"]) for i in mine] == [("in_sync", "push")]
    assert _works(machine, user.name, "Not-Its-Passw0rd-1!")  # the vault's works now
    assert local_cli.json("flags", "Contoso") == []
    # unchanged since: the next report run checks by PasswordLastSet only
    quiet = local_cli.json("sync", "run", "Contoso")["runs"][0]
    assert quiet["summary"]["binds"] == 0
    assert quiet["summary"]["statuses"] == {"in_sync": 1}


def test_only_directory_setup_adds_a_local_accounts_directory(local_cli) -> None:
    facts = local_cli.machine.facts
    local_cli.ok(
        "operator", "add", "bob", "--role", "technician", "--password-stdin",
        stdin="bob-cli-password-5521",
    )  # fmt: skip
    bob = {
        "CREDSYNC_SESSION": None,
        "CREDSYNC_PASSPHRASE": local_cli.passphrase,
        "CREDSYNC_OPERATOR": "bob",
        "CREDSYNC_OPERATOR_PASSWORD": "bob-cli-password-5521",
    }
    refused = local_cli.fails(
        3, "directory", "add", "Contoso", "filesrv1-bob", "--kind", "local-accounts",
        "--url", facts.url, "--machine", "FILESRV1", "--bind-credential", "x", env=bob,
    )  # fmt: skip
    assert "directory.setup" in refused


def test_refused_settings_name_their_flag(local_cli) -> None:
    bad_url = local_cli.fails(2, "directory", "set", "filesrv1", "--url", "ldaps://filesrv1")
    assert "must be smb://HOST[:PORT]" in bad_url
    assert "(--url)" in bad_url
    bad_name = local_cli.fails(
        2, "directory", "set", "filesrv1", "--machine", "a-name-far-too-long-for-netbios"
    )
    assert "not a NetBIOS name" in bad_name
    assert "(--machine)" in bad_name
