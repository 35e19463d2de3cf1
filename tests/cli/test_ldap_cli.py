"""Plain LDAP end to end through the command line, against the session's real slapd: the
kind's own options (made from its descriptor), directory test, report, the enforce
confirmation and pushes that work on the server, and refusals that name the flag."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slapd


@pytest.fixture
def ldap_cli(cli, ldap_ou):
    """A vault (session signed in) with client Contoso, directory sync on, credsync's bind
    identity and directory ``contoso-ldap`` scoped to this test's OU."""
    cli.use_session()
    cli.add_client("Contoso")
    cli.ok("client", "set", "Contoso", "--directory-sync", "on")
    facts = ldap_ou.facts
    bind = cli.add_cred(
        "Contoso", "LDAP bind", facts.bind_password, "--type", "directory_admin",
        "--sync-mode", "off", username=facts.bind_dn,
    )  # fmt: skip
    directory = cli.json(
        "directory", "add", "Contoso", "contoso-ldap", "--kind", "ldap",
        "--url", facts.ldap_url, "--base-dn", ldap_ou.dn, "--bind-credential", bind["id"][:8],
        "--ca-file", str(facts.ca_file), "--password-policy-dn", facts.policy_dn,
    )  # fmt: skip
    assert directory["kind"] == "ldap"
    assert directory["url"].startswith("ldap://")  # StartTLS
    assert directory["user_filter"] == "(objectClass=inetOrgPerson)"
    assert directory["naming_attribute"] == "uid"
    cli.ldap = ldap_ou
    return cli


def test_directory_add_and_show_speak_the_kinds_own_terms(ldap_cli) -> None:
    shown = ldap_cli.ok("directory", "show", "contoso-ldap").out
    for label in ("Base DN:", "User filter:", "Naming attribute:", "Password policy DN:"):
        assert label in shown
    assert "Tenant" not in shown
    listed = ldap_cli.json("directory", "list", "Contoso")
    assert [d["kind"] for d in listed] == ["ldap"]


def test_directory_test_checks_every_step(ldap_cli) -> None:
    result = ldap_cli.json("directory", "test", "contoso-ldap")
    assert result["ok"] is True, result
    steps = {s["step"]: s["outcome"] for s in result["steps"]}
    assert list(steps)[:3] == ["tcp", "tls", "bind"]
    assert set(steps.values()) <= {"ok", "warning"}


def test_report_then_enforce_through_the_command_line(ldap_cli) -> None:
    admin = ldap_cli.ldap.admin
    user = ldap_cli.ldap.create_user()
    cred = ldap_cli.add_cred("Contoso", "Ann", "Not-Her-Passw0rd-1!", username=user.name)
    run = ldap_cli.json("sync", "run", "Contoso")["runs"][0]
    assert [(i["status"], i["action"]) for i in run["items"]] == [("mismatch", "verify")]
    assert [f["status"] for f in ldap_cli.json("flags", "Contoso")] == ["mismatch"]
    refused = ldap_cli.fails(2, "cred", "sync-mode", cred["id"], "enforce")
    assert f"contoso-ldap:{user.name}" in refused
    ldap_cli.ok("cred", "sync-mode", cred["id"], "enforce", "--yes")
    run = ldap_cli.json("sync", "run", "Contoso")["runs"][0]
    assert [(i["status"], i["action"]) for i in run["items"]] == [("in_sync", "push")]
    assert admin.bind_answer(user.dn, "Not-Her-Passw0rd-1!")[0] == 0  # the vault's works now
    assert ldap_cli.json("flags", "Contoso") == []


def test_refused_settings_name_their_flag(ldap_cli) -> None:
    bad_filter = ldap_cli.fails(
        2, "directory", "set", "contoso-ldap", "--user-filter", "objectClass=person"
    )
    assert "LDAP filter in parentheses" in bad_filter
    assert "(--user-filter)" in bad_filter
    foreign = ldap_cli.fails(2, "directory", "set", "contoso-ldap", "--tenant-id", "x.example")
    assert "tenant_id is not a setting of LDAP directories" in foreign
    changed = ldap_cli.json("directory", "set", "contoso-ldap", "--naming-attribute", "cn")
    assert (changed["naming_attribute"], changed["version"]) == ("cn", 2)
