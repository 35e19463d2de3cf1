"""cred commands in this process: every subcommand, human output and --json."""

from __future__ import annotations

import pytest

PW1 = "Cred-test-pw-1111!"
PW2 = "Cred-test-pw-2222?"
PW3 = "Cred-test-pw-3333#"


@pytest.fixture
def contoso(cli):
    """The cli, in a session, with client Contoso."""
    cli.use_session()
    cli.add_client("Contoso")
    return cli


def test_add_then_show_hides_the_password_unless_revealed(contoso):
    cli = contoso
    cred = cli.add_cred(
        "Contoso",
        "DC admin",
        PW1,
        "--url",
        "https://dc.contoso.test",
        "--notes",
        "break glass only",
        "--tag",
        "ad",
        "--tag",
        "tier0",
        "--folder",
        "Servers/DCs",
        "--type",
        "service_account",
        "--sync-mode",
        "off",
        username="CONTOSO\\admin",
    )
    assert cred["folder"] == "Servers/DCs"
    assert sorted(cred["tags"]) == ["ad", "tier0"]
    assert (cred["type"], cred["sync_mode"], cred["has_notes"]) == ("service_account", "off", True)
    assert "password" not in cred
    assert "notes" not in cred

    hidden = cli.ok("cred", "show", cred["id"]).out
    assert PW1 not in hidden
    assert "break glass" not in hidden
    assert "Password:" in hidden
    assert "--reveal" in hidden
    assert "Servers/DCs" in hidden
    hidden_json = cli.json("cred", "show", cred["id"])
    assert "password" not in hidden_json

    revealed = cli.json("cred", "show", cred["id"][:8], "--reveal")
    assert revealed["password"] == PW1
    assert revealed["notes"] == "break glass only"
    human = cli.ok("cred", "show", cred["id"], "--reveal").out
    assert f"Password:         {PW1}" in human

    reveals = cli.json("audit", "--action", "credential.reveal")
    assert len(reveals) == 2
    assert {r["target_id"] for r in reveals} == {cred["id"]}


def test_add_generated_and_with_a_policy(contoso):
    cli = contoso
    cli.ok("policy", "add", "long", "--length", "40", "--min-symbols", "-1")
    cred = cli.json(
        "cred", "add", "Contoso", "--title", "Generated", "--username", "svc-x", "--generate"
    )
    assert len(cli.json("cred", "show", cred["id"], "--reveal")["password"]) == 20
    cred = cli.json("cred", "add", "Contoso", "--title", "Long", "--generate", "--policy", "long")
    password = cli.json("cred", "show", cred["id"], "--reveal")["password"]
    assert len(password) == 40
    assert password.isalnum()
    assert cli.json("cred", "history", cred["id"])[0]["reason"] == "created (generated)"

    both = cli.fails(
        2, "cred", "add", "Contoso", "--title", "X", "--generate", "--password-stdin", stdin=PW1
    )
    assert "--password-stdin" in both
    assert "--generate" in cli.fails(
        2, "cred", "add", "Contoso", "--title", "X", "--policy", "long"
    )
    assert "no terminal" in cli.fails(2, "cred", "add", "Contoso", "--title", "No password")
    assert "standard input" in cli.fails(
        2, "cred", "add", "Contoso", "--title", "Empty", "--password-stdin", stdin="\n"
    )
    assert "UTF-8" in cli.fails(
        2, "cred", "add", "Contoso", "--title", "Bad", "--password-stdin", stdin=b"\xff\xfe\n"
    )
    assert [c["title"] for c in cli.json("cred", "list", "Contoso")] == ["Generated", "Long"]


def test_list_filters_pages_and_table(contoso):
    cli = contoso
    for i in range(5):
        folder = ("--folder", "Servers") if i % 2 else ()
        cli.add_cred("Contoso", f"Cred {i}", PW1, "--tag", f"t{i % 2}", *folder)

    rows = cli.json("cred", "list", "Contoso")
    assert [r["title"] for r in rows] == [f"Cred {i}" for i in range(5)]
    assert [r["title"] for r in cli.json("cred", "list", "Contoso", "--tag", "t1")] == [
        "Cred 1",
        "Cred 3",
    ]
    assert len(cli.json("cred", "list", "Contoso", "--folder", "Servers")) == 2

    first = cli.run("cred", "list", "Contoso", "--limit", "2", "--json")
    assert first.code == 0, first
    assert [r["title"] for r in first.json()] == ["Cred 0", "Cred 1"]
    assert "--cursor" in first.err
    cursor = first.err.split("--cursor ")[1].split()[0]
    second = cli.json("cred", "list", "Contoso", "--limit", "2", "--cursor", cursor)
    assert [r["title"] for r in second] == ["Cred 2", "Cred 3"]
    everything = cli.json("cred", "list", "Contoso", "--limit", "2", "--all")
    assert [r["title"] for r in everything] == [r["title"] for r in rows]

    table = cli.ok("cred", "list", "Contoso").out.splitlines()
    headers = ["ID", "TITLE", "USERNAME", "FOLDER", "SYNC", "TAGS", "PASSWORD", "UNKNOWN"]
    assert table[0].split() == headers
    assert len(table) == 6
    assert all(PW1 not in line for line in table)

    cli.add_client("Empty")
    assert cli.ok("cred", "list", "Empty").out.strip() == "No credentials."
    assert cli.json("cred", "list", "Empty") == []
    assert "Nowhere" in cli.fails(4, "cred", "list", "Nowhere")


def test_search(contoso):
    cli = contoso
    cli.add_client("Fabrikam")
    cli.add_cred("Contoso", "Domain admin", PW1, username="CONTOSO\\admin")
    cli.add_cred("Contoso", "Backup service", PW1, "--tag", "backup", username="svc-backup")
    cli.add_cred("Fabrikam", "Domain admin", PW1, "--url", "https://fabrikam.test/admin")

    found = cli.json("cred", "search", "domain", "adm")
    assert sorted(r["client"] for r in found) == ["Contoso", "Fabrikam"]
    only = cli.json("cred", "search", "domain", "--client", "Fabrikam")
    assert [r["client"] for r in only] == ["Fabrikam"]
    assert [r["title"] for r in cli.json("cred", "search", "backup")] == ["Backup service"]
    assert [r["title"] for r in cli.json("cred", "search", "svc", "--tag", "backup")] == [
        "Backup service"
    ]
    assert cli.json("cred", "search", "nothing-like-this") == []
    assert cli.ok("cred", "search", "nothing-like-this").out.strip() == "Nothing found."

    table = cli.ok("cred", "search", "domain").out.splitlines()
    assert table[0].split()[:3] == ["CLIENT", "ID", "TITLE"]
    assert len(table) == 3


def test_set_password_generate_and_history(contoso):
    cli = contoso
    cred = cli.add_cred("Contoso", "Rotated", PW1, username="rot")
    cid = cred["id"]

    updated = cli.json(
        "cred", "set-password", cid, "--password-stdin", "--reason", "rotation", stdin=PW2 + "\n"
    )
    assert updated["secret_version"] == 2
    assert "password" not in updated
    assert cli.json("cred", "show", cid, "--reveal")["password"] == PW2

    stale = cli.fails(
        5, "cred", "set-password", cid, "--password-stdin", "--if-version", "1", stdin=PW3
    )
    assert "version" in stale
    assert cli.json("cred", "show", cid, "--reveal")["password"] == PW2

    cli.json("cred", "set-password", cid, "--generate", "--reason", "by the generator")
    third = cli.json("cred", "show", cid, "--reveal")["password"]
    assert third not in (PW1, PW2)

    shown = cli.json("cred", "generate", cid, "--show", "--reason", "again")
    assert shown["secret_version"] == 4
    assert len(shown["password"]) == 20
    quiet = cli.ok("cred", "generate", cid)
    assert "(--reveal)" in quiet.out
    assert shown["password"] not in quiet.out

    history = cli.json("cred", "history", cid)
    assert [h["version"] for h in history] == [5, 4, 3, 2, 1]
    assert [h["current"] for h in history] == [True, False, False, False, False]
    assert history[3]["reason"] == "rotation"
    assert history[2]["source"] == "generated"
    assert all("password" not in h for h in history)

    revealed = cli.json("cred", "history", cid, "--reveal")
    assert [h["password"] for h in revealed][2:] == [third, PW2, PW1]
    table = cli.ok("cred", "history", cid).out.splitlines()
    assert table[0].split() == ["VERSION", "CURRENT", "WHEN", "WHO", "SOURCE", "WHY"]
    assert len(table) == 6
    assert PW1 not in "\n".join(table)
    with_passwords = cli.ok("cred", "history", cid, "--reveal").out
    assert with_passwords.splitlines()[0].split()[-1] == "PASSWORD"
    assert PW1 in with_passwords

    [first] = cli.json("cred", "history", cid, "--version", "1", "--reveal")
    assert (first["version"], first["password"]) == (1, PW1)
    one = cli.ok("cred", "history", cid, "--version", "2", "--reveal").out
    assert PW2 in one
    assert PW1 not in one
    assert "no password version 9" in cli.fails(4, "cred", "history", cid, "--version", "9")


def test_a_duplicate_is_refused_unless_allowed(contoso):
    cli = contoso
    first = cli.add_cred("Contoso", "Backup", PW1, "--folder", "Servers", username="svc")
    line = cli.fails(
        5, "cred", "add", "Contoso", "--title", "BACKUP", "--username", "SVC", "--folder",
        "servers", "--password-stdin", stdin=PW2,
    )  # fmt: skip
    assert first["id"] in line
    assert line.endswith("is a duplicate (--allow-duplicate)"), line
    twin = cli.add_cred(
        "Contoso", "Backup", PW2, "--folder", "Servers", "--allow-duplicate", username="svc"
    )
    assert twin["id"] != first["id"]
    other = cli.add_cred("Contoso", "Other", PW3, username="svc")
    line = cli.fails(5, "cred", "edit", other["id"], "--title", "Backup", "--folder", "Servers")
    assert line.endswith("(--allow-duplicate)"), line
    moved = cli.json(
        "cred", "edit", other["id"], "--title", "Backup", "--folder", "Servers",
        "--allow-duplicate",
    )  # fmt: skip
    assert (moved["title"], moved["folder"]) == ("Backup", "Servers")


def test_sync_mode_and_edit(contoso):
    cli = contoso
    cred = cli.add_cred("Contoso", "Synced", PW1, username="sync-me")
    cid = cred["id"]
    assert (cred["sync_mode"], cred["effective_sync_mode"]) == (None, "report")

    assert cli.json("cred", "sync-mode", cid, "off")["effective_sync_mode"] == "off"
    refused = cli.fails(2, "cred", "sync-mode", cid, "enforce")
    assert "sync-me" in refused  # the question names the account
    assert "--yes" in refused
    assert cli.json("cred", "show", cid)["sync_mode"] == "off"
    assert cli.json("cred", "sync-mode", cid, "enforce", "--yes")["sync_mode"] == "enforce"
    inherited = cli.json("cred", "sync-mode", cid, "inherit")
    assert (inherited["sync_mode"], inherited["effective_sync_mode"]) == (None, "report")

    edited = cli.json(
        "cred",
        "edit",
        cid,
        "--title",
        "Synced (renamed)",
        "--username",
        "sync-you",
        "--url",
        "https://x.test",
        "--notes",
        "new notes",
        "--tag",
        "a",
        "--tag",
        "b",
        "--folder",
        "Moved",
        "--type",
        "api_key",
    )
    assert edited["title"] == "Synced (renamed)"
    assert (edited["username"], edited["url"], edited["type"]) == (
        "sync-you",
        "https://x.test",
        "api_key",
    )
    assert (sorted(edited["tags"]), edited["folder"]) == (["a", "b"], "Moved")
    assert cli.json("cred", "show", cid, "--reveal")["notes"] == "new notes"

    cleared = cli.json("cred", "edit", cid, "--clear-tags", "--folder", "", "--notes", "")
    assert (cleared["tags"], cleared["folder"], cleared["has_notes"]) == ([], None, False)
    assert cli.json("cred", "show", cid, "--reveal")["password"] == PW1  # untouched
    stale = cli.fails(5, "cred", "edit", cid, "--title", "Old", "--if-version", "1")
    assert "version" in stale


def test_delete_restore_trash_purge(contoso):
    cli = contoso
    keep = cli.add_cred("Contoso", "Keep", PW1)
    gone = cli.add_cred("Contoso", "Gone", PW2)

    deleted = cli.ok("cred", "delete", gone["id"])
    assert "trash" in deleted.out
    assert [c["title"] for c in cli.json("cred", "list", "Contoso")] == ["Keep"]
    trash = cli.json("cred", "list", "Contoso", "--trash")
    assert [c["id"] for c in trash] == [gone["id"]]
    assert trash[0]["deleted"] is True
    assert "In trash since" in cli.ok("cred", "show", gone["id"]).out
    assert cli.json("cred", "search", "gone") == []

    restored = cli.json("cred", "restore", gone["id"])
    assert restored["deleted"] is False
    assert cli.json("cred", "list", "Contoso", "--trash") == []
    assert cli.json("cred", "show", gone["id"], "--reveal")["password"] == PW2

    not_trashed = cli.fails(2, "cred", "purge", gone["id"], "--yes")
    assert "trash" in not_trashed
    cli.json("cred", "delete", gone["id"])
    unconfirmed = cli.run("cred", "purge", gone["id"], stdin="n\n")
    assert unconfirmed.code != 0
    assert len(cli.json("cred", "list", "Contoso", "--trash")) == 1
    purged = cli.ok("cred", "purge", gone["id"], "--yes")
    assert "Purged" in purged.err
    assert cli.json("cred", "list", "Contoso", "--trash") == []
    cli.fails(4, "cred", "show", gone["id"])
    cli.fails(4, "cred", "restore", gone["id"])
    assert [c["id"] for c in cli.json("cred", "list", "Contoso")] == [keep["id"]]
    actions = {e["action"] for e in cli.json("audit", "--target", gone["id"])}
    assert {"credential.delete", "credential.restore", "credential.purge"} <= actions


def test_ids_and_prefixes(contoso):
    cli = contoso
    cred = cli.add_cred("Contoso", "Prefixed", PW1)
    assert cli.json("cred", "show", cred["id"][:6])["id"] == cred["id"]
    assert cli.json("cred", "show", cred["id"].upper())["id"] == cred["id"]
    cli.fails(4, "cred", "show", "0" * 8)
    cli.fails(2, "cred", "show", "abc")  # too short to be an id prefix


PEM = (
    "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUQ2Fy\n-----END CERTIFICATE-----\n"
    "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49\n-----END PRIVATE KEY-----"
)


def test_a_password_file_holds_a_pem_certificate_and_key(contoso, tmp_path):
    cli = contoso
    pem_file = tmp_path / "app.pem"
    pem_file.write_text(PEM + "\n")
    cred = cli.json(
        "cred", "add", "Contoso", "--title", "Graph app", "--username", "credsync-app",
        "--type", "directory_admin", "--sync-mode", "off", "--password-file", str(pem_file),
    )  # fmt: skip
    shown = cli.json("cred", "show", cred["id"], "--reveal")
    assert shown["password"] == PEM
    # A one-line password from a file: its line break is dropped.
    plain = tmp_path / "pw.txt"
    plain.write_text(PW2 + "\n")
    cli.ok("cred", "set-password", cred["id"], "--password-file", str(plain))
    assert cli.json("cred", "show", cred["id"], "--reveal")["password"] == PW2
    # Line breaks are only for PEM documents; a missing file is named.
    plain.write_text("two\nlines\n")
    assert "line break" in cli.fails(2, "cred", "set-password", cred["id"], "--password-file",
                                     str(plain))  # fmt: skip
    assert "cannot read the password file" in cli.fails(
        2, "cred", "set-password", cred["id"], "--password-file", str(tmp_path / "nope")
    )
    assert "choose one of" in cli.fails(
        2, "cred", "set-password", cred["id"], "--password-file", str(plain), "--generate"
    )
