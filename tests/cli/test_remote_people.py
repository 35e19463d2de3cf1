"""Operators, roles, tokens, the audit list, password policies and `generate` through a
server (--server / CREDSYNC_SERVER with CREDSYNC_TOKEN): the same output as the same command on
the local vault, tables and --json alike, the same exit codes, and no secret in sight.

One `credsync serve` for the whole module (it costs seconds to start): each test leaves the
vault as the next one may find it, and looks only at what it made itself."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

BOB_PASSWORD = "bob-remote-password-4417"


@pytest.fixture(scope="module")
def _server() -> Iterator[dict[str, Any]]:
    """Started by the module's first test (which has the `cli` fixture to set it up with)."""
    started: dict[str, Any] = {}
    yield started
    if "server" in started:
        started["server"].stop()


def _start(cli: Any) -> dict[str, Any]:
    """A vault with a client, a credential, operators bob (technician) and carol (auditor),
    a custom role and policy, served by `credsync serve`."""
    cli.use_session()
    cli.ok("client", "add", "Contoso")
    cli.ok("client", "add", "Fabrikam")
    cli.add_cred("Contoso", "Domain admin", "First-Pa55-word!", username="CONTOSO\\admin")
    cli.add_cred("Fabrikam", "Backup", "Other-Pa55-word!", username="svc-backup")
    for name, role in (("bob", "technician"), ("carol", "auditor")):
        cli.ok("operator", "add", name, "--role", role, "--password-stdin", stdin=BOB_PASSWORD)
    cli.ok("role", "add", "helpdesk", "--permission", "vault.read")
    cli.ok("policy", "add", "long", "--length", "32", "--exclude", "`")
    token = cli.json("token", "create", "remote-cli")["token"]
    bob_token = cli.json("token", "create", "bob-script", "--operator", "bob")["token"]
    server = cli.serve()
    started = {"server": server, "home": cli.home, "env": cli.RemoteEnv(cli.env)}
    started["remote"] = server.remote(token)
    started["bob"] = started["remote"] | {"CREDSYNC_TOKEN": bob_token}
    return started


@pytest.fixture
def served(_server: dict[str, Any], cli: Any) -> tuple[Any, dict[str, Any]]:
    """`cli` on the served vault (signed in locally as alice), and the server's details."""
    if "server" not in _server:
        _server.update(_start(cli))
    cli.home, cli.env = _server["home"], dict(_server["env"])
    return cli, _server


def _same(cli: Any, remote: dict[str, str | None], *args: str, local: Any = None) -> Any:
    """Run ARGS through the server and locally (env ``local``), --json and human: the same
    output."""
    through = cli.run(*args, "--json", env=remote)
    here = cli.run(*args, "--json", env=local)
    assert through.code == here.code == 0, (args, through, here)
    assert through.json() == here.json(), args
    assert cli.run(*args, env=remote).out == cli.run(*args, env=local).out, args  # tables too
    return here.json()


def _same_error(
    cli: Any, code: int, args: tuple[str, ...], remote: Any, local: Any = None, stdin: str = ""
) -> str:
    """The same exit status and error line through the server as locally."""
    through = cli.fails(code, *args, env=remote, stdin=stdin)
    assert through == cli.fails(code, *args, env=local, stdin=stdin), args
    return through


def _local_as(cli: Any, name: str, password: str = BOB_PASSWORD) -> dict[str, str | None]:
    """The environment of a local command signed in as another operator."""
    return cli.RemoteEnv(CREDSYNC_SESSION=None, CREDSYNC_PASSPHRASE=cli.passphrase,
               CREDSYNC_OPERATOR=name, CREDSYNC_OPERATOR_PASSWORD=password)  # fmt: skip


def test_reads_give_the_same_output(served: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    cli, server = served
    remote = server["remote"]
    operators = _same(cli, remote, "operator", "list")
    assert {"alice", "bob", "carol"} <= {o["name"] for o in operators}
    bob = _same(cli, remote, "operator", "show", "BOB")
    assert bob["role"] == "technician"
    roles = _same(cli, remote, "role", "list")
    assert "helpdesk" in [r["name"] for r in roles]
    assert "remote-cli" in [t["name"] for t in _same(cli, remote, "token", "list")]
    assert {t["name"] for t in _same(cli, remote, "token", "list", "--all")} >= {"bob-script"}
    policies = _same(cli, remote, "policy", "list")
    assert [(p["name"], p["length"]) for p in policies] == [("default", 20), ("long", 32)]

    # The audit list, with each of its filters.
    assert len(_same(cli, remote, "audit")) > 10
    added = _same(cli, remote, "audit", "--action", "operator.*")
    assert {e["action"] for e in added} == {"operator.add"}
    contoso = _same(cli, remote, "audit", "--client", "contoso")
    assert [e["target_type"] for e in contoso] == ["credential", "client"]
    assert len({e["client_id"] for e in contoso}) == 1
    about_bob = _same(cli, remote, "audit", "--target", bob["id"])
    assert about_bob[-1]["action"] == "operator.add"
    assert {e["target_id"] for e in about_bob} == {bob["id"]}
    mine = _same(cli, remote, "audit", "--operator", "alice", "--limit", "3")
    assert [e["actor"] for e in mine] == ["alice"] * 3
    # More entries than a page: fetched a page at a time (pages of 2 here), newest first.
    monkeypatch.setattr("credsync.cli.remote.PAGE_MAX", 2)
    paged = _same(cli, remote, "audit", "--limit", "7")
    assert [e["seq"] for e in paged] == sorted((e["seq"] for e in paged), reverse=True)
    assert len(paged) == 7
    assert _same(cli, remote, "audit", "--action", "policy.*", "--limit", "7") == [
        e for e in paged if e["action"].startswith("policy.")
    ]

    # Errors: the same exit status and message.
    _same_error(cli, 4, ("operator", "show", "nobody"), remote)
    _same_error(cli, 4, ("audit", "--client", "Nope"), remote)
    as_bob = _local_as(cli, "bob")
    refused = _same_error(cli, 3, ("operator", "list"), server["bob"], as_bob)
    assert "admin" in refused
    _same_error(cli, 3, ("audit",), server["bob"], as_bob)
    bobs = _same(cli, server["bob"], "token", "list", local=as_bob)  # his own, not alice's
    assert [t["name"] for t in bobs] == ["bob-script"]


def test_operators_change_through_the_server(served: Any) -> None:
    cli, server = served
    remote = server["remote"]
    password = "dave-remote-password-7213"
    added = cli.run(
        "operator", "add", "dave", "--role", "viewer", "--password-stdin", "--json",
        stdin=password + "\n", env=remote,
    )  # fmt: skip
    assert added.code == 0, added
    assert added.json() == cli.json("operator", "show", "dave")
    assert password not in added.out + added.err
    taken = cli.run("operator", "add", "Dave", "--role", "viewer", "--password-stdin",
                    stdin=password, env=remote)  # fmt: skip
    assert taken.code == 5, taken
    human = cli.run("operator", "set-role", "dave", "auditor", env=remote)
    assert human.out == "Operator dave now has role auditor.\n"
    changed = cli.run("operator", "set-role", "dave", "viewer", "--json", env=remote).json()
    assert changed == cli.json("operator", "show", "dave")
    disabled = cli.run("operator", "disable", "dave", env=remote).err
    assert disabled == (
        "Operator dave disabled: every session of theirs ended; their API tokens are refused "
        "until they are enabled.\n"
    )
    assert cli.json("operator", "show", "dave")["disabled"] is True
    assert cli.run("operator", "enable", "DAVE", env=remote).err == "Operator dave enabled.\n"
    _same_error(cli, 4, ("operator", "set-role", "dave", "nosuchrole"), remote)
    _same_error(cli, 4, ("operator", "disable", "nobody"), remote)
    last_admin = _same_error(cli, 2, ("operator", "disable", "alice"), remote)
    assert "last active admin" in last_admin

    # Another operator's password (admin), then one's own (with the current one).
    new = "dave-changed-password-5530"
    changed_pw = cli.run("operator", "passwd", "dave", "--password-stdin", stdin=new, env=remote)
    assert (changed_pw.code, changed_pw.err) == (
        0,
        "Password of dave changed; 0 web and CLI session(s) of theirs ended.\n",
    )
    assert cli.json("whoami", env=_local_as(cli, "dave", new))["operator"] == "dave"
    bob = server["bob"]
    no_current = cli.run("operator", "passwd", "--password-stdin", stdin=new, env=bob)
    assert no_current.code == 2, no_current
    assert "CREDSYNC_OPERATOR_PASSWORD" in no_current.error
    wrong = bob | {"CREDSYNC_OPERATOR_PASSWORD": "not-bobs-password-0000"}
    refused = cli.run("operator", "passwd", "--password-stdin", stdin=new, env=wrong)
    assert refused.code == 3, refused
    assert "not-bobs-password" not in refused.err
    with_current = bob | {"CREDSYNC_OPERATOR_PASSWORD": BOB_PASSWORD}
    own = cli.run("operator", "passwd", "--password-stdin", stdin=new, env=with_current)
    assert (own.code, own.err) == (
        0,
        "Password of bob changed; 0 web and CLI session(s) of theirs ended.\n"
        "1 API token(s) of bob still work: `credsync token revoke --all` revokes them.\n",
    )
    assert new not in own.out + own.err
    back = cli.run("operator", "passwd", "bob", "--password-stdin", stdin=BOB_PASSWORD, env=remote)
    assert back.code == 0, back  # alice (admin) needs no current password for bob's
    args = ("operator", "passwd", "dave", "--password-stdin")  # bob is no admin
    _same_error(cli, 3, args, bob, _local_as(cli, "bob"), stdin=new)
    actions = [e["action"] for e in cli.json("audit", "--action", "operator.*", "--limit", "9")]
    assert actions.count("operator.password") == 3


def test_roles_and_tokens_change_through_the_server(served: Any) -> None:
    cli, server = served
    remote = server["remote"]
    role = cli.run(
        "role", "add", "Support", "--permission", "vault.read", "--permission", "secret.reveal",
        "--description", "first line", "--json", env=remote,
    )  # fmt: skip
    assert role.code == 0, role
    assert role.json() in cli.json("role", "list")
    _same_error(cli, 5, ("role", "add", "support", "--permission", "vault.read"), remote)
    _same_error(cli, 2, ("role", "add", "x", "--permission", "vault.everything"), remote)
    assert cli.run("role", "delete", "support", env=remote).err == "Role support deleted.\n"
    assert "support" not in [r["name"] for r in cli.json("role", "list")]
    _same_error(cli, 4, ("role", "delete", "support"), remote)
    _same_error(cli, 2, ("role", "delete", "viewer"), remote)

    made = cli.run("token", "create", "nightly", "--expires-days", "30", "--json", env=remote)
    assert made.code == 0, made
    token = made.json()
    prefix = token["token"][:4]
    assert prefix == "cst_"
    listed = {t["id"]: t for t in cli.json("token", "list")}
    assert {k: v for k, v in token.items() if k != "token"} == listed[token["id"]]
    shown = cli.run("token", "create", "once", env=remote)
    value, advice = shown.out.splitlines()
    prefix, leaked = value[:4], value in shown.err
    assert prefix == "cst_"
    assert advice == "(store it now: it is not shown again)"
    assert not leaked
    nightly = remote | {"CREDSYNC_TOKEN": token["token"]}
    assert cli.json("whoami", env=nightly)["via"] == "token"
    for_bob = cli.run("token", "create", "b", "--operator", "bob", "--json", env=remote).json()
    assert for_bob["operator"] == "bob"
    revoked = cli.run("token", "revoke", token["id"], env=remote)
    assert revoked.err == "Token nightly revoked.\n"
    assert cli.run("whoami", env=nightly).code == 3
    _same_error(cli, 4, ("token", "revoke", "no-such-token"), remote)
    alices = ("token", "revoke", token["id"])  # bob is no admin
    _same_error(cli, 3, alices, server["bob"], _local_as(cli, "bob"))
    assert cli.run("token", "revoke", for_bob["id"], env=server["bob"]).code == 0  # his own


def test_policies_and_generate_through_the_server(served: Any) -> None:
    cli, server = served
    remote = server["remote"]
    added = cli.run("policy", "add", "PIN", "--length", "6", "--min-lower", "-1",
                    "--min-upper", "-1", "--min-symbols", "-1", "--json", env=remote)  # fmt: skip
    assert added.code == 0, added
    assert added.json() in cli.json("policy", "list")
    assert added.json()["name"] == "pin"
    human = cli.run("policy", "add", "wide", "--length", "40", "--no-ambiguous", env=remote)
    assert human.out == "Policy wide added.\n"
    _same_error(cli, 5, ("policy", "add", "pin"), remote)
    _same_error(cli, 2, ("policy", "add", "x", "--length", "300"), remote)
    _same_error(cli, 2, ("policy", "add", "default"), remote)

    # Assertions on lengths and flags only: a failing one never shows a generated password.
    one = cli.run("generate", env=remote)
    assert one.code == 0, one
    lengths = [len(p) for p in one.out.split()]
    assert lengths == [20]
    pins = cli.run("generate", "--policy", "pin", "--count", "5", "--json", env=remote).json()
    lengths, digits = [len(p) for p in pins], all(p.isdigit() for p in pins)
    assert lengths == [6] * 5
    assert digits
    longer = cli.run("generate", "--policy", "PIN", "--length", "9", env=remote).out.split()
    lengths, digits = [len(p) for p in longer], all(p.isdigit() for p in longer)
    assert lengths == [9]
    assert digits
    plain = cli.run("generate", "--length", "30", "--min-symbols", "-1", "--no-ambiguous",
                    "--count", "3", env=remote).out.split()  # fmt: skip
    lengths, alnum = [len(p) for p in plain], all(p.isalnum() for p in plain)
    ambiguous = set("".join(plain)) & set("Il1O0o")
    assert lengths == [30] * 3
    assert alnum
    assert not ambiguous
    _same_error(cli, 4, ("generate", "--policy", "nope"), remote)
    _same_error(cli, 2, ("generate", "--length", "4", "--min-digits", "5"), remote)

    assert cli.run("policy", "delete", "wide", env=remote).err == "Policy wide deleted.\n"
    _same_error(cli, 4, ("policy", "delete", "wide"), remote)
    _same_error(cli, 3, ("policy", "delete", "pin"), server["bob"], _local_as(cli, "bob"))
    assert cli.run("policy", "delete", "pin", env=remote).code == 0
    assert [p["name"] for p in _same(cli, remote, "policy", "list")] == ["default", "long"]
