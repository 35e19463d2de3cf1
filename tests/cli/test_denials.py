"""A command refused a permission (exit 3) leaves one ``permission.denied`` entry (issue 13,
finding 7): on a local vault the command writes it, naming the command and what its first
argument names; through a server, the server writes it (once) for the API request."""

from __future__ import annotations

import pytest

PW = "Denied-pw-1111!"
VAL_PASSWORD = "val-cli-password-1234"


@pytest.fixture
def vault(cli):
    """Contoso with a credential; viewer val; the admin's session."""
    cli.use_session()
    cli.add_client("Contoso")
    cred = cli.add_cred("Contoso", "DC admin", PW)
    cli.ok("operator", "add", "val", "--role", "viewer", "--password-stdin", stdin=VAL_PASSWORD)
    cli.cred_id = cred["id"]
    return cli


def _denials(cli) -> list[dict]:
    return cli.json("audit", "--action", "permission.denied")


def test_a_refused_local_command_is_audited_once(vault) -> None:
    cli = vault
    as_val = {
        "CREDSYNC_SESSION": None,
        "CREDSYNC_OPERATOR": "val",
        "CREDSYNC_OPERATOR_PASSWORD": VAL_PASSWORD,
    }
    for _ in range(3):
        refused = cli.run("cred", "show", cli.cred_id, "--reveal", env=as_val)
        assert refused.code == 3, refused
        assert PW not in refused.out + refused.err
    [entry] = _denials(cli)
    assert (entry["actor"], entry["target_type"], entry["target_id"]) == (
        "val",
        "credential",
        cli.cred_id,
    )
    assert entry["details"] == {
        "permissions": ["secret.reveal"],
        "operation": "cred show",
        "via": "cli",
        "reason": "operator 'val' (role viewer) lacks permission secret.reveal",
    }
    assert cli.run("client", "add", "Nope Ltd", env=as_val).code == 3
    assert cli.run("operator", "list", env=as_val).code == 3
    kinds = {(e["target_type"], e["target_id"], e["details"]["operation"]) for e in _denials(cli)}
    assert kinds == {
        ("credential", cli.cred_id, "cred show"),
        ("client", "Nope Ltd", "client add"),
        ("operator", "", "operator list"),
    }
    assert cli.ok("audit", "verify").code == 0
    log = (cli.home / "logs" / "credsync.log").read_text()
    assert "permission denied (cli): cred show: operator 'val'" in log
    assert PW not in log


def test_a_refusal_through_a_server_is_audited_by_the_server_once(vault) -> None:
    cli = vault
    val_token = cli.json("token", "create", "val-script", "--operator", "val")["token"]
    server = cli.serve()
    try:
        remote = server.remote(val_token)
        refused = cli.run("cred", "show", cli.cred_id, "--reveal", env=remote)
        assert refused.code == 3, refused
    finally:
        server.stop()
    [entry] = _denials(cli)
    assert (entry["actor"], entry["target_type"], entry["target_id"]) == (
        "val",
        "credential",
        cli.cred_id,
    )
    assert entry["details"]["via"] == "api"
    assert entry["details"]["operation"] == "POST /api/v1/credentials/{ref}/reveal"
