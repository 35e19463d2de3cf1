"""The CLI against a running server (--server / CREDSYNC_SERVER with CREDSYNC_TOKEN): the same
commands give the same output as on the local vault, errors give the same exit codes, and a
command that works only locally says so."""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
from collections.abc import Iterator

import pytest

from credsync.testing.graphsim._tls import make_server_tls


@pytest.fixture
def served(cli) -> Iterator[tuple[object, dict[str, str | None]]]:
    """A vault with data, served by `credsync serve`; the environment of a remote CLI."""
    cli.use_session()
    cli.ok("client", "add", "Contoso")
    cred = cli.add_cred("Contoso", "Domain admin", "First-Pa55-word!", username="CONTOSO\\admin")
    cli.run("cred", "set-password", cred["id"], "--password-stdin", stdin="Second-Pa55-word!\n")
    token = cli.json("token", "create", "remote-cli")["token"]
    server = cli.serve()
    try:
        cli.cred_id = cred["id"]
        yield cli, server.remote(token)
    finally:
        server.stop()


COMMANDS = [
    ("client", "list"),
    ("client", "show", "Contoso"),
    ("cred", "list", "Contoso"),
    ("cred", "search", "domain", "adm"),
    ("cred", "show", "{cred}"),
    ("cred", "show", "{cred}", "--reveal"),
    ("cred", "history", "{cred}"),
    ("cred", "history", "{cred}", "--reveal"),
    ("flags",),
    ("audit", "verify"),
]


def test_the_same_commands_give_the_same_output(served) -> None:
    cli, remote = served
    for command in COMMANDS:
        args = [part.replace("{cred}", cli.cred_id) for part in command]
        local_json = cli.run(*args, "--json")
        remote_json = cli.run(*args, "--json", env=remote)
        assert remote_json.code == local_json.code == 0, (command, local_json, remote_json)
        drop = {"hash", "head_hash", "head_seq", "entries"}  # the audit moved on (the reveals)
        assert _without(remote_json.json(), drop) == _without(local_json.json(), drop), command
        if command[0] != "audit":
            human = cli.run(*args, env=remote).out
            assert human == cli.run(*args).out, command  # the human view too


def _without(data, keys):
    if isinstance(data, list):
        return [_without(item, keys) for item in data]
    if isinstance(data, dict):
        return {k: _without(v, keys) for k, v in data.items() if k not in keys}
    return data


def test_writes_and_errors_through_the_server(served) -> None:
    cli, remote = served
    added = cli.run(
        "cred", "add", "Contoso", "--title", "Backup", "--username", "svc-backup", "--generate",
        "--json", env=remote,
    )  # fmt: skip
    assert added.code == 0, added
    new = added.json()
    assert new["title"] == "Backup"
    changed = cli.run(
        "cred", "set-password", new["id"], "--password-stdin", "--json",
        stdin="Third-Pa55-word!\n", env=remote,
    )  # fmt: skip
    assert changed.json()["secret_version"] == 2
    shown = cli.json("cred", "show", new["id"], "--reveal")  # locally: the same vault
    assert shown["password"] == "Third-Pa55-word!"
    who = cli.run("whoami", "--json", env=remote).json()
    assert who["via"] == "token"
    assert who["database"].startswith("server http://127.0.0.1:")
    # Errors: the same exit codes as locally.
    assert cli.run("client", "show", "Nope", env=remote).code == 4
    assert cli.run("client", "add", "contoso", env=remote).code == 5
    bad_token = {**remote, "CREDSYNC_TOKEN": "cst_wrong"}
    refused = cli.run("client", "list", env=bad_token)
    assert refused.code == 3
    assert "cst_wrong" not in refused.err
    # A command that works only on a local vault says so.
    local_only = cli.run("agent", "--once", env=remote)
    assert local_only.code == 2
    assert "local vault only" in local_only.error
    unreachable = {**remote, "CREDSYNC_SERVER": f"http://127.0.0.1:{cli.free_port()}"}
    down = cli.run("client", "list", env=unreachable)
    assert down.code == 7  # unreachable, as a local vault's database would be
    assert "cannot reach the credsync server" in down.error


def test_changes_through_the_server_match_the_local_commands(served) -> None:
    cli, remote = served
    cred = cli.cred_id

    def both(*args: str) -> dict:
        result = cli.run(*args, "--json", env=remote)
        assert result.code == 0, (args, result)
        return result.json()

    assert both("client", "rename", "Contoso", "Contoso / IT")["name"] == "Contoso / IT"
    assert both("client", "show", "contoso / it")["name"] == "Contoso / IT"  # a slash in a name
    assert both("client", "rename", "Contoso / IT", "Contoso Ltd")["name"] == "Contoso Ltd"
    assert both("client", "set", "Contoso Ltd", "--directory-sync", "on")["directory_sync"]
    refused = cli.run("client", "set", "Contoso Ltd", "--default-sync-mode", "enforce", env=remote)
    assert refused.code == 2, refused
    assert "enforce" in refused.error
    assert "Pass --yes" in refused.error
    assert cli.json("client", "show", "Contoso Ltd")["default_sync_mode"] == "report"
    switched = both("client", "set", "Contoso Ltd", "--default-sync-mode", "enforce", "--yes")
    assert switched["default_sync_mode"] == "enforce"
    assert both("cred", "sync-mode", cred, "report")["sync_mode"] == "report"
    assert both("cred", "sync-mode", cred, "enforce", "--yes")["sync_mode"] == "enforce"
    edited = both("cred", "edit", cred, "--title", "DC admin", "--tag", "dc")
    assert (edited["title"], edited["tags"]) == ("DC admin", ["dc"])
    stale = cli.run("cred", "edit", cred, "--title", "x", "--if-version", "1", env=remote)
    assert stale.code == 5, stale
    generated = both("cred", "generate", cred, "--show", "--reason", "rotation")
    assert len(generated["password"]) >= 16
    assert cli.json("cred", "show", cred, "--reveal")["password"] == generated["password"]
    assert both("cred", "delete", cred)["deleted"] is True
    assert both("cred", "restore", cred)["deleted"] is False
    assert "to the trash" in cli.run("cred", "delete", cred, env=remote).out
    assert "Restored" in cli.run("cred", "restore", cred, env=remote).out


def test_plain_http_to_another_host_is_warned_about(capsys) -> None:
    """The token (and passwords, exports) would cross the network in the clear: said once,
    on standard error; not for the machine itself."""
    from credsync.cli.remote import Remote
    from credsync.types import Secret

    for url, warned in (
        ("http://192.0.2.10:8400", True),
        ("https://vault.example.net", False),
        ("http://127.0.0.1:8400", False),
        ("http://localhost:8400", False),
    ):
        Remote(url, Secret("cst_not-a-real-token")).close()
        err = capsys.readouterr().err
        assert ("plain http" in err) is warned, url
        assert "cst_not-a-real-token" not in err


def test_a_refused_input_names_the_same_flag_through_the_server(served) -> None:
    cli, remote = served
    cases = [
        ("cred", "add", "Contoso", "--title", "  ", "--generate"),
        ("cred", "add", "Contoso", "--title", "T", "--tag", "not ok!", "--generate"),
        ("cred", "edit", cli.cred_id, "--folder", "a/../b"),
    ]
    for args in cases:
        local = cli.fails(2, *args)
        assert local.endswith((" (--title)", " (--tag)", " (--folder)")), local
        assert cli.fails(2, *args, env=remote) == local, args


def test_an_unreachable_server_is_exit_7_and_an_untrusted_one_exit_2(cli, tmp_path) -> None:
    """No answer: the vault can't be reached (7, as for its database). A certificate the
    machine does not trust: the configuration is wrong (2), naming CREDSYNC_SERVER_CA."""
    env = {"CREDSYNC_SESSION": None, "CREDSYNC_TOKEN": "cst_x"}
    nobody = cli.run("client", "list", env={**env, "CREDSYNC_SERVER": "http://127.0.0.1:1"})
    assert nobody.code == 7, nobody
    assert nobody.error.startswith("credsync: error: cannot reach the credsync server at ")

    made = make_server_tls()
    (tmp_path / "cert.pem").write_text(made.cert_pem)
    (tmp_path / "key.pem").write_text(made.key_pem)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def handshake_once() -> None:
        conn, _ = listener.accept()
        with conn, contextlib.suppress(OSError):
            context.wrap_socket(conn, server_side=True)

    thread = threading.Thread(target=handshake_once, daemon=True)
    thread.start()
    try:
        untrusted = cli.run(
            "client", "list", env={**env, "CREDSYNC_SERVER": f"https://127.0.0.1:{port}"}
        )
    finally:
        thread.join(timeout=10)
        listener.close()
    assert untrusted.code == 2, untrusted
    assert "has a certificate this machine does not trust" in untrusted.error
    assert untrusted.error.endswith("name its CA in CREDSYNC_SERVER_CA")
