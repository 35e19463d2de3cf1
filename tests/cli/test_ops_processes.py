"""Operations across real processes (issue 18): two ``credsync serve --no-agent
--expect-agent`` processes and one ``credsync agent`` on the same home, a real push to the
Samba DC. Both servers answer /metrics alike (the database's figures read at the scrape; the
agent's push and each server's sign-ins summed from the shared counters), /readyz waits for
the agent's heartbeat, and the logs are JSON lines with the request id."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from credsync.testing import prefork

SCRAPE = "a-scrape-token-of-the-process-test-7f3a"
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def _samples(text: str) -> Samples:
    found: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


class _Proc:
    """``credsync ARGS`` as a process of its own, its stderr in ``log``."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path, preload: Any) -> None:
        self.log = log
        with log.open("wb") as stderr:
            self.proc = prefork.spawn(
                args,
                {**os.environ, **env, "PYTHONUNBUFFERED": "1"},
                stderr=stderr.fileno(),
                preload=preload,
            )

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except Exception:
                self.proc.kill()
                self.proc.wait()
        return int(self.proc.returncode)


def _wait(what: str, check: Any, procs: list[_Proc], timeout: float = 90) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        try:
            found = check()
        except httpx.TransportError:
            found = None
        if found:
            return found
        for p in procs:
            if p.proc.poll() is not None:
                pytest.fail(f"{what}: a process stopped: {p.log.read_text()[-3000:]}")
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {timeout} s")
        time.sleep(0.2)


@pytest.fixture
def ops_cli(cli, ad_ou):
    """A vault (session signed in) with client Contoso, directory sync on, and directory
    ``ops-ad`` on this test's OU of the Samba DC."""
    cli.use_session()
    cli.add_client("Contoso")
    cli.ok("client", "set", "Contoso", "--directory-sync", "on")
    facts = ad_ou.facts
    bind = cli.add_cred(
        "Contoso", "Domain admin", facts.admin_password, "--type", "directory_admin",
        "--sync-mode", "off", username=facts.admin_netbios,
    )  # fmt: skip
    cli.ok(
        "directory", "add", "Contoso", "ops-ad", "--kind", "active-directory", "--url",
        "ldaps://127.0.0.1", "--tls-server-name", facts.tls_server_name, "--base-dn", ad_ou.dn,
        "--bind-credential", bind["id"][:8], "--ca-file", str(facts.ca_file),
    )  # fmt: skip
    cli.ad = ad_ou
    return cli


@pytest.fixture
def processes(ops_cli, tmp_path) -> Iterator[list[_Proc]]:
    started: list[_Proc] = []
    yield started
    for proc in reversed(started):
        proc.stop()


def test_two_servers_and_an_agent_answer_one_set_of_metrics(ops_cli, tmp_path, processes) -> None:
    from sync.test_enforce_mode import binds

    cli = ops_cli
    user = cli.ad.create_user()
    cred = cli.add_cred("Contoso", "Dora", "Vault-Side-Passw0rd!", username=user.name)
    assert cli.json("sync", "run", "Contoso")["runs"][0]["items"][0]["status"] == "mismatch"
    token_file = tmp_path / "metrics-token"
    token_file.write_text(SCRAPE + "\n")
    env = cli.environment()
    urls = []
    for n in (1, 2):
        port = cli.free_port()
        urls.append(f"http://127.0.0.1:{port}")
        args = ["serve", "--port", str(port), "--no-agent", "--expect-agent",
                "--metrics-token-file", str(token_file), "--log-format", "json"]  # fmt: skip
        processes.append(_Proc(args, env, tmp_path / f"serve-{n}.log", prefork.SERVE))
    auth = {"Authorization": f"Bearer {SCRAPE}"}

    def ready(url: str) -> httpx.Response:
        return httpx.get(f"{url}/readyz", timeout=10)

    # no agent yet: each server is up but not ready, and says why
    waiting = _wait("serve", lambda: ready(urls[0]), processes)
    assert waiting.status_code == 503
    assert waiting.json()["failed"] == ["agent"]
    assert _wait("serve 2", lambda: ready(urls[1]), processes).status_code == 503
    assert httpx.get(f"{urls[0]}/metrics", timeout=10).status_code == 401

    agent = _Proc(["agent", "--poll", "0.1", "--log-format", "json"], env,
                  tmp_path / "agent.log", prefork.COMMANDS)  # fmt: skip
    processes.append(agent)
    for url in urls:
        _wait("ready", lambda url=url: ready(url).status_code == 200, processes)

    # a sign-in refused by each server: counted by the process that refused it
    for url in urls:
        refused = httpx.post(
            f"{url}/api/v1/auth/login", json={"name": "alice", "password": "not-hers"},
            headers={"X-Request-ID": "ops-test-1"}, timeout=30,
        )  # fmt: skip
        assert refused.status_code == 401
        assert refused.headers["x-request-id"] == "ops-test-1"

    # the vault's secret changes under enforce: the agent process pushes it to the DC
    cli.ok("cred", "sync-mode", cred["id"], "enforce", "--yes")
    cli.ok("cred", "set-password", cred["id"], "--password-stdin", stdin="Pushed-By-Agent-9!\n")
    pushed = ("credsync_pushes_total", (("outcome", "pushed"),))

    def scraped(url: str) -> Samples:
        response = httpx.get(f"{url}/metrics", headers=auth, timeout=30)
        assert response.status_code == 200, response.text
        return _samples(response.text)

    _wait("push", lambda: scraped(urls[1]).get(pushed, 0) >= 1, processes)
    waiting = ("credsync_push_queue_depth", (("state", "waiting"),))
    _wait("queue", lambda: scraped(urls[0])[waiting] == 0, processes)
    assert binds(SimpleNamespace(ad=cli.ad), user.dn, "Pushed-By-Agent-9!")
    first, second = scraped(urls[0]), scraped(urls[1])
    ignore = {"credsync_scrape_duration_seconds", "credsync_push_queue_oldest_age_seconds"}
    assert {k: v for k, v in first.items() if k[0] not in ignore} == {
        k: v for k, v in second.items() if k[0] not in ignore
    }
    assert first[("credsync_sign_ins_total", (("outcome", "refused"), ("who", "operator")))] == 2
    assert first[("credsync_push_duration_seconds_count", ())] >= 1
    assert first[("credsync_runs", (("state", "done"),))] >= 2  # the CLI's run and the agent's
    assert first[("credsync_checks", (("status", "in_sync"),))] == 1

    # JSON lines, with the request id where the record comes from a request
    for proc in processes:
        assert proc.stop() == 0, proc.log.read_text()[-2000:]
    lines = [
        json.loads(line)
        for line in (tmp_path / "serve-1.log").read_text().splitlines()
        if line.startswith("{")
    ]
    login = [x for x in lines if x.get("request_id") == "ops-test-1"]
    assert any(x["message"].startswith("POST /api/v1/auth/login 401") for x in login)
    agent_lines = [
        json.loads(line)
        for line in (tmp_path / "agent.log").read_text().splitlines()
        if line.startswith("{")
    ]
    assert agent_lines
    assert {"time", "level", "logger", "message", "request_id"} <= set(agent_lines[0])
    assert SCRAPE not in (tmp_path / "serve-1.log").read_text()


def test_serve_s_operations_options_are_checked_before_it_starts(cli, tmp_path) -> None:
    assert "--expect-agent goes with --no-agent" in cli.fails(2, "serve", "--expect-agent")
    missing = tmp_path / "nope"
    refused = cli.fails(2, "serve", "--port", "0", "--metrics-token-file", str(missing))
    assert f"--metrics-token-file {missing}: no such file" in refused
    short = tmp_path / "short"
    short.write_text("abc\n")
    result = cli.run("serve", "--port", "0", "--metrics-token-file", str(short))
    assert result.code != 0
    assert "shorter than 16 characters" in result.err
    assert "abc" not in result.err
