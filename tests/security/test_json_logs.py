"""No secret in the JSON logs (issue 18): real operations with ``CREDSYNC_LOG_FORMAT=json`` at
DEBUG, each a process of its own (nothing mocked), against the Samba DC: a run whose bind
with the vault's (wrong) password fails, a push of a new password, a server whose operator
sign-ins fail and succeed. Then the bytes of everything they wrote (stderr: the JSON lines;
and any file under the home but the database) are searched for every secret in UTF-8,
UTF-16 and hex."""

from __future__ import annotations

import json
import signal
import time
import uuid
from pathlib import Path

import httpx
import pytest

from credsync.testing import prefork

from ._cli import Cli
from ._safe import check_absent, guard
from ._top import FAST_KDF

pytestmark = pytest.mark.slow

MARK = "%7#31!9@"


def _forms(secrets: dict[str, str]) -> dict[str, bytes]:
    needles = {}
    for label, value in secrets.items():
        for enc in ("utf-8", "utf-16-le", "utf-16-be"):
            needles[f"{label} ({enc})"] = value.encode(enc)
        needles[f"{label} (hex)"] = value.encode().hex().encode()
        needles[f"{label} (json)"] = json.dumps(value)[1:-1].encode()
    return needles


def _scan(needles: dict[str, bytes], blob: bytes, where: str) -> None:
    found = [label for label, needle in needles.items() if needle in blob]
    if found:
        pytest.fail(f"{where} holds secret(s): {', '.join(sorted(found))}", pytrace=False)


def test_json_logs_of_pushes_sign_ins_and_failed_binds_hold_no_secret(
    tmp_path: Path, ad_ou
) -> None:
    home = tmp_path / "home"
    cli = Cli(home)
    secrets: dict[str, str] = {}

    def new(label: str) -> str:
        value = f"{MARK}{label}-{uuid.uuid4().hex[:12]}Aa1"
        secrets[label] = value
        cli.redact.append(value)
        return value

    facts = ad_ou.facts
    secrets["dc-admin"] = facts.admin_password
    cli.redact.append(facts.admin_password)
    with guard(lambda: secrets.values()):
        passphrase, admin_pw = new("passphrase"), new("admin-password")
        cli.env.update(
            {
                "CREDSYNC_PASSPHRASE": passphrase,
                "CREDSYNC_LOG_LEVEL": "DEBUG",
                "CREDSYNC_LOG_FORMAT": "json",
                "CREDSYNC_OPERATOR": "alice",
                "CREDSYNC_OPERATOR_PASSWORD": admin_pw,
            }
        )
        cli.run(
            "init", "--admin", "alice",
            "--kdf-memory-kib", str(FAST_KDF["memory_kib"]),
            "--kdf-time-cost", str(FAST_KDF["time_cost"]),
            "--kdf-parallelism", str(FAST_KDF["parallelism"]),
            env={"CREDSYNC_ADMIN_PASSWORD": admin_pw},
        )  # fmt: skip
        cli.run("client", "add", "Contoso")
        cli.run("client", "set", "Contoso", "--directory-sync", "on")
        bind = json.loads(
            cli.run(
                "cred", "add", "Contoso", "--title", "DC admin", "--username",
                facts.admin_netbios, "--type", "directory_admin", "--sync-mode", "off",
                "--password-stdin", "--json", stdin=facts.admin_password,
            ).stdout
        )  # fmt: skip
        cli.run(
            "directory", "add", "Contoso", "ops-ad", "--kind", "active-directory", "--url",
            "ldaps://127.0.0.1", "--tls-server-name", facts.tls_server_name, "--base-dn",
            ad_ou.dn, "--bind-credential", bind["id"], "--ca-file", str(facts.ca_file),
        )  # fmt: skip
        user = ad_ou.create_user()
        secrets["ad-user-password"] = user.password
        cli.redact.append(user.password)
        wrong = new("vault-side-password")
        cred = json.loads(
            cli.run(
                "cred", "add", "Contoso", "--title", "Dora", "--username", user.name,
                "--password-stdin", "--json", stdin=wrong,
            ).stdout
        )  # fmt: skip
        # a bind with the vault's (wrong) password fails: the check says mismatch
        run = json.loads(cli.run("sync", "run", "Contoso", "--json").stdout)["runs"][0]
        assert run["items"][0]["status"] == "mismatch"
        cli.run("cred", "sync-mode", cred["id"], "enforce", "--yes")
        pushed = new("pushed-password")
        cli.run("cred", "set-password", cred["id"], "--password-stdin", stdin=pushed)
        run = json.loads(cli.run("sync", "run", "Contoso", "--json").stdout)["runs"][0]
        assert [(i["status"], i["action"]) for i in run["items"]] == [("in_sync", "push")]

        # a server: operator sign-ins refused and made, answered with JSON lines on stderr
        port = _free_port()
        log = tmp_path / "serve.log"
        with log.open("wb") as stderr:
            proc = prefork.spawn(
                ["serve", "--port", str(port), "--log-format", "json"],
                {**cli._environ({}), "PYTHONUNBUFFERED": "1"},
                stderr=stderr.fileno(),
                preload=prefork.SERVE,
            )
        try:
            url = f"http://127.0.0.1:{port}"
            _wait_ready(url, proc, log)
            login = f"{url}/api/v1/auth/login"
            refused_pw = new("typed-wrong-password")
            answer = httpx.post(login, json={"name": "alice", "password": refused_pw}, timeout=60)
            assert answer.status_code == 401
            # a password typed into the name field (it happens): never logged either
            typed_as_name = new("password-as-name")
            httpx.post(login, json={"name": typed_as_name, "password": "x"}, timeout=60)
            answer = httpx.post(login, json={"name": "alice", "password": admin_pw}, timeout=60)
            assert answer.status_code == 200
            token = answer.json().get("token")
            if isinstance(token, str):
                secrets["session-token"] = token
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=60)

        written = b"".join(r.stderr.encode() for r in cli.results) + log.read_bytes()
        lines = [json.loads(x) for x in written.decode().splitlines() if x.startswith("{")]
        # not vacuous: the push at DEBUG and the runs, with their ids; the server's requests
        assert any(x["level"] == "DEBUG" and x.get("run_id") for x in lines)
        ran = [x for x in lines if x["logger"] == "credsync.sync" and x["level"] == "INFO"]
        assert all({"run_id", "directory_id", "client_id"} <= set(x) for x in ran)
        assert len(ran) >= 2  # the two sync runs (and the server agent's, if it ran one)
        assert any(x["logger"] == "credsync.http" and x["request_id"] for x in lines)
        needles = _forms(secrets)
        _scan(needles, written, "the JSON logs")
        for path in home.rglob("*"):
            if path.is_file() and not path.name.startswith("vault.db"):
                _scan(needles, path.read_bytes(), f"{path.relative_to(home)}")
        check_absent(secrets, written, "the JSON logs")


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_ready(url: str, proc: prefork.Child, log: Path) -> None:
    deadline = time.monotonic() + 90
    while True:
        try:
            if httpx.get(f"{url}/readyz", timeout=10).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"the server did not get ready (exit {proc.poll()})", pytrace=False)
        time.sleep(0.3)
