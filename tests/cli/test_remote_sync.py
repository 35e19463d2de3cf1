"""Directories, sync runs and flags through a server (--server / CREDSYNC_SERVER): the same
output and exit codes as the local commands, against a Graph simulator tenant that both the
server and the local vault reach. One served vault for the whole module (set up by the first
test that asks for it): a `credsync serve` subprocess costs seconds."""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

# Values a run started through the server has of its own: its id and times, and its trigger
# ("api" through the server, "cli" locally).
RUN_OWN = {"id", "started_at", "finished_at", "trigger"}
RUN_OWN_LINES = re.compile(r"^(Run|Trigger|Started|Finished):.*$", re.MULTILINE)
APP_SECRET_WRONG = "Not-The-App-Secret-1"


@pytest.fixture(scope="module")
def shared(vault_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The module's home, Graph simulator and (once ``served`` has started it) server."""
    from credsync.testing.graphsim import GraphSimulator

    home = tmp_path_factory.mktemp("remote-sync") / "home"
    shutil.copytree(vault_template, home)
    with GraphSimulator(port=0, seed=23) as sim:
        state = SimpleNamespace(home=home, sim=sim, server=None, env=None, remote=None)
        try:
            yield state
        finally:
            if state.server is not None:
                state.server.stop()


@pytest.fixture
def served(cli, shared) -> tuple[Any, dict[str, str | None]]:
    """``cli`` on the module's vault (a session signed in), and the environment of a remote
    CLI on its server. The vault: client Contoso (directory sync on) with the Entra
    directory ``contoso-365`` (added through the server), its app signing in with a
    certificate."""
    cli.home = shared.home
    if shared.remote is None:
        cli.env = {**cli.env, "CREDSYNC_HOME": str(shared.home)}
        _serve(cli, shared)
    cli.env = dict(shared.env)
    cli.sim, cli.tenant, cli.ca_file = shared.sim, shared.tenant, shared.ca_file
    cli.added = shared.added
    return cli, shared.remote


def _serve(cli: Any, shared: Any) -> None:
    sim = shared.sim
    cli.use_session()
    cli.ok("client", "add", "Contoso")
    cli.ok("client", "set", "Contoso", "--directory-sync", "on")
    tenant = sim.add_tenant(users=0, groups=0)
    app = tenant.default_app
    pem = shared.home.parent / "app.pem"
    pem.write_text(app.certificate_pem + app.private_key_pem)
    ca = shared.home.parent / "ca.pem"
    ca.write_text(sim.ca_pem)
    cert = cli.json(
        "cred", "add", "Contoso", "--title", "Graph app", "--username", "credsync-app",
        "--type", "directory_admin", "--sync-mode", "off", "--password-file", str(pem),
    )  # fmt: skip
    token = cli.json("token", "create", "remote-sync")["token"]
    shared.server = cli.serve()
    remote = shared.server.remote(token)
    added = cli.run(
        "directory", "add", "Contoso", "contoso-365", "--kind", "entra-id",
        "--tenant-id", tenant.id, "--client-id", app.client_id,
        "--certificate-credential", cert["id"][:8], "--authority", sim.url,
        "--url", sim.graph_url, "--ca-file", str(ca), "--json", env=remote,
    )  # fmt: skip
    assert added.code == 0, added
    assert app.private_key_pem not in added.out + added.err
    shared.env, shared.remote, shared.tenant, shared.ca_file = cli.env, remote, tenant, ca
    shared.added = added.json()


def _without(data: Any, keys: set[str]) -> Any:
    if isinstance(data, list):
        return [_without(item, keys) for item in data]
    if isinstance(data, dict):
        return {k: _without(v, keys) for k, v in data.items() if k not in keys}
    return data


def _both(cli: Any, remote: dict[str, str | None], *args: str, code: int = 0) -> tuple[Any, Any]:
    """The command's --json locally and through the server (each exiting ``code``), and
    its human output, compared: equal but for what ``RUN_OWN`` names."""
    local = cli.run(*args, "--json")
    served = cli.run(*args, "--json", env=remote)
    assert (local.code, served.code) == (code, code), (args, local, served)
    assert _without(served.json(), RUN_OWN) == _without(local.json(), RUN_OWN), args
    human_local, human_served = cli.run(*args), cli.run(*args, env=remote)
    assert (human_local.code, human_served.code) == (code, code), args
    assert RUN_OWN_LINES.sub("", human_served.out) == RUN_OWN_LINES.sub("", human_local.out), args
    if code:
        mask = re.compile(r"run [0-9a-f]{8}")
        assert mask.sub("run -", human_served.error) == mask.sub("run -", human_local.error)
    return local.json(), served.json()


def test_directories_through_the_server(served) -> None:
    cli, remote = served
    # Added through the server (in the fixture): as the local vault shows it.
    assert cli.added == cli.json("directory", "show", "contoso-365")
    assert (cli.added["kind"], cli.added["bind_kind"], cli.added["ca"]) == (
        "entra",
        "certificate",
        "configured",
    )
    for command in [
        ("directory", "list"),
        ("directory", "list", "Contoso"),
        ("directory", "show", "CONTOSO-365"),
        ("directory", "show", cli.added["id"]),
        ("directory", "test", "contoso-365"),
    ]:
        local, _ = _both(cli, remote, *command)
    assert local["ok"] is True

    changed = cli.run(
        "directory", "set", "contoso-365", "--option", "never_expires=1", "--push-cap", "900",
        "--json", env=remote,
    )  # fmt: skip
    assert changed.code == 0, changed
    assert changed.json() == cli.json("directory", "show", "contoso-365")
    assert (changed.json()["options"]["never_expires"], changed.json()["version"]) == (1, 2)
    # Without its own CA (through the server), then with it again (locally).
    no_ca = cli.run("directory", "set", "contoso-365", "--no-ca", "--json", env=remote)
    assert no_ca.code == 0, no_ca
    assert no_ca.json()["ca"] != "configured"
    assert cli.json("directory", "show", "contoso-365") == no_ca.json()
    both = cli.fails(2, "directory", "set", "contoso-365", "--no-ca", "--ca-file", "x.pem")
    assert "not both" in both
    empty = cli.home.parent / "empty.pem"
    empty.write_text("")
    assert "is empty" in cli.fails(2, "directory", "set", "contoso-365", "--ca-file", str(empty))
    cli.ok("directory", "set", "contoso-365", "--ca-file", str(cli.ca_file))
    assert cli.json("directory", "show", "contoso-365")["ca"] == "configured"

    # A directory whose app secret is wrong: its test and its run fail alike.
    cli.ok("client", "add", "Fabrikam")
    cli.ok("client", "set", "Fabrikam", "--directory-sync", "on")
    app = cli.tenant.add_app(permissions=("User.Read.All",), directory_role=None)
    secret = cli.add_cred(
        "Fabrikam", "Bad app", APP_SECRET_WRONG, "--type", "directory_admin",
        "--sync-mode", "off", username="bad-app",
    )  # fmt: skip
    bad = cli.run(
        "directory", "add", "Fabrikam", "fabrikam-365", "--kind", "entra",
        "--tenant-id", cli.tenant.id, "--client-id", app.client_id,
        "--secret-credential", secret["id"], "--authority", cli.sim.url,
        "--url", cli.sim.graph_url, "--ca-file", str(cli.ca_file), "--json", env=remote,
    )  # fmt: skip
    assert bad.code == 0, bad
    assert bad.json()["bind_kind"] == "secret"
    tested, _ = _both(cli, remote, "directory", "test", "fabrikam-365", code=8)
    assert {s["step"]: s["outcome"] for s in tested["steps"]}["token"] == "failed"
    run, _ = _both(cli, remote, "sync", "run", "Fabrikam", code=9)
    assert run["runs"][0]["state"] == "failed"

    # Errors: the same exit codes and lines.
    add_again = (
        "directory", "add", "Fabrikam", "FABRIKAM-365", "--kind", "entra",
        "--tenant-id", cli.tenant.id, "--client-id", app.client_id,
        "--secret-credential", secret["id"], "--authority", cli.sim.url,
    )  # fmt: skip
    for code, command in [
        (4, ("directory", "show", "nope")),
        (4, ("directory", "test", "nope")),
        (4, ("directory", "list", "Nobody")),
        (5, add_again),
        (2, ("directory", "set", "contoso-365", "--option", "push_cap=0")),
        (2, ("directory", "remove", "fabrikam-365")),  # no terminal to ask: --yes
    ]:
        local = cli.run(*command)
        remotely = cli.run(*command, env=remote)
        assert (local.code, remotely.code) == (code, code), (command, local, remotely)
        assert remotely.error == local.error, command

    shown = cli.json("directory", "show", "fabrikam-365")
    removed = cli.run("directory", "remove", "fabrikam-365", "--yes", "--json", env=remote)
    assert removed.code == 0, removed
    assert removed.json() == shown
    cli.fails(4, "directory", "show", "fabrikam-365")
    assert all(APP_SECRET_WRONG not in r.out + r.err for r in (bad, changed, removed))


def test_sync_runs_and_flags_through_the_server(served) -> None:
    cli, remote = served
    tenant = cli.tenant
    users = [tenant.create_user(password=f"First-Passw0rd-{n}!") for n in range(2)]
    creds = [
        cli.add_cred("Contoso", f"User {n}", f"First-Passw0rd-{n}!", username=user.upn)
        for n, user in enumerate(users)
    ]
    plan, _ = _both(cli, remote, "sync", "plan", "Contoso")
    assert [(i["credential_id"], i["action"]) for i in plan["runs"][0]["items"]] == [
        (c["id"], "confirm") for c in creds
    ]
    _both(cli, remote, "sync", "plan", "Contoso", "--directory", "contoso-365", "--full")
    dry = cli.run("sync", "run", "Contoso", "--dry-run", "--json", env=remote)
    assert dry.code == 0, dry
    assert _without(dry.json(), RUN_OWN) == _without(plan, RUN_OWN)

    # A real run, started on the server and followed to its end.
    started = cli.run("sync", "run", "Contoso", "--json", env=remote)
    assert started.code == 0, started
    run = started.json()["runs"][0]
    assert (run["state"], run["dry_run"], run["kind"], run["trigger"]) == (
        "done",
        False,
        "full",
        "api",
    )
    assert [(i["status"], i["action"]) for i in run["items"]] == [("in_sync", "confirm")] * 2
    assert run == cli.json("sync", "show", run["id"])
    human = cli.run("sync", "run", "Contoso", "--full", env=remote)
    assert human.code == 0, human
    assert "Kind:          full" in human.out
    for command in [
        ("sync", "runs"),
        ("sync", "runs", "Contoso", "--limit", "2"),
        ("sync", "show", run["id"][:8]),
    ]:
        local, served_json = _both(cli, remote, *command)
        assert served_json == local, command  # stored runs: the very same
    newest = cli.json("sync", "runs", "--limit", "2", env=remote)
    assert [r["kind"] for r in newest] == ["full", "full"]  # the --full run, then the first
    assert newest[1]["id"] == run["id"]
    assert "items" not in newest[0]

    # Flags: both passwords changed in the portal; one resolved locally, one remotely.
    cli.sim.advance_clock(120)
    for n, user in enumerate(users):
        tenant.set_password(user.id, f"Portal-Passw0rd-{n}!")
    assert cli.run("sync", "run", "Contoso", env=remote).code == 0
    flags = {f["credential_id"]: f for f in cli.json("flags", "Contoso")}
    assert {f["status"] for f in flags.values()} == {"changed_in_directory"}
    local_flag, remote_flag = (flags[c["id"]]["id"] for c in creds)
    pushed = cli.json("flags", "resolve", local_flag[:8], "--push")
    pushed_remotely = cli.run("flags", "resolve", remote_flag[:8], "--push", "--json", env=remote)
    assert pushed_remotely.code == 0, pushed_remotely
    assert _shape(pushed_remotely.json()) == _shape(pushed)
    assert pushed_remotely.json()["outcome"] == "pushed"
    assert tenant.check_password(users[1].id, "First-Passw0rd-1!")

    # Accepting the directory's password: it goes to the server, never to the output.
    cli.sim.advance_clock(120)
    tenant.set_password(users[1].id, "Portal-Passw0rd-9!")
    assert cli.run("sync", "run", "Contoso", env=remote).code == 0
    flag = next(f for f in cli.json("flags", "Contoso") if f["credential_id"] == creds[1]["id"])
    accepted = cli.run(
        "flags", "resolve", flag["id"], "--accept-directory", "--password-stdin",
        stdin="Portal-Passw0rd-9!\n", env=remote,
    )  # fmt: skip
    assert accepted.code == 0, accepted
    assert accepted.out.startswith(f"Flag {flag['id'][:8]}: accepted_password.")
    assert "Portal-Passw0rd-9!" not in accepted.out + accepted.err
    revealed = cli.json("cred", "show", creds[1]["id"], "--reveal")
    assert revealed["password"] == "Portal-Passw0rd-9!"
    assert cli.json("flags", "Contoso") == []


def _shape(resolution: dict[str, Any]) -> dict[str, Any]:
    """What two resolutions of two flags share: the keys everywhere, and what was done."""
    run = resolution["run"]
    return {
        "keys": sorted(resolution),
        "flag": sorted(resolution["flag"]),
        "run": list(run),
        "outcome": resolution["outcome"],
        "kind": (run["kind"], run["trigger"], run["state"], run["dry_run"]),
        "items": [(i["status"], i["action"], list(i)) for i in run["items"]],
    }


def test_sync_errors_and_a_run_under_way(served) -> None:
    cli, remote = served
    cli.ok("client", "add", "Empty")
    for code, command in [
        (4, ("sync", "run", "Contoso", "--directory", "nope")),
        (4, ("sync", "plan", "Nobody")),
        (2, ("sync", "run", "Empty")),  # a client without a directory
        (4, ("sync", "show", "00000000")),
        (2, ("sync", "show", "0000")),
        (2, ("sync", "runs", "--limit", "0")),
        (4, ("flags", "resolve", "00000000", "--push")),
        (2, ("flags", "resolve", "00000000")),
    ]:
        local = cli.run(*command)
        remotely = cli.run(*command, env=remote)
        assert (local.code, remotely.code) == (code, code), (command, local, remotely)
        assert remotely.error == local.error, command

    # While the tenant holds its lock, a run started through the server waits in its reads:
    # the remote `sync run` follows it, and a second one is refused (exit 5) meanwhile.
    user = cli.tenant.create_user(password="Under-Way-Passw0rd!")
    cli.add_cred("Contoso", "Under way", "Under-Way-Passw0rd!", username=user.upn)
    api = httpx.Client(
        base_url=f"{remote['CREDSYNC_SERVER']}/api/v1",
        headers={"Authorization": f"Bearer {remote['CREDSYNC_TOKEN']}"},
    )
    before = {r["id"] for r in api.get("/runs", params={"client": "Contoso"}).json()["items"]}
    with ThreadPoolExecutor(1) as pool:
        with cli.tenant.store.lock:
            following = pool.submit(cli.proc, "sync", "run", "Contoso", "--json", env=remote)
            deadline = time.monotonic() + 30
            while not (under_way := _new_runs(api, before)):
                assert time.monotonic() < deadline, "the run never started"
                time.sleep(0.1)
            assert under_way[0]["state"] == "running"
            refused = cli.run("sync", "run", "Contoso", env=remote)
            assert refused.code == 5, refused
            assert "has a run under way" in refused.error
            time.sleep(0.5)  # the remote command keeps looking
            assert not following.done()
        result = following.result(timeout=60)
    api.close()
    assert result.code == 0, result
    run = result.json()["runs"][0]
    assert (run["id"], run["state"]) == (under_way[0]["id"], "done")
    assert run == cli.json("sync", "show", run["id"])


def _new_runs(api: httpx.Client, before: set[str]) -> list[dict[str, Any]]:
    runs = api.get("/runs", params={"client": "Contoso"}).json()["items"]
    return [r for r in runs if r["id"] not in before]


def test_accepting_in_enforce_mode_names_the_password_flag(served) -> None:
    cli, remote = served
    user = cli.tenant.create_user(password="Enforced-Passw0rd-1!")
    cred = cli.add_cred("Contoso", "Enforced", "Enforced-Passw0rd-1!", username=user.upn)
    assert cli.run("sync", "run", "Contoso").code == 0
    cli.sim.advance_clock(120)
    cli.tenant.set_password(user.id, "Enforced-Passw0rd-2!")
    assert cli.run("sync", "run", "Contoso").code == 0
    flag = next(f for f in cli.json("flags", "Contoso") if f["credential_id"] == cred["id"])
    cli.ok("cred", "sync-mode", cred["id"], "enforce", "--yes")
    # The service names the field (the password); each CLI names its flag, the same way.
    local = cli.fails(2, "flags", "resolve", flag["id"], "--accept-directory")
    assert local == (
        "credsync: error: the credential is in enforce mode, where the vault's password wins: "
        "give the directory's password to accept it, or push the vault's instead "
        "(--password-stdin)"
    )
    assert cli.fails(2, "flags", "resolve", flag["id"], "--accept-directory", env=remote) == local
    assert cli.json("flags", "resolve", flag["id"], "--push")["outcome"] == "pushed"
