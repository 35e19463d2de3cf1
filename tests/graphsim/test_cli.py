"""`credsync simulate graph` as a process: one JSON line, a working tenant, a clean stop."""

from __future__ import annotations

import json
import signal
import ssl
import subprocess
import sys
from pathlib import Path

import httpx

CREDSYNC = Path(sys.executable).parent / "credsync"


def test_simulate_graph_serves_until_sigterm(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [
            str(CREDSYNC),
            "simulate",
            "graph",
            "--port",
            "0",
            "--users",
            "50",
            "--tenants",
            "2",
            "--no-throttle",
            "--seed",
            "3",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={"PATH": "/usr/bin:/bin", "CREDSYNC_HOME": str(tmp_path / "home")},
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        info = json.loads(line)
        assert set(info) >= {
            "authority",
            "graph_url",
            "tenant_id",
            "client_id",
            "client_secret",
            "certificate_pem",
            "private_key_pem",
            "ca_file",
            "tenants",
        }
        assert info["authority"] == f"{info['graph_url']}/{info['tenant_id']}"
        assert len(info["tenants"]) == 2
        assert info["tenants"][0]["tenant_id"] == info["tenant_id"]
        assert "BEGIN CERTIFICATE" in info["certificate_pem"]
        verify = ssl.create_default_context(cafile=info["ca_file"])
        with httpx.Client(verify=verify) as http:
            token = http.post(
                f"{info['authority']}/oauth2/v2.0/token",
                data={
                    "client_id": info["client_id"],
                    "client_secret": info["client_secret"],
                    "grant_type": "client_credentials",
                    "scope": "https://graph.microsoft.com/.default",
                },
            ).json()["access_token"]
            count = http.get(
                f"{info['graph_url']}/v1.0/users/$count",
                headers={"Authorization": f"Bearer {token}", "ConsistencyLevel": "eventual"},
            )
            assert count.text == "50"
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) == 0
        assert not Path(info["ca_file"]).exists()  # the temporary CA file is cleaned up
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        if process.stdout:
            process.stdout.close()
        if process.stderr:
            process.stderr.close()
