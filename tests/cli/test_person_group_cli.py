"""``credsync person`` and ``credsync group`` on a local vault (the same through a server:
test_parity.py): a bad value names its flag, show says which attributes a directory holds
(and an edit of one is refused naming it and the directory), the trash, members."""

from __future__ import annotations

from typing import Any

import pyotp

from credsync.storage import Database
from credsync.vault import Vault
from credsync.vault.auth import SYSTEM


def _import_from_a_directory(cli: Any) -> None:
    """What the directory import (next) will do: a person whose attributes a directory holds."""
    bind = cli.add_cred("Contoso", "Bind", "Bind-Pa55word-1!", "--type", "directory_admin",
                        "--sync-mode", "off", username="CONTOSO\\svc")  # fmt: skip
    cli.ok("directory", "add", "Contoso", "contoso-ad", "--kind", "active-directory", "--url",
           "ldaps://127.0.0.1:1", "--base-dn", "DC=contoso,DC=test",
           "--bind-credential", bind["id"])  # fmt: skip
    db = Database(f"sqlite:///{cli.home / 'vault.db'}")
    try:
        vault = Vault.open(db)
        vault.people.upsert_from_directory(
            SYSTEM, "contoso-ad", "0f6c3d2e", {"username": "eva", "department": "IT"}
        )
    finally:
        db.dispose()


def test_people_from_the_command_line(cli: Any) -> None:
    cli.use_session()
    cli.add_client("Contoso")
    bad = cli.fails(2, "person", "add", "Contoso", "--username", "x", "--usage-location", "ZZ")
    assert "--usage-location" in bad
    assert "ISO 3166-1 alpha-2" in bad
    added = cli.json("person", "add", "Contoso", "--username", "anna", "--given-name", "Anna",
                     "--surname", "Berg", "--disabled")  # fmt: skip
    assert (added["display_name"], added["enabled"]) == ("Anna Berg", False)
    assert cli.json("person", "enable", "anna")["enabled"] is True
    assert "Anna Berg" in cli.ok("person", "list", "Contoso").out
    assert [p["username"] for p in cli.json("person", "search", "ber")] == ["anna"]
    cli.ok("person", "delete", "anna")
    assert cli.json("person", "list", "Contoso") == []
    assert [p["username"] for p in cli.json("person", "list", "Contoso", "--trash")] == ["anna"]
    cli.ok("person", "restore", "anna")

    _import_from_a_directory(cli)
    shown = cli.ok("person", "show", "eva").out
    assert "contoso-ad (username, department: read-only)" in shown
    assert "contoso-ad: 0f6c3d2e" in shown
    refused = cli.fails(2, "person", "edit", "eva", "--department", "Sales")
    assert "contoso-ad" in refused
    assert "--department" in refused
    assert cli.json("person", "edit", "eva", "--job-title", "Admin")["job_title"] == "Admin"


def test_groups_from_the_command_line(cli: Any) -> None:
    cli.use_session()
    cli.add_client("Contoso")
    cli.ok("person", "add", "Contoso", "--username", "anna")
    cli.ok("group", "add", "Contoso", "Sales", "--type", "microsoft365")
    cli.ok("group", "add", "Contoso", "Nordic")
    cli.ok("group", "add-member", "Sales", "anna")
    cli.ok("group", "add-member", "Sales", "Nordic", "--group")
    cycle = cli.fails(2, "group", "add-member", "Nordic", "Sales", "--group")
    assert "cycle" in cycle
    members = cli.json("group", "members", "Sales")
    assert [(m["type"], m["name"]) for m in members] == [("group", "Nordic"), ("person", "anna")]
    assert cli.json("group", "remove-member", "Sales", "anna")["members"] == 1
    assert cli.fails(4, "group", "remove-member", "Sales", "anna")
    bad = cli.run("group", "add", "Contoso", "X", "--type", "distribution")
    assert bad.code == 2
    cli.ok("group", "delete", "Sales")
    assert [g["name"] for g in cli.json("group", "list", "Contoso")] == ["Nordic"]
    cli.ok("group", "restore", "Sales")
    assert cli.json("group", "show", "Sales")["members"] == 1


def test_a_persons_mfa_is_shown_and_reset_by_vault_write_only(cli: Any) -> None:
    cli.use_session()
    cli.add_client("Contoso")
    cred = cli.add_cred("Contoso", "Pia's login", "Pia-Pa55word-1!", username="pia")
    person = cli.json("person", "add", "Contoso", "--username", "pia", "--credential", cred["id"])
    assert "MFA: authenticator app off; 0 security keys" in " ".join(
        cli.ok("person", "show", "pia").out.split()
    )
    db = Database(f"sqlite:///{cli.home / 'vault.db'}")
    try:
        vault = Vault.open(db)
        started = vault.person_auth.begin_totp(person["id"])
        vault.person_auth.confirm_totp(person["id"], pyotp.TOTP(started.seed.reveal()).now())
    finally:
        db.dispose()
    assert cli.json("person", "show", "pia")["mfa"] == {"totp": "on", "security_keys": 0}
    cli.ok("operator", "add", "vic", "--role", "viewer", "--password-stdin",
           stdin="vic-cli-password-7731\n")  # fmt: skip
    admin_env = cli.env
    cli.sign_in_as("vic", "vic-cli-password-7731")
    refused = cli.fails(3, "person", "mfa-reset", "pia")
    assert "vault.write" in refused
    cli.env = admin_env
    assert cli.json("person", "show", "pia")["mfa"]["totp"] == "on"
    done = cli.json("person", "mfa-reset", "pia", "--client", "Contoso")
    assert (done["had_totp"], done["security_keys"]) == (True, 0)
    assert cli.json("person", "show", "pia")["mfa"]["totp"] == "off"
    [entry] = cli.json("audit", "--action", "person.mfa_reset")
    assert entry["details"]["username"] == "pia"
