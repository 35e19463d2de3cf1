"""key rotate, db, audit with filters, policy and generate, lock."""

from __future__ import annotations

import string

NEW_PASSPHRASE = "a brand new master passphrase 2468"


def test_key_rotate(cli):
    session = cli.use_session()
    cli.add_client("Contoso")
    cli.add_client("Fabrikam")
    cred = cli.add_cred("Contoso", "Survives rotation", "Rot-pw-1111!")

    weak = cli.fails(2, "key", "rotate", "--new-passphrase-stdin", stdin="short\n")
    assert "short" not in weak
    assert "--new-passphrase-stdin" in cli.fails(2, "key", "rotate")

    rotated = cli.json("key", "rotate", "--new-passphrase-stdin", stdin=NEW_PASSPHRASE + "\n")
    assert rotated == {"data_keys_rewrapped": 2}
    cli.sign_in_as(cli.admin, cli.admin_password)  # with the old passphrase

    old = cli.fails(3, "cred", "show", cred["id"], "--reveal")
    assert "passphrase" in old
    assert cli.passphrase not in old
    ended = cli.fails(3, "whoami", env={"CREDSYNC_SESSION": session}, only=True)
    assert "session" in ended

    cli.fails(3, "cred", "add", "Fabrikam", "--title", "X", "--password-stdin", stdin="Rot-pw-0!")

    cli.env["CREDSYNC_PASSPHRASE"] = NEW_PASSPHRASE
    assert cli.json("cred", "show", cred["id"], "--reveal")["password"] == "Rot-pw-1111!"
    after = cli.add_cred("Fabrikam", "After rotation", "Rot-pw-2222!")
    assert cli.json("cred", "show", after["id"], "--reveal")["password"] == "Rot-pw-2222!"
    assert cli.json("audit", "--action", "key.rotate")[0]["actor"] == cli.admin
    assert cli.ok("audit", "verify").code == 0


def test_key_rotate_is_admin_only(cli):
    cli.ok(
        "operator", "add", "bob", "--role", "technician", "--password-stdin",
        stdin="bob-cli-password-5521",
    )  # fmt: skip
    bob = {"CREDSYNC_OPERATOR": "bob", "CREDSYNC_OPERATOR_PASSWORD": "bob-cli-password-5521"}
    line = cli.fails(3, "key", "rotate", "--new-passphrase-stdin", stdin=NEW_PASSPHRASE, env=bob)
    assert "admin" in line


def test_db_status_and_upgrade(cli, empty_cli):
    status = cli.json("db", "status")
    assert status["revision"] == status["required"]
    assert status["database"] == f"sqlite:///{cli.home / 'vault.db'}"
    human = cli.ok("db", "status").out
    assert f"revision {status['required']}" in human
    upgraded = cli.ok("db", "upgrade")
    assert "current schema revision" in upgraded.err
    assert cli.json("db", "status") == status

    empty = empty_cli.json("db", "status", only=True)
    assert empty["revision"] is None
    line = empty_cli.fails(4, "client", "list")
    assert "credsync init" in line


def test_audit_list_and_filters(cli):
    cli.use_session()
    contoso = cli.add_client("Contoso")
    cli.add_client("Fabrikam")
    cred = cli.add_cred("Contoso", "Audited", "Aud-pw-1111!")
    cli.add_cred("Fabrikam", "Elsewhere", "Aud-pw-2222!")
    cli.ok("cred", "show", cred["id"], "--reveal")

    everything = cli.json("audit")
    seqs = [e["seq"] for e in everything]
    assert seqs == sorted(seqs, reverse=True)  # newest first
    assert everything[-1]["action"] == "vault.init"
    assert all("Aud-pw" not in str(e) for e in everything)

    assert [e["action"] for e in cli.json("audit", "--action", "credential.reveal")] == [
        "credential.reveal"
    ]
    prefixed = {e["action"] for e in cli.json("audit", "--action", "credential.*")}
    assert prefixed == {"credential.add", "credential.reveal"}
    about_contoso = cli.json("audit", "--client", "Contoso")
    assert {e["client_id"] for e in about_contoso} == {contoso["id"]}
    assert {e["action"] for e in about_contoso} >= {"client.add", "credential.add"}
    assert {e["target_id"] for e in cli.json("audit", "--target", cred["id"])} == {cred["id"]}
    assert {e["actor"] for e in cli.json("audit", "--operator", "system")} == {"system"}
    assert len(cli.json("audit", "--limit", "2")) == 2
    assert cli.json("audit", "--operator", "nobody") == []

    table = cli.ok("audit", "--limit", "3").out.splitlines()
    assert table[0].split() == [
        "SEQ",
        "WHEN",
        "OPERATOR",
        "ACTION",
        "TARGET",
        "NAME",
        "OR",
        "ID",
        "CLIENT",
        "DETAILS",
    ]
    assert len(table) == 4
    revealed = cli.ok("audit", "--action", "credential.reveal").out.splitlines()[1]
    assert "Audited" in revealed  # names, not ids
    assert "Contoso" in revealed
    cli.fails(2, "audit", "--limit", "0")
    cli.fails(4, "audit", "--client", "Nowhere")

    today = everything[0]["at"][:10]
    assert cli.json("audit", "--since", today, "--until", today) == everything
    assert cli.json("audit", "--until", "2000-01-01") == []
    assert cli.json("audit", "--since", "2999-01-01T00:00:00Z") == []
    line = cli.fails(2, "audit", "--since", "yesterday")
    assert line.endswith("(--since)"), line
    line = cli.fails(2, "audit", "--since", today, "--until", "2000-01-01")
    assert "until must be later than since" in line


def test_audit_needs_audit_read(cli):
    cli.ok(
        "operator", "add", "eve", "--role", "auditor", "--password-stdin",
        stdin="eve-cli-password-1357",
    )  # fmt: skip
    cli.ok(
        "operator", "add", "tom", "--role", "technician", "--password-stdin",
        stdin="tom-cli-password-2468",
    )  # fmt: skip
    eve = {"CREDSYNC_OPERATOR": "eve", "CREDSYNC_OPERATOR_PASSWORD": "eve-cli-password-1357"}
    assert cli.json("whoami", env=eve)["role"] == "auditor"
    # tokens from here on: no password hash per command
    eve = {"CREDSYNC_TOKEN": cli.json("token", "create", "e", "--operator", "eve")["token"]}
    tom = {"CREDSYNC_TOKEN": cli.json("token", "create", "t", "--operator", "tom")["token"]}
    assert cli.json("audit", "--limit", "1", env=eve)
    assert cli.ok("audit", "verify", env=eve).code == 0
    assert "audit.read" in cli.fails(3, "audit", env=tom)
    assert "audit.read" in cli.fails(3, "audit", "verify", env=tom)


def test_policies_and_generate(cli):
    cli.use_session()
    default = cli.json("generate")
    assert len(default) == 1
    assert len(default[0]) == 20
    five = cli.json(
        "generate", "--length", "32", "--min-symbols", "-1", "--no-ambiguous", "--count", "5"
    )
    assert len(set(five)) == 5
    for password in five:
        assert len(password) == 32
        assert password.isalnum()
        assert not set(password) & set("Il1O0o")
    human = cli.ok("generate", "--count", "3").out.splitlines()
    assert len(human) == 3
    digits = cli.json("generate", "--length", "6", "--min-lower", "-1", "--min-upper", "-1",
                      "--min-symbols", "-1")  # fmt: skip
    assert set(digits[0]) <= set(string.digits)

    added = cli.json("policy", "add", "Long", "--length", "40", "--exclude", "abc")
    assert (added["name"], added["length"], added["exclude"]) == ("long", 40, "abc")
    assert "Policy pin added." in cli.ok("policy", "add", "pin", "--length", "6",
                                         "--min-lower", "-1", "--min-upper", "-1",
                                         "--min-symbols", "-1").out  # fmt: skip
    cli.fails(5, "policy", "add", "long")
    assert "length" in cli.fails(2, "policy", "add", "tiny", "--length", "2")
    cli.fails(2, "policy", "add", "nothing", "--min-lower", "-1", "--min-upper", "-1",
              "--min-digits", "-1", "--min-symbols", "-1")  # fmt: skip

    policies = {p["name"]: p for p in cli.json("policy", "list")}
    assert {"default", "long", "pin"} <= set(policies)
    table = cli.ok("policy", "list").out.splitlines()
    assert table[0].split()[:3] == ["NAME", "LENGTH", "LOWER"]

    from_policy = cli.json("generate", "--policy", "long", "--count", "3")
    assert all(len(p) == 40 and not set(p) & set("abc") for p in from_policy)
    assert len(cli.json("generate", "--policy", "pin")[0]) == 6

    assert "deleted" in cli.ok("policy", "delete", "pin").err
    assert "pin" not in {p["name"] for p in cli.json("policy", "list")}
    cli.fails(4, "policy", "delete", "pin")
    cli.fails(4, "generate", "--policy", "pin")
    cli.fails(2, "generate", "--count", "0")


def test_lock_all_sessions(cli):
    first = cli.run("unlock", "--raw").out.strip()
    second = cli.json("unlock", "--ttl", "30m")["session"]
    export_line = cli.ok("unlock").out.strip()
    assert export_line.startswith("export CREDSYNC_SESSION='css_")
    assert "forever" in cli.fails(2, "unlock", "--ttl", "forever")
    assert "7" in cli.fails(2, "unlock", "--ttl", "30d")

    ended = cli.ok("lock", "--all-sessions")
    assert "Ended 3 session(s)" in ended.err
    for session in (first, second):
        cli.fails(3, "whoami", env={"CREDSYNC_SESSION": session}, only=True)
