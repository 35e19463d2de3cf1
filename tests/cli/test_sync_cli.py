"""The sync commands end to end against the real Samba AD DC: directory add/test, sync plan,
run, runs, show, flags and resolving them, the enforce confirmation, the agent."""

from __future__ import annotations

import re

import pytest

from credsync.testing import prefork


@pytest.fixture
def ad_cli(cli, ad_ou):
    """A vault (session signed in) with client Contoso, directory sync on, an admin bind
    credential and directory ``contoso-ad`` scoped to this test's OU."""
    cli.use_session()
    cli.add_client("Contoso")
    cli.ok("client", "set", "Contoso", "--directory-sync", "on")
    facts = ad_ou.facts
    bind = cli.add_cred(
        "Contoso",
        "Domain admin",
        facts.admin_password,
        "--type",
        "directory_admin",
        "--sync-mode",
        "off",
        username=facts.admin_netbios,
    )
    directory = cli.json(
        "directory",
        "add",
        "Contoso",
        "contoso-ad",
        "--kind",
        "active-directory",
        "--url",
        "ldaps://127.0.0.1",
        "--tls-server-name",
        facts.tls_server_name,
        "--base-dn",
        ad_ou.dn,
        "--bind-credential",
        bind["id"][:8],
        "--ca-file",
        str(facts.ca_file),
    )
    assert directory["url"] == "ldaps://127.0.0.1:636"
    assert directory["ca"] == "configured"
    cli.ad = ad_ou
    cli.bind_id = bind["id"]
    return cli


def test_directory_test_reports_each_step(ad_cli) -> None:
    result = ad_cli.json("directory", "test", "contoso-ad")
    assert result["ok"] is True
    steps = [s["step"] for s in result["steps"]]
    assert steps[:3] == ["tcp", "tls", "bind"]
    assert all(s["outcome"] in ("ok", "warning") for s in result["steps"])
    shown = ad_cli.ok("directory", "show", "contoso-ad").out
    assert "Base DN:" in shown
    assert "Tenant" not in shown


def test_directory_test_names_a_refused_bind_in_the_directorys_words(ad_cli) -> None:
    ad_cli.ok("cred", "set-password", ad_cli.bind_id, "--password-stdin", stdin="Wrong-Adm1n!\n")
    result = ad_cli.run("directory", "test", "contoso-ad", "--json")
    assert result.code == 8
    steps = {s["step"]: s for s in result.json()["steps"]}
    assert steps["bind"]["outcome"] == "failed"
    assert "52e" in steps["bind"]["detail"]
    assert "Wrong-Adm1n!" not in result.out + result.err


def test_plan_run_flags_and_resolve_by_push(ad_cli) -> None:
    user = ad_cli.ad.create_user()
    cred = ad_cli.add_cred("Contoso", "Bob", "Vault-Only-Passw0rd!", username=user.name)
    plan = ad_cli.json("sync", "plan", "Contoso")["runs"][0]
    assert plan["dry_run"] is True
    assert [(i["status"], i["action"]) for i in plan["items"]] == [("pending", "verify")]

    run = ad_cli.json("sync", "run", "Contoso")["runs"][0]
    assert run["state"] == "done"
    item = run["items"][0]
    assert (item["credential_id"], item["account"], item["status"]) == (
        cred["id"],
        user.name,
        "mismatch",
    )
    # An incremental run leaves the credential as it was (neither side changed) and says so.
    again = ad_cli.json("sync", "run", "Contoso")["runs"][0]
    assert (again["kind"], again["items"], again["summary"]["unchanged"]) == ("incremental", [], 1)
    quiet = ad_cli.ok("sync", "run", "Contoso").out
    assert "1 linked credentials, unchanged on both sides since" in quiet
    assert "Nothing changed on either side." in quiet
    text = ad_cli.ok("sync", "run", "Contoso", "--full").out
    assert "mismatch" in text
    assert user.name in text

    flags = ad_cli.json("flags")
    assert [(f["credential_id"], f["status"]) for f in flags] == [(cred["id"], "mismatch")]
    assert ad_cli.json("flags", "Contoso") == flags
    assert "mismatch" in ad_cli.ok("flags").out

    resolved = ad_cli.json("flags", "resolve", flags[0]["id"][:8], "--push")
    assert resolved["outcome"] == "pushed"
    assert ad_cli.json("flags") == []
    assert ad_cli.ad.admin.account_state(user.dn)["pwdLastSet"] > 0

    runs = ad_cli.json("sync", "runs", "Contoso")
    assert [r["trigger"] for r in runs][:2] == ["resolve", "cli"]
    shown = ad_cli.json("sync", "show", runs[0]["id"][:8])
    assert shown["items"][0]["action"] == "push"
    assert "push" in ad_cli.ok("sync", "show", runs[0]["id"]).out


def test_enforce_asks_first_and_names_the_accounts(ad_cli) -> None:
    user = ad_cli.ad.create_user()
    cred = ad_cli.add_cred("Contoso", "Carol", "Another-Passw0rd!", username=user.name)
    ad_cli.json("sync", "run", "Contoso")
    refused = ad_cli.fails(2, "cred", "sync-mode", cred["id"], "enforce")
    assert f"contoso-ad:{user.name}" in refused
    assert "--yes" in refused
    ok = ad_cli.run("cred", "sync-mode", cred["id"], "enforce", "--yes", "--json")
    assert ok.code == 0
    assert user.name in ok.err  # the list is still shown, for the record
    run = ad_cli.json("sync", "run", "Contoso")["runs"][0]
    assert [(i["status"], i["action"]) for i in run["items"]] == [("in_sync", "push")]


def test_a_failed_run_exits_9_after_printing_its_report(ad_cli) -> None:
    ad_cli.ad.create_user()
    ad_cli.ok("directory", "set", "contoso-ad", "--url", "ldaps://127.0.0.1:1")
    result = ad_cli.run("sync", "run", "Contoso", "--json")
    assert result.code == 9
    assert result.json()["runs"][0]["state"] == "failed"
    assert "unreachable" in result.err


def test_insecure_skip_verify_is_warned_about_and_audited(ad_cli) -> None:
    result = ad_cli.run("directory", "set", "contoso-ad", "--insecure-skip-verify", "on")
    assert result.code == 0
    assert "verification is OFF" in result.err
    entries = ad_cli.json("audit", "--action", "directory.update")
    assert entries[0]["details"]["insecure_skip_verify"] is True


def test_bad_directory_input_is_one_clear_line(ad_cli) -> None:
    assert "ldaps://HOST" in ad_cli.fails(
        2, "directory", "add", "Contoso", "x", "--kind", "active-directory", "--url",
        "http://dc", "--base-dn", "DC=x", "--bind-credential", ad_cli.bind_id,
    )  # fmt: skip
    assert "directory_admin" in ad_cli.fails(
        2, "directory", "add", "Contoso", "x", "--kind", "active-directory", "--url",
        "ldaps://dc", "--base-dn", "DC=x", "--bind-credential",
        ad_cli.add_cred("Contoso", "plain", "Plain-Passw0rd!")["id"],
    )  # fmt: skip
    assert "already exists" in ad_cli.fails(
        5, "directory", "add", "Contoso", "CONTOSO-AD", "--kind", "active-directory", "--url",
        "ldaps://dc", "--base-dn", "DC=x", "--bind-credential", ad_cli.bind_id,
    )  # fmt: skip
    assert "no directory" in ad_cli.fails(4, "directory", "test", "nope")


def test_the_agent_once(ad_cli) -> None:
    user = ad_cli.ad.create_user()
    ad_cli.add_cred("Contoso", "Dave", user.password, username=user.name)
    result = ad_cli.run("agent", "--once")
    assert result.code == 0, result
    runs = ad_cli.json("sync", "runs")
    assert runs[0]["trigger"] == "agent"
    assert runs[0]["summary"]["statuses"] == {"in_sync": 1}


def test_the_agent_stops_cleanly_on_sigterm(ad_cli) -> None:
    import signal
    import time

    user = ad_cli.ad.create_user()
    ad_cli.add_cred("Contoso", "Erin", user.password, username=user.name)
    env = {**ad_cli.environment(), "PYTHONUNBUFFERED": "1"}
    # a process of its own, forked from one that has done the imports
    proc = prefork.spawn(["agent"], {**__import__("os").environ, **env}, capture=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            runs = ad_cli.json("sync", "runs")
            if runs and runs[0]["state"] == "done":
                break
            time.sleep(0.2)
        else:
            raise AssertionError("the agent made no run")
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert b"stopped" in err
    assert runs[0]["trigger"] == "agent"


def test_new_enforced_links_wait_for_an_operator_with_directory_setup(ad_cli) -> None:
    """Issue 13, finding 1 at the command line, locally and through a server: a technician's
    credential named like an AD user in an enforce client is linked and checked, never pushed;
    only an operator with directory.setup confirms the link (asked first, naming the account),
    then the next run pushes."""
    from types import SimpleNamespace

    from sync.test_enforce_mode import binds

    victim = ad_cli.ad.create_user()
    samba = SimpleNamespace(ad=ad_cli.ad)
    ad_cli.ok("client", "set", "Contoso", "--default-sync-mode", "enforce", "--yes")
    ad_cli.ok(
        "operator", "add", "bob", "--role", "technician", "--password-stdin",
        stdin="bob-cli-password-5521",
    )  # fmt: skip
    bob = {
        "CREDSYNC_SESSION": None,
        "CREDSYNC_PASSPHRASE": ad_cli.passphrase,
        "CREDSYNC_OPERATOR": "bob",
        "CREDSYNC_OPERATOR_PASSWORD": "bob-cli-password-5521",
    }
    cred = ad_cli.json(
        "cred", "add", "Contoso", "--title", "Planted", "--username", victim.name,
        "--password-stdin", stdin="Attacker-Chosen-1!\n", env=bob,
    )  # fmt: skip
    assert cred["effective_sync_mode"] == "enforce"
    run = ad_cli.json("sync", "run", "Contoso")["runs"][0]
    assert [(i["status"], i["action"]) for i in run["items"]] == [("mismatch", "verify")]
    assert binds(samba, victim.dn, victim.password)
    shown = ad_cli.ok("sync", "show", run["id"][:8]).out
    assert "(1 awaiting confirmation)" in shown
    assert "not pushed, the link awaits confirmation" in shown
    [flag] = ad_cli.json("flags", "Contoso")
    assert (flag["credential_id"], flag["status"]) == (cred["id"], "awaiting_confirmation")
    ref = flag["id"][:8]
    assert "directory.setup" in ad_cli.fails(3, "flags", "confirm", ref, "--yes", env=bob)
    refused = ad_cli.fails(2, "flags", "confirm", ref)  # no terminal to ask, no --yes
    assert f"contoso-ad:{victim.name}" in refused
    assert "--yes" in refused
    admin_token = ad_cli.json("token", "create", "confirm-admin")["token"]
    bob_token = ad_cli.json("token", "create", "confirm-bob", env=bob)["token"]
    served = ad_cli.serve()
    try:
        remote_bob = served.remote(bob_token)
        assert "directory.setup" in ad_cli.fails(
            3, "flags", "confirm", ref, "--yes", env=remote_bob
        )
        remote = served.remote(admin_token)
        assert f"contoso-ad:{victim.name}" in ad_cli.fails(2, "flags", "confirm", ref, env=remote)
        assert binds(samba, victim.dn, victim.password)
        done = ad_cli.json("flags", "confirm", ref, "--yes", env=remote)
    finally:
        served.stop()
    assert [(f["id"], f["resolution"]) for f in done] == [(flag["id"], "confirmed")]
    assert ad_cli.json("flags") == []
    pushed = ad_cli.json("sync", "run", "Contoso")["runs"][0]
    assert [(i["status"], i["action"]) for i in pushed["items"]] == [("in_sync", "push")]
    assert binds(samba, victim.dn, "Attacker-Chosen-1!")


def test_a_run_says_what_it_read(ad_cli) -> None:
    """Accounts read: a full pass reads every account; an incremental run those changed since
    the last run, with how many the vault knows (not a bare 0)."""
    users = [ad_cli.ad.create_user() for _ in range(3)]
    for user in users:
        ad_cli.add_cred("Contoso", user.name, user.password, username=user.name)
    full = ad_cli.json("sync", "run", "Contoso")["runs"][0]
    assert (full["kind"], full["accounts_read"], full["accounts_total"]) == ("full", 3, 3)
    shown = ad_cli.ok("sync", "show", full["id"]).out
    assert re.search(r"(?m)^Accounts read: +3 \(every account in scope\)$", shown)
    quiet = ad_cli.json("sync", "run", "Contoso")["runs"][0]
    assert (quiet["kind"], quiet["accounts_read"], quiet["accounts_total"]) == (
        "incremental", 0, 3,
    )  # fmt: skip
    text = ad_cli.ok("sync", "show", quiet["id"]).out
    assert re.search(r"(?m)^Accounts read: +0 changed since the last run \(3 known\)$", text)
