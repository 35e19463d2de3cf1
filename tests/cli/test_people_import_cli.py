"""``credsync person import``: a dry run keeps nothing (people, groups and the audit log as
they were), the sync that follows makes what it said, and a refused object is reported with
the others and exits 9 (both ways through the ports: tests/cli/test_parity.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture
def tenant_cli(cli: Any, tmp_path: Any) -> Iterator[tuple[Any, dict[str, str]]]:
    from credsync.testing.graphsim import GraphSimulator

    with GraphSimulator(port=0, seed=5) as sim:
        tenant = sim.add_tenant(users=0, groups=0)
        ada = tenant.create_user(upn=f"ada@{tenant.domain}", display_name="Ada Lovelace")
        group = tenant.create_group("Research", members=[ada.id])
        ca = tmp_path / "ca.pem"
        ca.write_text(sim.ca_pem)
        cli.use_session()
        cli.add_client("Contoso")
        app = tenant.default_app
        secret = cli.add_cred("Contoso", "Graph app", app.client_secret, "--type",
                              "directory_admin", "--sync-mode", "off",
                              username="credsync-app")  # fmt: skip
        cli.ok("directory", "add", "Contoso", "m365", "--kind", "entra", "--tenant-id",
               tenant.id, "--client-id", app.client_id, "--secret-credential", secret["id"],
               "--authority", sim.url, "--url", sim.graph_url, "--ca-file", str(ca))  # fmt: skip
        yield cli, {"ada": str(ada.id), "group": str(group)}


def _state(cli: Any) -> tuple[int, int, int]:
    """(audit entries, people, groups)."""
    return (
        len(cli.json("audit", "--limit", "1000")),
        len(cli.json("person", "list", "Contoso")),
        len(cli.json("group", "list", "Contoso")),
    )


def test_a_dry_run_keeps_nothing_and_the_sync_makes_what_it_said(tenant_cli: Any) -> None:
    cli, ids = tenant_cli
    before = _state(cli)
    dry = cli.json("person", "import", "sync", "Contoso", "m365", "--id", ids["group"],
                   "--members", "--dry-run")  # fmt: skip
    assert dry["dry_run"] is True
    assert dry["totals"]["created"] == 2
    assert _state(cli) == before
    text = cli.ok("person", "import", "sync", "Contoso", "m365", "--id", ids["group"],
                  "--members", "--dry-run").out  # fmt: skip
    assert text.splitlines()[0].endswith("; dry run: nothing kept")
    assert "members added: Ada Lovelace" in text
    done = cli.json("person", "import", "sync", "Contoso", "m365", "--id", ids["group"],
                    "--members")  # fmt: skip
    assert done["dry_run"] is False
    assert [(o["object_id"], o["outcome"]) for o in done["objects"]] == [
        (o["object_id"], o["outcome"]) for o in dry["objects"]
    ]
    assert _state(cli)[1:] == (1, 1)
    preview = cli.json("person", "import", "search", "Contoso", "m365", "ada")
    assert preview["people"][0]["vault_id"] == done["objects"][0]["vault_id"]


def test_a_refused_object_is_reported_with_the_others_and_exits_9(tenant_cli: Any) -> None:
    cli, ids = tenant_cli
    result = cli.run("person", "import", "sync", "Contoso", "m365", "--id", ids["ada"],
                     "--id", "no-such-object", "--json")  # fmt: skip
    assert result.code == 9, result
    outcomes = {o["object_id"]: o["outcome"] for o in result.json()["objects"]}
    assert outcomes == {ids["ada"]: "created", "no-such-object": "refused"}
    assert result.error == "credsync: error: 1 of 2 objects were refused"


def test_a_selection_is_ids_or_a_query_and_a_bad_query_names_its_argument(
    tenant_cli: Any,
) -> None:
    cli, _ = tenant_cli
    neither = cli.fails(2, "person", "import", "sync", "Contoso", "m365")
    assert "(--id or --query)" in neither
    bad = cli.fails(2, "person", "import", "search", "Contoso", "m365", '"displayName:a" AND')
    assert bad.endswith("(QUERY)"), bad
    bad_sync = cli.fails(
        2, "person", "import", "sync", "Contoso", "m365", "--query", '"displayName:a" AND'
    )
    assert bad_sync.endswith("(--query)"), bad_sync


def test_the_import_into_a_group_and_saved_selections(tenant_cli: Any) -> None:
    cli, ids = tenant_cli
    text = cli.ok("person", "import", "sync", "Contoso", "m365", "--id", ids["ada"],
                  "--into-group", "Staff", "--sync-mode", "enforce", "--invite").out  # fmt: skip
    assert "Into group Staff (new): 1 credential with no password yet" in text
    shown = cli.ok("person", "show", cli.json("person", "list", "Contoso")[0]["id"]).out
    assert "awaiting onboarding (no password yet); to be invited; sync mode enforce" in shown
    alone = cli.fails(2, "person", "import", "sync", "Contoso", "m365", "--query", "",
                      "--invite")  # fmt: skip
    assert "--into-group" in alone
    bad = cli.fails(2, "person", "import", "save", "Contoso", "m365", "All", "--query", "",
                    "--interval", "10")  # fmt: skip
    assert bad.endswith("(--interval)"), bad
    cli.ok("person", "import", "save", "Contoso", "m365", "All", "--query", "", "--groups")
    run = cli.json("person", "import", "run-selection", "Contoso", "all")
    assert (run["state"], run["totals"]["unchanged"], run["totals"]["created"]) == ("done", 1, 1)
    listed = cli.ok("person", "import", "selections", "Contoso").out
    assert "All" in listed
    assert "by hand" in listed
    assert "done: 1 created, 1 members added, 1 unchanged" in listed
    cli.ok("person", "import", "remove-selection", "Contoso", "All")
    assert cli.json("person", "import", "selections", "Contoso") == []
