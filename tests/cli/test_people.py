"""operator, role, token and whoami commands; permissions are checked for every command."""

from __future__ import annotations

import re

BOB_PASSWORD = "bob-cli-password-5521"
BOB_NEW_PASSWORD = "bob-cli-password-6632"
CAROL_PASSWORD = "carol-cli-password-7743"


def test_whoami(cli):
    who = cli.json("whoami")
    assert who["operator"] == cli.admin
    assert (who["role"], who["via"]) == ("admin", "password")
    assert who["permissions"] == ["admin"]
    assert who["home"] == str(cli.home)
    assert who["database"].startswith("sqlite:///")
    human = cli.ok("whoami").out
    assert "Operator:" in human
    assert "Signed in via: password" in human
    assert cli.admin_password not in human


def _as(name: str, password: str) -> dict[str, str]:
    """Environment for another operator (use with ``only=True``: no admin session)."""
    return {"CREDSYNC_OPERATOR": name, "CREDSYNC_OPERATOR_PASSWORD": password}


def test_operator_lifecycle(cli):
    cli.use_session()  # the admin; bob signs in with his password
    added = cli.json(
        "operator", "add", "bob", "--role", "technician", "--password-stdin", stdin=BOB_PASSWORD
    )
    assert (added["name"], added["role"], added["disabled"]) == ("bob", "technician", False)
    assert "password" not in " ".join(added)
    cli.fails(
        5, "operator", "add", "BOB", "--role", "technician", "--password-stdin", stdin=BOB_PASSWORD
    )
    assert "nobody" in cli.fails(
        4, "operator", "add", "dave", "--role", "nobody", "--password-stdin", stdin=BOB_PASSWORD
    )

    rows = cli.json("operator", "list")
    assert [r["name"] for r in rows] == [cli.admin, "bob"]
    table = cli.ok("operator", "list").out.splitlines()
    assert table[0].split()[:4] == ["NAME", "ROLE", "CLIENTS", "DISABLED"]
    assert table[1].split()[:3] == [cli.admin, "admin", "all"]  # "all (admin)"
    assert table[2].split()[:3] == ["bob", "technician", "all"]
    assert len(table) == 3
    assert cli.json("operator", "show", "bob")["role"] == "technician"
    assert "technician" in cli.ok("operator", "show", "bob").out

    bob = {"env": _as("bob", BOB_PASSWORD), "only": True}
    assert cli.json("whoami", **bob)["role"] == "technician"
    denied = cli.fails(3, "operator", "list", **bob)
    assert "admin" in denied

    assert "auditor" in cli.ok("operator", "set-role", "bob", "auditor").out
    assert cli.json("whoami", **bob)["permissions"] == ["audit.read", "vault.read"]

    # Disabling ends bob's sessions for good: enabling him again brings none back.
    unlocked = cli.ok("unlock", "--raw", env={**bob["env"], "CREDSYNC_PASSPHRASE": cli.passphrase},
                      only=True).out.strip()  # fmt: skip
    in_session = {"env": {"CREDSYNC_SESSION": unlocked}, "only": True}
    assert cli.json("whoami", **in_session)["operator"] == "bob"
    disabled = cli.ok("operator", "disable", "bob").err
    assert "disabled: every session of theirs ended" in disabled
    assert cli.json("operator", "show", "bob")["disabled"] is True
    assert "bob" in cli.fails(3, "whoami", **bob)
    assert "enabled" in cli.ok("operator", "enable", "bob").err
    cli.ok("whoami", **bob)
    assert "ended" in cli.fails(3, "whoami", **in_session)

    # bob changes his own password (his sessions end, and it says so); alice changes it back
    unlocked = cli.ok("unlock", "--raw", env={**bob["env"], "CREDSYNC_PASSPHRASE": cli.passphrase},
                      only=True).out.strip()  # fmt: skip
    in_session = {"env": {"CREDSYNC_SESSION": unlocked}, "only": True}
    changed = cli.ok("operator", "passwd", "--password-stdin", stdin=BOB_NEW_PASSWORD, **bob)
    assert changed.err == "Password of bob changed; 1 web and CLI session(s) of theirs ended.\n"
    assert "ended" in cli.fails(3, "whoami", **in_session)
    cli.fails(3, "whoami", **bob)
    bob_new = {"env": _as("bob", BOB_NEW_PASSWORD), "only": True}
    assert cli.json("whoami", **bob_new)["operator"] == "bob"
    cli.fails(3, "operator", "passwd", cli.admin, "--password-stdin", stdin="x" * 20, **bob_new)
    cli.ok("operator", "passwd", "bob", "--password-stdin", stdin=BOB_PASSWORD)
    cli.ok("whoami", **bob)

    cli.fails(4, "operator", "show", "nobody")
    audit = {e["action"] for e in cli.json("audit", "--action", "operator.*")}
    assert {"operator.add", "operator.role", "operator.disable", "operator.enable"} <= audit


def test_wrong_password_is_one_line_without_the_password(cli):
    wrong = "definitely-not-it-9911"
    line = cli.fails(3, "client", "list", env={"CREDSYNC_OPERATOR_PASSWORD": wrong})
    assert wrong not in line
    assert "password" in line
    line = cli.fails(3, "client", "list", env={"CREDSYNC_OPERATOR": "mallory"})
    assert "mallory" in line or "operator" in line


def test_roles(cli):
    cli.use_session()
    roles = {r["name"]: r for r in cli.json("role", "list")}
    assert {"admin", "technician", "directory_manager", "auditor", "viewer"} <= set(roles)
    assert roles["admin"]["builtin"] is True
    table = cli.ok("role", "list").out.splitlines()
    assert table[0].split() == ["NAME", "PERMISSIONS", "BUILT", "IN"]

    added = cli.json(
        "role", "add", "helpdesk", "--permission", "vault.read", "--permission", "secret.reveal",
        "--description", "first line",
    )  # fmt: skip
    assert sorted(added["permissions"]) == ["secret.reveal", "vault.read"]
    assert added["builtin"] is False
    cli.fails(5, "role", "add", "helpdesk", "--permission", "vault.read")
    assert "fly" in cli.fails(2, "role", "add", "pilots", "--permission", "fly")

    cli.ok(
        "operator", "add", "carol", "--role", "helpdesk", "--password-stdin", stdin=CAROL_PASSWORD
    )
    in_use = cli.run("role", "delete", "helpdesk")
    assert in_use.code in (2, 5), in_use
    assert "helpdesk" in in_use.error
    cli.ok("operator", "set-role", "carol", "viewer")
    assert "deleted" in cli.ok("role", "delete", "helpdesk").err
    assert "helpdesk" not in {r["name"] for r in cli.json("role", "list")}
    builtin = cli.run("role", "delete", "viewer")
    assert builtin.code in (2, 5), builtin
    cli.fails(4, "role", "delete", "helpdesk")


def test_tokens(cli):
    cli.use_session()
    cli.ok("operator", "add", "bob", "--role", "technician", "--password-stdin", stdin=BOB_PASSWORD)
    mine = cli.json("token", "create", "backup-job", "--expires-days", "30")
    assert mine["token"].startswith("cst_")
    assert (mine["name"], mine["operator"]) == ("backup-job", cli.admin)
    assert mine["expires_at"] is not None
    human = cli.ok("token", "create", "second")
    assert human.out.startswith("cst_")
    assert "not shown again" in human.out
    for_bob = cli.json("token", "create", "bob-script", "--operator", "bob")
    assert for_bob["operator"] == "bob"

    listed = cli.json("token", "list")
    assert sorted(t["name"] for t in listed) == ["backup-job", "second"]
    assert all("token" not in t for t in listed)
    everyone = cli.json("token", "list", "--all")
    assert sorted(t["name"] for t in everyone) == ["backup-job", "bob-script", "second"]
    text = cli.ok("token", "list", "--all").out
    assert text.splitlines()[0].split()[:3] == ["ID", "NAME", "OPERATOR"]
    assert mine["token"] not in text

    bob_token = {"CREDSYNC_TOKEN": for_bob["token"], "CREDSYNC_SESSION": None}
    assert cli.json("whoami", env=bob_token)["operator"] == "bob"
    assert [t["name"] for t in cli.json("token", "list", env=bob_token)] == ["bob-script"]
    cli.fails(3, "token", "list", "--all", env=bob_token)
    cli.fails(3, "token", "revoke", mine["id"], env=bob_token)

    assert "revoked" in cli.ok("token", "revoke", mine["id"]).err
    revoked = {t["name"]: t["revoked"] for t in cli.json("token", "list")}
    assert revoked == {"backup-job": True, "second": False}
    line = cli.fails(3, "whoami", env={"CREDSYNC_TOKEN": mine["token"]}, only=True)
    assert mine["token"] not in line
    cli.fails(4, "token", "revoke", "0" * 36)

    # Revoking all of one's tokens, the one in use too; an admin, another's.
    for_bob_too = cli.json("token", "create", "bob-backup", "--operator", "bob")["token"]
    others = cli.fails(3, "token", "revoke", "--all", "--operator", cli.admin, env=bob_token)
    assert "admin" in others
    done = cli.ok("token", "revoke", "--all", env=bob_token)
    assert done.err == "2 API token(s) of bob revoked.\n"
    for token in (for_bob["token"], for_bob_too):
        cli.fails(3, "whoami", env={"CREDSYNC_TOKEN": token}, only=True)
    assert cli.ok("token", "revoke", "--all", "--operator", "bob").err == (
        "0 API token(s) of bob revoked.\n"
    )
    assert "--all" in cli.fails(2, "token", "revoke")
    assert "--all" in cli.fails(2, "token", "revoke", mine["id"], "--all")
    assert "--operator" in cli.fails(2, "token", "revoke", mine["id"], "--operator", "bob")
    entries = cli.json("audit", "--action", "token.revoke_all")
    assert [(e["actor"], e["details"]) for e in entries] == [
        (cli.admin, {"operator": "bob", "revoked": 0}),
        ("bob", {"operator": "bob", "revoked": 2}),
    ]


def test_a_password_change_may_revoke_the_api_tokens(cli):
    cli.use_session()
    cli.ok("operator", "add", "bob", "--role", "viewer", "--password-stdin", stdin=BOB_PASSWORD)
    token = cli.json("token", "create", "bob-script", "--operator", "bob")["token"]
    bob_token = {"env": {"CREDSYNC_TOKEN": token}, "only": True}
    kept = cli.ok("operator", "passwd", "bob", "--password-stdin", stdin=BOB_NEW_PASSWORD)
    assert kept.err == (
        "Password of bob changed; 0 web and CLI session(s) of theirs ended.\n"
        "1 API token(s) of bob still work: `credsync token revoke --all --operator bob` "
        "revokes them.\n"
    )
    assert cli.json("whoami", **bob_token)["operator"] == "bob"
    revoked = cli.ok(
        "operator", "passwd", "bob", "--password-stdin", "--revoke-tokens", stdin=BOB_PASSWORD
    )
    assert revoked.err == (
        "Password of bob changed; 0 web and CLI session(s) of theirs ended.\n"
        "1 API token(s) of bob revoked.\n"
    )
    cli.fails(3, "whoami", **bob_token)
    assert "not-a-token" not in cli.fails(
        3, "whoami", env={"CREDSYNC_TOKEN": "not-a-token"}, only=True
    )


def test_client_access_from_the_command_line(cli):
    """operator add --client and operator clients (admin only); the operator limited to some
    clients sees only those, and another client is "no client named" as one that does not
    exist; mistakes name the flag."""
    cli.use_session()
    for name in ("Contoso", "Fabrikam"):
        cli.ok("client", "add", name)
    added = cli.json(
        "operator",
        "add",
        "carol",
        "--role",
        "technician",
        "--client",
        "contoso",
        "--password-stdin",
        stdin=CAROL_PASSWORD,
    )
    assert [c["name"] for c in added["clients"]] == ["Contoso"]
    assert added["client_access"] == "listed"
    assert "Contoso" in cli.ok("operator", "show", "carol").out
    assert cli.json("operator", "show", cli.admin)["clients"] is None
    carol = {"env": _as("carol", CAROL_PASSWORD), "only": True}
    assert [c["name"] for c in cli.json("client", "list", **carol)] == ["Contoso"]
    assert [c["name"] for c in cli.json("whoami", **carol)["clients"]] == ["Contoso"]
    assert re.search(r"(?m)^Clients:\s+Contoso$", cli.ok("whoami", **carol).out)
    missing = cli.fails(4, "client", "show", "Fabrikam", **carol)
    assert "no client named 'Fabrikam'" in missing
    assert (
        cli.fails(4, "client", "show", "Nowhere", **carol).replace("Nowhere", "Fabrikam") == missing
    )
    assert "every client" in cli.fails(3, "client", "add", "Northwind", **carol)
    assert cli.fails(3, "operator", "clients", "carol", "--all-clients", **carol)

    both = cli.json("operator", "clients", "carol", "--client", "Contoso", "--client", "Fabrikam")
    assert [c["name"] for c in both["clients"]] == ["Contoso", "Fabrikam"]
    assert [c["name"] for c in cli.json("client", "list", **carol)] == ["Contoso", "Fabrikam"]
    assert "carol now reaches: all." in cli.ok("operator", "clients", "carol", "--all-clients").out
    assert cli.json("operator", "show", "carol")["clients"] is None

    assert "--client" in cli.fails(2, "operator", "clients", "carol")
    assert "--client" in cli.fails(2, "operator", "clients", "carol", "--client", "Nope")
    admin_limited = cli.fails(2, "operator", "clients", cli.admin, "--client", "Contoso")
    assert "admin" in admin_limited
    assert "--client" in admin_limited
