"""Human output against --json on every read command, and in-process runs staying separate."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import click
import pytest

from credsync.cli.app import cli as root_command
from credsync.testing.samba import OuWorld

PW = "Out-test-pw-1111!"


def _read_commands() -> list[tuple[str, ...]]:
    """Every command whose name says it only reads and that has a --json option."""
    ctx = click.Context(root_command, info_name="credsync")
    found: list[tuple[str, ...]] = []

    def walk(command: click.Command, path: tuple[str, ...], ctx: click.Context) -> None:
        has_json = any(p.name == "as_json" for p in command.params)
        if has_json and path and path[-1] in ("list", "show", "search", "history", "status", "runs",
                                               "whoami", "audit", "check"):  # fmt: skip
            found.append(path)
        if isinstance(command, click.Group):
            for name in command.list_commands(ctx):
                sub = command.get_command(ctx, name)
                assert sub is not None
                walk(sub, (*path, name), click.Context(sub, info_name=name, parent=ctx))

    walk(root_command, (), ctx)
    return found


# and a command that only reads whose name does not say so (the plan of provisioning)
READ_COMMANDS = [*_read_commands(), ("person", "provision", "plan")]


def _seed_relay(cli: Any, sim: Any, folder: Path) -> None:
    """An Entra directory on the Graph simulator (a user and a group in its tenant, for
    `person import search`, the one read command that reads a directory: the simulator runs
    while the module's tests do) and a relay to it."""
    tenant = sim.add_tenant(users=0, groups=0)
    ada = tenant.create_user(upn=f"ada@{tenant.domain}", display_name="Ada Lovelace")
    tenant.create_group("Research", members=[ada.id])
    app = tenant.default_app
    ca = folder / "ca.pem"
    ca.write_text(sim.ca_pem)
    secret = cli.add_cred("Contoso", "Graph app", app.client_secret, "--type",
                          "directory_admin", "--sync-mode", "off",
                          username="credsync-app")  # fmt: skip
    cli.ok("directory", "add", "Contoso", "seeded-365", "--kind", "entra", "--tenant-id",
           tenant.id, "--client-id", app.client_id, "--secret-credential", secret["id"],
           "--authority", sim.url, "--url", sim.graph_url, "--ca-file", str(ca))  # fmt: skip
    cli.ok("relay", "add", "Contoso", "seeded-relay", "--from", "seeded-ad", "--to",
           "seeded-365", "--never-expires")  # fmt: skip
    cli.ok("person", "provision", "set", "seeded-365", "--username-template", "{given}.{surname}",
           "--suffix", tenant.domain, "--licence", "ENTERPRISEPACK")  # fmt: skip


def _seed_microsoft(cli: Any, sim: Any, folder: Path) -> dict[str, str]:
    """Operators who sign in with Microsoft: the MSP tenant (a tenant of the simulator, with
    a user and a group) connected, alice linked, the group mapped to a role."""
    tenant = sim.add_tenant(users=0, groups=0, domain="msp-output.test")
    dora = tenant.create_user(upn=f"dora@{tenant.domain}", display_name="Dora")
    group = tenant.create_group("Helpdesk", members=[dora.id])
    ca = folder / "ca.pem"
    ca.write_text(sim.ca_pem)
    cli.ok("operator", "microsoft", "setup", "--tenant-id", tenant.id, "--client-id",
           tenant.default_app.client_id, "--redirect-uri",
           "https://vault.example.test/sign-in/microsoft/callback", "--authority", sim.url,
           "--ca-file", str(ca), "--client-secret-stdin",
           stdin=tenant.default_app.client_secret + "\n")  # fmt: skip
    cli.ok("operator", "microsoft", "link", cli.admin, "99999999-8888-7777-6666-555555555555")
    cli.ok("operator", "microsoft", "group", "map", group, "--role", "viewer")
    return {"msp_query": "dora"}


@pytest.fixture(scope="module")
def seeded_template(module_cli, samba_dc, tmp_path_factory):
    """A vault with one of everything a read command can show (a directory on an OU of the
    Samba DC of this module's own, a run, and the flag it opened): seeded once (a user in the
    DC, a run against it: seconds) and copied for each test by ``seeded``, so every test
    still reads a vault of its own that no other test touched."""
    from credsync.testing.graphsim import GraphSimulator

    ad_ou = OuWorld.create(samba_dc)
    try:
        with GraphSimulator(port=0, seed=7) as sim:
            with module_cli.capturing() as cli:
                cli.use_session()
                cli.add_client("Contoso")
                cli.ok("client", "set", "Contoso", "--directory-sync", "on")
                cli.ok("folder", "add", "Contoso", "Servers")
                user = ad_ou.create_user()
                cred = cli.add_cred("Contoso", "Seeded admin", PW, "--tag", "seed", "--folder",
                                    "Servers", username=user.name)  # fmt: skip
                cli.json("cred", "set-password", cred["id"], "--password-stdin", stdin=PW + "2")
                cli.ok("token", "create", "seed-token")
                cli.ok("policy", "add", "seeded", "--length", "30")
                facts = ad_ou.facts
                bind = cli.add_cred("Contoso", "AD bind", facts.admin_password, "--type",
                                    "directory_admin", "--sync-mode", "off",
                                    username=facts.admin_upn)  # fmt: skip
                cli.ok("directory", "add", "Contoso", "seeded-ad", "--kind", "active-directory",
                       "--url", facts.ldaps_url, "--base-dn", ad_ou.dn, "--bind-credential",
                       bind["id"], "--ca-file", str(facts.ca_file), "--tls-server-name",
                       facts.tls_server_name)  # fmt: skip
                run = cli.json("sync", "run", "Contoso")["runs"][0]
                assert run["items"][0]["status"] == "mismatch"
                cli.ok("capture", "enroll", "seeded-ad", "--name", "dc1")
                cli.ok("remote-agent", "enroll", "site-a", "--directory", "seeded-ad")
                _seed_relay(cli, sim, tmp_path_factory.mktemp("graph"))
                cli.ok("person", "add", "Contoso", "--username", "anna.berg", "--given-name",
                       "Anna", "--surname", "Berg", "--usage-location", "SE")  # fmt: skip
                cli.ok("group", "add", "Contoso", "Sales", "--type", "microsoft365")
                cli.ok("group", "add-member", "Sales", "anna.berg", "--client", "Contoso")
                # a change in AD held in quarantine (every change is, with inbound_cap 0)
                cli.ok("directory", "set", "seeded-ad", "--option", "inbound_cap=0")
                ad_ou.admin.disable(user.dn)
                cli.json("sync", "run", "Contoso")
                ad_ou.admin.enable(user.dn)
                [held] = cli.json("quarantine", "list")
                ms_ids = _seed_microsoft(cli, sim, tmp_path_factory.mktemp("msp"))
                cli.ok("mail", "set", "--host", "127.0.0.1", "--security", "none", "--from",
                       "vault@msp.test", "--public-url", "https://vault.msp.test")  # fmt: skip
                cli.ok("quarantine", "defaults", "set", "--push-cap", "300")
            yield cli, {"cred": cred["id"], "run": run["id"], "held": held["id"], **ms_ids}
    finally:
        ad_ou.close()


@pytest.fixture
def seeded(seeded_template, tmp_path, capsys):
    """A copy of the seeded vault of this test's own, signed in with the seeding's session."""
    template, ids = seeded_template
    return template.copy(tmp_path / "home", capsys), ids


def _args(ids: dict[str, str], path: tuple[str, ...]) -> list[str]:
    arguments = {
        ("client", "show"): ["Contoso"],
        ("folder", "list"): ["Contoso"],
        ("cred", "list"): ["Contoso"],
        ("cred", "search"): ["seeded"],
        ("cred", "show"): [ids["cred"]],
        ("cred", "history"): [ids["cred"]],
        ("operator", "show"): ["alice"],
        ("directory", "show"): ["seeded-ad"],
        ("sync", "show"): [ids["run"]],
        ("quarantine", "show"): [ids["held"]],
        ("relay", "show"): ["seeded-relay"],
        ("person", "list"): ["Contoso"],
        ("person", "search"): ["anna"],
        ("person", "show"): ["anna.berg"],
        ("group", "list"): ["Contoso"],
        ("group", "search"): ["sales"],
        ("group", "show"): ["Sales"],
        ("person", "import", "search"): ["Contoso", "seeded-365", "--groups"],
        ("person", "deleted", "check"): ["Contoso", "seeded-365"],
        ("group", "export", "show"): ["Contoso", "seeded-365"],
        ("person", "provision", "show"): ["seeded-365"],
        ("federation", "show"): ["Contoso"],
        ("person", "provision", "plan"): ["Contoso", "seeded-365"],
        ("operator", "microsoft", "import", "search"): [ids["msp_query"], "--groups"],
    }
    return [*path, *arguments.get(path, [])]


def test_the_read_commands_are_found():
    assert {
        ("client", "list"), ("client", "show"), ("folder", "list"), ("cred", "list"),
        ("cred", "search"), ("cred", "show"), ("cred", "history"), ("operator", "list"),
        ("operator", "show"), ("role", "list"), ("token", "list"), ("policy", "list"),
        ("audit",), ("whoami",), ("db", "status"), ("directory", "list"), ("directory", "show"),
        ("sync", "runs"), ("sync", "show"), ("flags", "list"), ("relay", "list"),
        ("relay", "show"), ("person", "list"), ("person", "search"), ("person", "show"),
        ("group", "list"), ("group", "search"), ("group", "show"),
        ("person", "import", "search"), ("person", "deleted", "check"), ("group", "export", "show"),
        ("person", "provision", "show"), ("person", "provision", "plan"), ("federation", "show"),
        ("operator", "microsoft", "show"),
        ("operator", "microsoft", "list"), ("operator", "microsoft", "group", "list"),
        ("operator", "microsoft", "import", "search"),
    } <= set(READ_COMMANDS)  # fmt: skip


@pytest.mark.parametrize("path", READ_COMMANDS, ids=" ".join)
def test_human_and_json(seeded, path):
    cli, ids = seeded
    args = _args(ids, path)
    as_json = cli.run(*args, "--json")
    assert as_json.code == 0, as_json
    data = json.loads(as_json.out)
    assert data, "nothing to show: the fixture should seed this command"
    assert isinstance(data, list | dict)

    human = cli.run(*args)
    assert human.code == 0, human
    assert human.out.strip()
    with pytest.raises(json.JSONDecodeError):
        json.loads(human.out)
    first = human.out.splitlines()[0]
    if isinstance(data, list):  # a table: an upper-case header row, then one row per item
        assert first == first.upper()
        assert len(human.out.strip().splitlines()) == len(data) + 1
    else:  # one record: "Field: value" lines
        assert ":" in first
    assert PW not in human.out
    assert PW not in as_json.out


def test_in_process_runs_do_not_share_state(cli, tmp_path):
    """Each main() call builds its own click context, Runtime and log handler."""
    cli.ok("operator", "add", "bob", "--role", "viewer", "--password-stdin", stdin="bob-pw-123456")
    bob = {"CREDSYNC_OPERATOR": "bob", "CREDSYNC_OPERATOR_PASSWORD": "bob-pw-123456"}
    assert cli.json("whoami")["operator"] == cli.admin
    assert cli.json("whoami", env=bob)["operator"] == "bob"
    assert cli.json("whoami")["operator"] == cli.admin

    other = tmp_path / "other-home"
    assert cli.json("db", "status", env={"CREDSYNC_HOME": str(other)})["revision"] is None
    assert cli.json("whoami")["home"] == str(cli.home)
    handlers = logging.getLogger("credsync").handlers
    assert len(handlers) == 1
    assert getattr(handlers[0], "baseFilename", "") == str(cli.home / "logs" / "credsync.log")

    # --home wins over CREDSYNC_HOME
    assert cli.json("--home", str(other), "db", "status")["revision"] is None


def test_version(empty_cli):
    result = empty_cli.run("--version", only=True)
    assert result.code == 0, result
    assert result.out.startswith("credsync, version ")
