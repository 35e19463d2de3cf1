"""The sync commands end to end against the Graph simulator: directory add --kind entra with a
certificate or a secret, directory test naming what the app lacks, sync run, flags and sides."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest


@pytest.fixture
def graph_sim() -> Iterator[Any]:
    from credsync.testing.graphsim import GraphSimulator

    with GraphSimulator(port=0, seed=5) as sim:
        yield sim


@pytest.fixture
def entra_cli(cli, graph_sim, tmp_path):
    """A vault (session signed in) with client Contoso, directory sync on, and directory
    ``contoso-365`` on a fresh tenant, signing in with the app's certificate."""
    cli.use_session()
    cli.add_client("Contoso")
    cli.ok("client", "set", "Contoso", "--directory-sync", "on")
    tenant = graph_sim.add_tenant(users=0, groups=0)
    app = tenant.default_app
    pem = tmp_path / "app.pem"
    pem.write_text(app.certificate_pem + app.private_key_pem)
    ca = tmp_path / "ca.pem"
    ca.write_text(graph_sim.ca_pem)
    cert_cred = cli.json(
        "cred", "add", "Contoso", "--title", "Graph app", "--username", "credsync-app",
        "--type", "directory_admin", "--sync-mode", "off", "--password-file", str(pem),
    )  # fmt: skip
    directory = cli.json(
        "directory", "add", "Contoso", "contoso-365", "--kind", "entra",
        "--tenant-id", tenant.id, "--client-id", app.client_id,
        "--certificate-credential", cert_cred["id"][:8],
        "--authority", graph_sim.url, "--url", graph_sim.graph_url, "--ca-file", str(ca),
    )  # fmt: skip
    assert directory["kind"] == "entra"
    assert directory["bind_kind"] == "certificate"
    assert directory["ca"] == "configured"
    cli.sim, cli.tenant, cli.ca_file = graph_sim, tenant, ca
    return cli


def test_directory_test_reports_token_permissions_and_role(entra_cli) -> None:
    result = entra_cli.json("directory", "test", "contoso-365")
    assert result["ok"] is True, result
    steps = {s["step"]: s for s in result["steps"]}
    assert steps["token"]["outcome"] == "ok"
    assert "User-PasswordProfile.ReadWrite.All" in steps["permissions"]["detail"]
    assert "Privileged Authentication Administrator" in steps["directory role"]["detail"]
    text = entra_cli.ok("directory", "test", "contoso-365").out
    assert "permissions" in text
    shown = entra_cli.ok("directory", "show", "contoso-365").out
    assert "Tenant:" in shown
    assert "Client (app) id:" in shown
    assert "App credential:            certificate" in shown
    assert "Base DN" not in shown
    assert "TLS server name" not in shown


def test_directory_test_names_what_a_weak_app_lacks(entra_cli, tmp_path) -> None:
    app = entra_cli.tenant.add_app(permissions=("User.Read.All",), directory_role=None)
    secret = entra_cli.add_cred(
        "Contoso", "Reader app", app.client_secret, "--type", "directory_admin",
        "--sync-mode", "off", username="reader-app",
    )  # fmt: skip
    entra_cli.json(
        "directory", "add", "Contoso", "reader-365", "--kind", "entra",
        "--tenant-id", entra_cli.tenant.id, "--client-id", app.client_id,
        "--secret-credential", secret["id"][:8], "--authority", entra_cli.sim.url,
        "--url", entra_cli.sim.graph_url, "--ca-file", str(entra_cli.ca_file),
    )  # fmt: skip
    result = entra_cli.json("directory", "test", "reader-365")
    steps = {s["step"]: s for s in result["steps"]}
    assert result["ok"] is True  # report mode works
    assert steps["permissions"]["outcome"] == "warning"
    assert "User-PasswordProfile.ReadWrite.All" in steps["permissions"]["detail"]
    assert steps["directory role"]["outcome"] == "warning"
    assert app.client_secret not in str(result)


def test_a_wrong_secret_is_refused_in_entras_words(entra_cli) -> None:
    app = entra_cli.tenant.add_app(permissions=("User.Read.All",), directory_role=None)
    secret = entra_cli.add_cred(
        "Contoso", "Bad app", "Not-The-Secret-1", "--type", "directory_admin",
        "--sync-mode", "off", username="bad-app",
    )  # fmt: skip
    entra_cli.json(
        "directory", "add", "Contoso", "bad-365", "--kind", "entra",
        "--tenant-id", entra_cli.tenant.id, "--client-id", app.client_id,
        "--secret-credential", secret["id"][:8], "--authority", entra_cli.sim.url,
        "--url", entra_cli.sim.graph_url, "--ca-file", str(entra_cli.ca_file),
    )  # fmt: skip
    result = entra_cli.run("directory", "test", "bad-365", "--json")
    assert result.code == 8
    steps = {s["step"]: s for s in result.json()["steps"]}
    assert steps["token"]["outcome"] == "failed"
    assert "AADSTS7000215" in steps["token"]["detail"]
    assert "Not-The-Secret-1" not in result.out + result.err


def test_entra_options_are_checked(entra_cli) -> None:
    assert "needs its tenant id (--tenant-id)" in entra_cli.fails(
        2, "directory", "add", "Contoso", "x-365", "--kind", "entra",
        "--secret-credential", "12345678",
    )  # fmt: skip
    assert "give one of" in entra_cli.fails(
        2, "directory", "add", "Contoso", "x-365", "--kind", "entra",
        "--secret-credential", "12345678", "--certificate-credential", "12345678",
    )  # fmt: skip
    shown = entra_cli.json("directory", "set", "contoso-365", "--option", "never_expires=1")
    assert shown["options"]["never_expires"] == 1


def test_sync_run_and_flags_say_the_side(entra_cli) -> None:
    sim, tenant = entra_cli.sim, entra_cli.tenant
    user = tenant.create_user(password="First-Passw0rd-1!")
    cred = entra_cli.add_cred("Contoso", "Ann", "First-Passw0rd-1!", username=user.upn)
    run = entra_cli.json("sync", "run", "Contoso")["runs"][0]
    assert run["side"] == "Entra ID"
    assert [(i["status"], i["action"]) for i in run["items"]] == [("in_sync", "confirm")]
    sim.advance_clock(120)
    tenant.set_password(user.id, "Portal-Passw0rd-2!")
    entra_cli.json("sync", "run", "Contoso")
    flags = entra_cli.json("flags", "Contoso")
    assert [(f["credential_id"], f["status"], f["side"]) for f in flags] == [
        (cred["id"], "changed_in_directory", "Entra ID")
    ]
    assert "Entra ID" in entra_cli.ok("flags", "Contoso").out
    pushed = entra_cli.json("flags", "resolve", flags[0]["id"][:8], "--push")
    assert pushed["outcome"] == "pushed"
    assert tenant.check_password(user.id, "First-Passw0rd-1!")


def test_flags_json_names_who_changed_it(entra_cli) -> None:
    """With AuditLog.Read.All the flag says who reset the password, in ``flags --json`` as
    the connector wrote it; without it (the fixture's app before the grant) the run says so."""
    sim, tenant = entra_cli.sim, entra_cli.tenant
    user = tenant.create_user(password="First-Passw0rd-1!")
    entra_cli.add_cred("Contoso", "Ann", "First-Passw0rd-1!", username=user.upn)
    first = entra_cli.json("sync", "run", "Contoso")["runs"][0]
    assert "AuditLog.Read.All" in first["message"]
    app = tenant.default_app
    tenant.apps[app.client_id] = replace(app, permissions=(*app.permissions, "AuditLog.Read.All"))
    sim.advance_clock(120)
    tenant.admin_reset(user.id, "Portal-Passw0rd-2!")
    entra_cli.json("sync", "run", "Contoso")
    [flag] = entra_cli.json("flags", "Contoso")
    assert f"reset by admin@{tenant.domain} in the portal" in flag["detail"]


def test_sync_show_counts_a_failure_found_again(entra_cli) -> None:
    """A throttled tenant's runs fail; the second, finding every credential flagged as its
    flag says, lists none (issue 20's compaction) and ``sync show`` says how many it counted."""
    tenant = entra_cli.tenant
    for n in range(2):
        user = tenant.create_user(password=f"First-Passw0rd-{n}!")
        entra_cli.add_cred("Contoso", f"User {n}", f"First-Passw0rd-{n}!", username=user.upn)
    entra_cli.json("sync", "run", "Contoso")
    tenant.inject_fault(method="GET", path_prefix="/v1.0/users", status=429, retry_after=0,
                        times=1000)  # fmt: skip
    runs = []
    for _ in range(2):
        failed = entra_cli.run("sync", "run", "Contoso", "--json")
        assert failed.code == 9, failed  # a failed run's exit status
        [run] = failed.json()["runs"]
        assert run["state"] == "failed"
        runs.append(run)
    assert [(i["status"], i["action"]) for i in runs[0]["items"]] == [("unreachable", "flag")] * 2
    assert (runs[1]["items"], runs[1]["summary"]["flagged_unchanged"]) == ([], 2)
    shown = entra_cli.ok("sync", "show", runs[1]["id"][:8]).out
    assert "Still flagged" in shown
    assert "2 credentials checked and still flagged" in shown
    assert "unreachable 2" in shown  # the counts by status
    assert "HTTP 429" in shown  # the run's message: what failed
