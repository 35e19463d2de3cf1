"""Two-way mode on the command line: spelled ``two-way`` (``two_way`` taken too), asked like
enforce (naming the accounts it would overwrite, or --yes), refused to an operator without
directory.setup, locally and through a server."""

from __future__ import annotations

from typing import Any

PW = "Two-way-cli-pw-1!"
TECH_PASSWORD = "tech-two-way-password-4417"


def test_two_way_is_asked_like_enforce_and_spelled_with_a_hyphen(cli: Any) -> None:
    cli.use_session()
    cli.add_client("Contoso")
    cid = cli.add_cred("Contoso", "Synced", PW, username="sync-me")["id"]

    refused = cli.fails(2, "cred", "sync-mode", cid, "two-way")
    assert "In two-way mode the vault's changes are pushed for 'Synced'" in refused
    assert "--yes" in refused
    assert cli.json("cred", "show", cid)["sync_mode"] is None
    done = cli.json("cred", "sync-mode", cid, "two-way", "--yes")
    assert (done["sync_mode"], done["effective_sync_mode"]) == ("two_way", "two_way")
    assert "two_way" in cli.ok("cred", "show", cid).out
    # Enforce to two-way overwrites nothing more: not asked. Two-way to enforce is.
    cli.json("cred", "sync-mode", cid, "enforce", "--yes")
    assert cli.json("cred", "sync-mode", cid, "two_way")["sync_mode"] == "two_way"
    assert "In enforce mode" in cli.fails(2, "cred", "sync-mode", cid, "enforce")

    added = cli.add_cred("Contoso", "Added", PW, "--sync-mode", "Two-Way", username="added")
    assert added["sync_mode"] == "two_way"
    bad = cli.fails(2, "cred", "sync-mode", cid, "sideways")
    assert "two-way" in bad

    asked = cli.fails(2, "client", "set", "Contoso", "--default-sync-mode", "two-way")
    assert "In two-way mode the vault's changes are pushed for every credential" in asked
    assert cli.json("client", "show", "Contoso")["default_sync_mode"] == "report"
    forced = cli.json("client", "set", "Contoso", "--default-sync-mode", "two-way", "--yes")
    assert forced["default_sync_mode"] == "two_way"


def test_an_operator_without_directory_setup_is_refused_two_way(cli: Any) -> None:
    """Locally and through a server; the admin's remote switch is asked as locally."""
    cli.use_session()
    cli.add_client("Contoso")
    cid = cli.add_cred("Contoso", "Synced", PW, username="sync-me")["id"]
    cli.ok("operator", "add", "tech", "--role", "technician", "--password-stdin",
           stdin=TECH_PASSWORD)  # fmt: skip
    token = cli.json("token", "create", "tech", "--operator", "tech")["token"]
    admin_token = cli.json("token", "create", "admin-two-way")["token"]
    server = cli.serve()
    try:
        # Through a server the question is the same (the API's 409 confirm_enforce).
        asked = cli.fails(2, "cred", "sync-mode", cid, "two-way", env=server.remote(admin_token))
        assert "In two-way mode the vault's changes are pushed for 'Synced'" in asked
        remote = server.remote(token)
        for env in (remote, None):
            if env is None:
                cli.sign_in_as("tech", TECH_PASSWORD)
            for args in (
                ("cred", "sync-mode", cid, "two-way", "--yes"),
                ("client", "set", "Contoso", "--default-sync-mode", "two-way", "--yes"),
            ):
                denied = cli.fails(3, *args, env=env)
                assert "directory.setup" in denied, denied
            assert cli.json("cred", "show", cid, env=env)["sync_mode"] is None
    finally:
        server.stop()
