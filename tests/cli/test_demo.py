"""credsync demo as a newcomer runs it: one command, a real process, no setup."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx


def test_the_demo_serves_a_vault_with_flags_and_cleans_up(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CREDSYNC_")}
    env.update(HOME=str(tmp_path), PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(
        [sys.executable, "-m", "credsync", "demo", "--port", "0", "--users", "50", "--json"],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line, proc.stderr.read() if proc.stderr else ""
        facts = json.loads(line)
        auth = {"Authorization": f"Bearer {facts['token']}"}
        clients = httpx.get(f"{facts['api']}/clients", headers=auth, timeout=10).json()
        by_name = {c["name"]: c for c in clients}
        # Northwind Traders (Active Directory) is there when the machine's Samba DC runs.
        assert {"Contoso Ltd", "Fabrikam Inc"} <= set(by_name)
        # 3 changed in the tenant (2 in report mode, 1 in two-way: flagged, not pushed over), 1
        # mismatch.
        assert by_name["Contoso Ltd"]["open_flags"] == 4
        login = httpx.post(
            f"{facts['api']}/auth/login",
            json={"name": facts["operator"], "password": facts["password"]},
            timeout=10,
        )
        assert login.status_code == 200, login.text
        home = Path(facts["home"])
        assert (home / "vault.db").exists()
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert "stopped" in err
    assert not home.exists()  # the throwaway vault is gone
    assert facts["password"] not in err
