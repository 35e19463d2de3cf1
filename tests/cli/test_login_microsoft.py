"""``credsync login --microsoft`` against a real ``credsync serve`` process: the device code
flow with the Graph simulator as the MSP's tenant, the test playing the user at the
simulator's device page (over HTTP) while the command polls; the API token it prints works
through the server as the linked operator. An unlinked account is refused (exit 3), and so
is an id token that is not the tenant's (the server's own check)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from credsync.testing.graphsim import GraphSimulator, SimTenant, approve_device

PASSWORD = "Device-Sign-In-1!"
SECRET = "login-app-secret"


@pytest.fixture(scope="module")
def sim() -> Iterator[GraphSimulator]:
    with GraphSimulator(port=0, seed=31) as simulator:
        simulator.device_interval = 1
        yield simulator


@pytest.fixture(scope="module")
def msp(sim: GraphSimulator) -> SimTenant:
    tenant = sim.add_tenant(users=0, groups=0, domain="msp-cli.test")
    for alias in ("dora", "nobody"):
        tenant.create_user(upn=f"{alias}@{tenant.domain}", password=PASSWORD)
    return tenant


@pytest.fixture
def server(cli: Any, sim: GraphSimulator, msp: SimTenant) -> Iterator[Any]:
    ca = cli.home.parent / "sim-ca.pem"
    ca.write_text(sim.ca_pem)
    cli.ok("operator", "microsoft", "setup", "--tenant-id", msp.id, "--client-id",
           msp.default_app.client_id, "--redirect-uri", "https://v.test/sign-in/microsoft/callback",
           "--authority", sim.url, "--ca-file", str(ca), "--client-secret-stdin",
           stdin=msp.default_app.client_secret + "\n")  # fmt: skip
    cli.ok("operator", "add", "dora", "--role", "technician", "--password-stdin",
           stdin="dora-password-12345\n")  # fmt: skip
    dora = msp.store.user(f"dora@{msp.domain}")
    assert dora is not None
    cli.ok("operator", "microsoft", "link", "dora", dora["id"])
    served = cli.serve()
    try:
        yield served
    finally:
        served.stop()


def _login(cli: Any, url: str, sim: GraphSimulator, upn: str) -> subprocess.CompletedProcess[str]:
    """Run ``credsync login --microsoft`` as a process; sign ``upn`` in at the device page
    with the code it prints."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CREDSYNC_")}
    env.update(CREDSYNC_HOME=str(cli.home.parent / "login-home"), CREDSYNC_SERVER=url)
    proc = subprocess.Popen(
        [sys.executable, "-m", "credsync", "login", "--microsoft"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert proc.stderr is not None
    first = proc.stderr.readline()
    found = re.search(r"enter the code (\S+) to authenticate", first)
    assert found, first
    approve_device(sim, found.group(1), upn, PASSWORD)
    out, err = proc.communicate(timeout=120)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, first + err)


def test_login_prints_a_token_of_the_linked_operator(cli: Any, sim, msp, server) -> None:
    done = _login(cli, server.url, sim, f"dora@{msp.domain}")
    assert done.returncode == 0, done.stderr
    found = re.fullmatch(r"export CREDSYNC_TOKEN='(cst_[A-Za-z0-9_-]+)'\n", done.stdout)
    assert found, done.stdout
    assert "Signed in as dora" in done.stderr
    me = cli.json("whoami", env=server.remote(found.group(1)))
    assert me["operator"] == "dora"
    tokens = cli.json("token", "list", "--all")
    assert any(
        t["operator"] == "dora" and t["name"].startswith("microsoft sign-in") for t in tokens
    )


def test_an_unlinked_account_is_refused(cli: Any, sim, msp, server) -> None:
    done = _login(cli, server.url, sim, f"nobody@{msp.domain}")
    assert done.returncode == 3, done.stderr
    assert "no operator is linked" in done.stderr
    assert "cst_" not in done.stdout


def test_the_server_checks_the_id_token_itself(cli: Any, sim, msp, server) -> None:
    forger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    dora = msp.store.user(f"dora@{msp.domain}")
    assert dora is not None
    claims = {"iss": f"{sim.url}/{msp.id}/v2.0", "aud": msp.default_app.client_id,
              "tid": msp.id, "oid": dora["id"], "iat": 0, "exp": 4102444800}  # fmt: skip
    forged = jwt.encode(claims, forger, algorithm="RS256", headers={"kid": "forged"})
    answer = httpx.post(f"{server.url}/api/v1/auth/microsoft/token", json={"id_token": forged})
    assert answer.status_code == 401
    assert "cst_" not in answer.text
