"""``credsync person import`` against an Active Directory (this test's own OU of the real Samba
DC): a search by words and by LDAP filter, the same through a server (``--server``), a bad
filter naming its argument, and a sync of a group with its nested members, then all
unchanged."""

from __future__ import annotations

from typing import Any

import pytest

from credsync.testing.samba import OuWorld

pytestmark = pytest.mark.samba


@pytest.fixture
def ad_cli(cli: Any, ad_ou: OuWorld) -> tuple[Any, dict[str, str]]:
    cli.use_session()
    cli.add_client("Contoso")
    facts = ad_ou.facts
    bind = cli.add_cred("Contoso", "Domain admin", facts.admin_password, "--type",
                        "directory_admin", "--sync-mode", "off",
                        username=facts.admin_upn)  # fmt: skip
    cli.ok("directory", "add", "Contoso", "contoso-ad", "--kind", "active-directory", "--url",
           facts.ldaps_url, "--tls-server-name", facts.tls_server_name, "--base-dn", ad_ou.dn,
           "--bind-credential", bind["id"], "--ca-file", str(facts.ca_file))  # fmt: skip
    ada = ad_ou.create_user(display_name="Ada Lovelace")
    bob = ad_ou.create_user(display_name="Bob Baker")
    inner = ad_ou.admin.create_group(ad_ou.dn, "Inner")
    ad_ou.admin.add_member(inner, bob.dn)
    research = ad_ou.admin.create_group(ad_ou.dn, "Research")
    ad_ou.admin.add_member(research, ada.dn)
    ad_ou.admin.add_member(research, inner)
    return cli, {"ada": ada.guid, "research": ad_ou.admin.guid(research), "bob_sam": bob.name}


def test_search_by_words_and_filter_locally_and_through_a_server(ad_cli: Any) -> None:
    cli, ids = ad_cli
    found = cli.json("person", "import", "search", "Contoso", "contoso-ad", "lovelace")
    assert [p["object_id"] for p in found["people"]] == [ids["ada"]]
    by_filter = cli.json("person", "import", "search", "Contoso", "contoso-ad",
                         f"(sAMAccountName={ids['bob_sam']})")  # fmt: skip
    assert [p["name"] for p in by_filter["people"]] == ["Bob Baker"]
    groups = cli.json("person", "import", "search", "Contoso", "contoso-ad", "", "--groups")
    assert sorted(g["name"] for g in groups["groups"]) == ["Inner", "Research"]
    bad = cli.fails(2, "person", "import", "search", "Contoso", "contoso-ad", "(cn=Ada")
    assert bad.endswith("(QUERY)"), bad
    token = cli.json("token", "create", "ad-import")["token"]
    server = cli.serve()
    try:
        remote = server.remote(token)
        through = cli.run("person", "import", "search", "Contoso", "contoso-ad", "lovelace",
                          "--json", env=remote)  # fmt: skip
        assert through.code == 0, through
        assert through.json() == found
    finally:
        server.stop()


def test_sync_a_group_with_nested_members_then_all_unchanged(ad_cli: Any) -> None:
    cli, ids = ad_cli
    done = cli.json("person", "import", "sync", "Contoso", "contoso-ad", "--id",
                    ids["research"], "--members")  # fmt: skip
    assert done["totals"]["created"] == 4, done
    assert len(cli.json("person", "list", "Contoso")) == 2
    assert len(cli.json("group", "list", "Contoso")) == 2
    again = cli.json("person", "import", "sync", "Contoso", "contoso-ad", "--id",
                     ids["research"], "--members")  # fmt: skip
    assert again["totals"]["unchanged"] == 4, again
