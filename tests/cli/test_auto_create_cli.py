"""``credsync directory auto-create`` end to end against the real Samba AD DC: the settings
shown and changed, a bad value naming its flag, the dry run (--json and as a table), a run
that makes the shells, and an operator without directory.setup refused."""

from __future__ import annotations

from test_sync_cli import ad_cli  # noqa: F401 - the fixture


def test_auto_create_from_the_command_line(ad_cli) -> None:  # noqa: F811
    cli = ad_cli
    shown = cli.json("directory", "auto-create", "contoso-ad")
    assert (shown["enabled"], shown["trigger"], shown["max_per_run"]) == (False, "capture", 50)
    assert "Enabled:" in cli.ok("directory", "auto-create", "contoso-ad").out

    group = cli.ad.admin.create_group(cli.ad.dn)
    inner = cli.ad.admin.create_group(cli.ad.dn)
    cli.ad.admin.add_member(group, inner)
    bob = cli.ad.create_user(display_name="Bob Builder")
    cli.ad.create_user()  # in no group
    cli.ad.admin.add_member(inner, bob.dn)
    changed = cli.json(
        "directory", "auto-create", "contoso-ad", "--on", "--group", group,
        "--trigger", "first_seen", "--folder", "AD users", "--tag", "ad",
        "--sync-mode", "two-way",
    )  # fmt: skip
    assert (changed["enabled"], changed["groups"], changed["tags"]) == (True, [group], ["ad"])
    assert changed["sync_mode"] == "two_way"

    bad = cli.run("directory", "auto-create", "contoso-ad", "--title", "{displayName} {x}")
    assert bad.code == 2
    assert "unknown placeholder {x}" in bad.err
    assert "--title" in bad.err
    bad = cli.run("directory", "auto-create", "contoso-ad", "--max-per-run", "0")
    assert "--max-per-run" in bad.err

    preview = cli.json("directory", "auto-create", "contoso-ad", "--dry-run")
    assert preview["count"] == 1
    assert preview["would_create"][0]["title"] == f"Bob Builder ({bob.name})"
    listed = cli.ok("directory", "auto-create", "contoso-ad", "--dry-run").out
    assert "1 credential(s) would be made" in listed
    assert bob.name in listed

    run = cli.json("sync", "run", "Contoso")["runs"][0]
    made = [i for i in run["items"] if i["action"] == "create"]
    assert [(i["account"], i["status"]) for i in made] == [(bob.name, "password_unknown")]
    again = cli.json("directory", "auto-create", "contoso-ad", "--dry-run")
    assert again["count"] == 0
