"""client and folder commands, in this process: human tables and --json."""

from __future__ import annotations

import datetime as dt
import re
import sqlite3


def _header(text: str) -> list[str]:
    return text.splitlines()[0].split()


def test_client_add_list_show(cli):
    cli.use_session()
    added = cli.json("client", "add", "Contoso Ltd", "--directory-sync", "on")
    assert added["name"] == "Contoso Ltd"
    assert added["directory_sync"] is True
    assert added["default_sync_mode"] == "report"
    assert added["version"] == 1
    cli.json("client", "add", "Fabrikam", "--default-sync-mode", "off")

    human = cli.ok("client", "add", "Northwind").out
    assert "Name:" in human
    assert "Northwind" in human

    rows = cli.json("client", "list")
    assert [r["name"] for r in rows] == ["Contoso Ltd", "Fabrikam", "Northwind"]
    assert all(r["credential_count"] == 0 for r in rows)

    table = cli.ok("client", "list").out
    assert _header(table) == [
        "NAME", "CREDENTIALS", "DIR", "SYNC", "DEFAULT", "MODE", "ROTATE", "EVERY", "OVERDUE",
        "ARCHIVED", "ID",
    ]  # fmt: skip
    assert len(table.splitlines()) == 4
    assert "Fabrikam" in table

    by_name = cli.json("client", "show", "contoso ltd")  # any case
    by_id = cli.json("client", "show", added["id"])
    assert by_name["id"] == by_id["id"] == added["id"]
    shown = cli.ok("client", "show", "Contoso Ltd").out
    assert "Directory sync:" in shown
    assert "Default sync mode: report" in shown


def test_client_rename_archive_unarchive_set(cli):
    cli.use_session()
    client = cli.add_client("Contoso")

    renamed = cli.json("client", "rename", "Contoso", "Contoso Group", "--if-version", "1")
    assert renamed["name"] == "Contoso Group"
    assert renamed["version"] == 2
    stale = cli.fails(5, "client", "rename", "Contoso Group", "Other", "--if-version", "1")
    assert "version" in stale

    archived = cli.json("client", "archive", "Contoso Group")
    assert archived["archived"] is True
    assert cli.json("client", "list") == []
    assert cli.ok("client", "list").out.strip() == "No clients."
    assert [r["id"] for r in cli.json("client", "list", "--archived")] == [client["id"]]

    back = cli.json("client", "unarchive", "Contoso Group")
    assert back["archived"] is False
    assert [r["name"] for r in cli.json("client", "list")] == ["Contoso Group"]

    changed = cli.json(
        "client", "set", "Contoso Group", "--directory-sync", "on", "--default-sync-mode", "off"
    )
    assert (changed["directory_sync"], changed["default_sync_mode"]) == (True, "off")


def test_client_set_enforce_asks_first(cli):
    cli.use_session()
    cli.add_client("Contoso")
    # No terminal to ask: the command refuses instead of guessing, and says how to go ahead.
    refused = cli.fails(2, "client", "set", "Contoso", "--default-sync-mode", "enforce")
    assert "overwrite" in refused
    assert "--yes" in refused
    assert cli.json("client", "show", "Contoso")["default_sync_mode"] == "report"

    forced = cli.json("client", "set", "Contoso", "--default-sync-mode", "enforce", "--yes")
    assert forced["default_sync_mode"] == "enforce"


def test_folders(cli):
    cli.use_session()
    cli.add_client("Contoso")
    added = cli.json("folder", "add", "Contoso", "Servers/Domain controllers")
    assert added["path"] == "Servers/Domain controllers"
    assert "Folder Servers added." in cli.ok("folder", "add", "Contoso", "Servers").out
    cli.fails(5, "folder", "add", "Contoso", "Servers")

    paths = [f["path"] for f in cli.json("folder", "list", "Contoso")]
    assert "Servers" in paths
    assert "Servers/Domain controllers" in paths
    table = cli.ok("folder", "list", "Contoso").out
    assert _header(table) == ["PATH", "ID"]

    cli.add_cred("Contoso", "In a folder", "Folder-pw-1!", "--folder", "Servers")
    busy = cli.fails(2, "folder", "delete", "Contoso", "Servers")
    assert "Servers" in busy

    deleted = cli.json("folder", "delete", "Contoso", "Servers/Domain controllers")
    assert deleted["path"] == "Servers/Domain controllers"
    assert [f["path"] for f in cli.json("folder", "list", "Contoso")] == ["Servers"]
    cli.fails(4, "folder", "delete", "Contoso", "Nowhere")

    cli.add_client("Empty")
    assert cli.json("folder", "list", "Empty") == []
    assert cli.ok("folder", "list", "Empty").out.strip() == "No folders."


def test_client_errors(cli):
    cli.use_session()
    cli.add_client("Contoso")
    assert "already exists" in cli.fails(5, "client", "add", "CONTOSO")
    assert "Nowhere" in cli.fails(4, "client", "show", "Nowhere")
    cli.fails(2, "client", "add", "   ")
    cli.fails(2, "client", "add", "x" * 1000)
    cli.fails(2, "client", "add", "Bad", "--default-sync-mode", "sometimes")


def test_client_rotation_interval_and_overdue_list(cli):
    cli.use_session()
    added = cli.json("client", "add", "Contoso", "--rotate-every", "30")
    assert (added["rotate_every_days"], added["overdue_count"]) == (30, 0)
    old = cli.add_cred("Contoso", "Old share", "Old-Pa55-word!")
    cli.add_cred("Contoso", "Fresh share", "Fresh-Pa55-word!")
    with sqlite3.connect(cli.home / "vault.db") as db:  # the old one's password: 40 days old
        db.execute(
            "UPDATE credentials SET password_changed_at = ? WHERE id = ?",
            ((dt.datetime.now(dt.UTC) - dt.timedelta(days=40)).isoformat(" "), old["id"]),
        )

    overdue = cli.json("cred", "list", "Contoso", "--overdue")
    assert [c["title"] for c in overdue] == ["Old share"]
    assert cli.json("client", "show", "Contoso")["overdue_count"] == 1
    shown = cli.ok("client", "show", "Contoso").out
    assert re.search(r"(?m)^Rotation \(days\):\s+30$", shown), shown
    assert re.search(r"(?m)^Overdue:\s+1$", shown), shown

    longer = cli.json("client", "set", "Contoso", "--rotate-every", "45")
    assert (longer["rotate_every_days"], longer["overdue_count"]) == (45, 0)
    assert cli.ok("cred", "list", "Contoso", "--overdue").out.strip() == "No credentials."
    never = cli.json("client", "set", "Contoso", "--rotate-every", "never")
    assert never["rotate_every_days"] is None

    for bad in ("0.5", "-1", "3651", "soon"):
        refused = cli.fails(2, "client", "set", "Contoso", "--rotate-every", bad)
        assert "whole number of days from 1 to 3650" in refused
        assert "(--rotate-every)" in refused
    refused = cli.fails(2, "client", "add", "Fabrikam", "--rotate-every", "x")
    assert "(--rotate-every)" in refused
    assert [c["name"] for c in cli.json("client", "list")] == ["Contoso"]
