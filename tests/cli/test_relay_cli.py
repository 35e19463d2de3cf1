"""``credsync relay`` end to end against the real Samba DC and the Graph simulator, locally
and through a server (``credsync serve`` and an API token): add with its flags, a bad value
naming its flag, list, show, set, plan, a dry run and an applied run, remove."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from test_sync_cli import ad_cli  # noqa: F401 - the fixture


@pytest.fixture
def graph_sim() -> Iterator[Any]:
    from credsync.testing.graphsim import GraphSimulator

    with GraphSimulator(port=0, seed=7) as sim:
        yield sim


def test_relays_from_the_command_line_locally_and_through_a_server(
    ad_cli,  # noqa: F811
    graph_sim,
    tmp_path,
) -> None:
    cli = ad_cli
    user = cli.ad.create_user()
    cli.add_cred("Contoso", "Staff member", user.password, "--sync-mode", "two-way",
                 username=user.name)  # fmt: skip
    cli.json("sync", "run", "Contoso")
    tenant = graph_sim.add_tenant(users=0, groups=0)
    app = tenant.default_app
    ca = tmp_path / "ca.pem"
    ca.write_text(graph_sim.ca_pem)
    secret = cli.add_cred("Contoso", "Graph app", app.client_secret, "--type", "directory_admin",
                          "--sync-mode", "off", username="credsync-app")  # fmt: skip
    cli.ok(
        "directory", "add", "Contoso", "contoso-365", "--kind", "entra",
        "--tenant-id", tenant.id, "--client-id", app.client_id,
        "--secret-credential", secret["id"][:8], "--authority", graph_sim.url,
        "--url", graph_sim.graph_url, "--ca-file", str(ca),
    )  # fmt: skip
    cloud = tenant.create_user(upn=f"{user.name}@{tenant.domain}", password="Cloud-Only-42!")
    realm = cli.ad.facts.realm.lower()

    bad = cli.run("relay", "add", "Contoso", "o365", "--from", "contoso-ad", "--to",
                  "contoso-365", "--filter", "not an attribute=x")  # fmt: skip
    assert bad.code == 2
    assert "--filter" in bad.err
    bad = cli.run("relay", "add", "Contoso", "o365", "--from", "contoso-365", "--to",
                  "contoso-ad")  # fmt: skip
    assert bad.code == 2
    assert "--from" in bad.err

    added = cli.json(
        "relay", "add", "Contoso", "o365", "--from", "contoso-ad", "--to", "contoso-365",
        "--suffix-map", f"{realm}={tenant.domain}", "--never-expires",
        "--match", "immutable-id,upn,mail",
    )  # fmt: skip
    assert added["settings"]["suffix_map"] == {realm: tenant.domain}
    assert added["settings"]["match"] == ["immutable_id", "upn", "mail"]
    assert "Suffix map:" in cli.ok("relay", "show", "o365").out
    assert [r["name"] for r in cli.json("relay", "list")] == ["o365"]
    changed = cli.json("relay", "set", "o365", "--match", "link,upn")
    assert changed["settings"]["match"] == ["link", "upn"]

    planned = cli.json("relay", "plan", "o365")
    assert [(i["account"], i["status"], i["rule"]) for i in planned["items"]] == [
        (user.upn, "matched", "upn")
    ]
    assert "matched" in cli.ok("relay", "plan", "o365").out
    dry = cli.json("relay", "run", "o365")
    assert dry["dry_run"] is True
    assert tenant.stats.get("password_writes", 0) == 0

    token = cli.json("token", "create", "relay-cli")["token"]
    server = cli.serve()
    try:
        remote = server.remote(token)
        shown = cli.run("relay", "show", "o365", "--json", env=remote)
        assert shown.code == 0, shown
        assert shown.json()["name"] == "o365"
        applied = cli.run("relay", "run", "o365", "--apply", "--json", env=remote)
        assert applied.code == 0, applied
        assert applied.json()["pushed"] == 1
        assert tenant.check_password(cloud.id, user.password)
        again = cli.run("relay", "run", "o365", "--apply", "--json", env=remote)
        assert again.json()["pushed"] == 0
        runs = cli.json("sync", "runs", "--limit", "5")
        assert "relay" in {r["kind"] for r in runs}
        removed = cli.run("relay", "remove", "o365", "--yes", "--json", env=remote)
        assert removed.code == 0, removed
    finally:
        server.stop()
    assert cli.json("relay", "list") == []
