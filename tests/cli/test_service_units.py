"""The service units and the container image (packaging/, issue 18): systemd itself checks
the units (``systemd-analyze verify``, and ``security`` rates their hardening), their
``ExecStart`` and the image's command are real credsync commands that the README's install
section gives, and the server runs under memory-deny-write-execute (the kernel's
PR_SET_MDWE: what the units' ``MemoryDenyWriteExecute=yes`` asks)."""

from __future__ import annotations

import ctypes
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import httpx
import pytest

from credsync.cli import main

ROOT = Path(__file__).resolve().parents[2]
PACKAGING = ROOT / "packaging"
UNITS = ("credsync.service", "credsync-agent.service")
README = (ROOT / "README.md").read_text(encoding="utf-8")
INSTALL = README.split("\n## Install as a service\n", 1)[1].split("\n## ", 1)[0]
HARDENING = {
    "NoNewPrivileges": "yes",
    "ProtectSystem": "strict",
    "ProtectHome": "yes",
    "PrivateTmp": "yes",
    "PrivateDevices": "yes",
    "ProtectKernelTunables": "yes",
    "ProtectKernelModules": "yes",
    "ProtectKernelLogs": "yes",
    "RestrictAddressFamilies": "AF_UNIX AF_INET AF_INET6",
    "LockPersonality": "yes",
    "MemoryDenyWriteExecute": "yes",
    "CapabilityBoundingSet": "",
    "ReadWritePaths": "/var/lib/credsync",
    "User": "credsync",
    "Restart": "on-failure",
}
CREDSYNC = shutil.which("credsync", path=str(Path(sys.executable).parent))


def _settings(unit: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for line in (PACKAGING / "systemd" / unit).read_text().splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, value = line.split("=", 1)
            found.setdefault(key.strip(), []).append(value.strip())
    return found


def _exec_start(unit: str) -> list[str]:
    [line] = _settings(unit)["ExecStart"]
    return shlex.split(line)


@pytest.mark.parametrize("unit", UNITS)
def test_the_unit_is_hardened_and_hands_secrets_over_as_credentials(unit: str) -> None:
    settings = _settings(unit)
    for key, value in HARDENING.items():
        assert settings.get(key) == [value], key
    loaded = [v.split(":", 1)[0] for v in settings["LoadCredential"]]
    assert {"passphrase", "token"} <= set(loaded)
    env = dict(v.split("=", 1) for v in settings["Environment"])
    assert env["CREDSYNC_HOME"] == "/var/lib/credsync"
    assert env["CREDSYNC_PASSPHRASE_FILE"] == "%d/passphrase"
    assert env["CREDSYNC_LOG_FORMAT"] == "json"
    assert not any("PASSPHRASE=" in v or "TOKEN=" in v for v in settings["Environment"])


@pytest.mark.parametrize("unit", UNITS)
def test_exec_start_is_a_credsync_command_that_its_help_accepts(unit: str, capsys) -> None:
    command = _exec_start(unit)
    assert command[0] == "/usr/local/bin/credsync"
    assert main([*command[1:], "--help"]) == 0
    assert "Examples:" in capsys.readouterr().out
    assert " ".join(["credsync", *command[1:]]) in INSTALL  # the README gives the same command


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze")
@pytest.mark.parametrize("unit", UNITS)
def test_systemd_verifies_the_unit_and_rates_it_safe(unit: str, tmp_path: Path) -> None:
    assert CREDSYNC is not None
    # the unit as installed, credsync where this test environment has it
    text = (PACKAGING / "systemd" / unit).read_text().replace("/usr/local/bin/credsync", CREDSYNC)
    (tmp_path / unit).write_text(text)
    verify = subprocess.run(
        ["systemd-analyze", "verify", str(tmp_path / unit)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert verify.returncode == 0, verify.stderr
    assert verify.stderr.strip() == "", verify.stderr
    security = subprocess.run(
        ["systemd-analyze", "security", "--offline=yes", "--no-pager", str(tmp_path / unit)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    found = re.search(r"Overall exposure level for \S+: ([\d.]+)", security.stdout)
    assert found is not None, security.stdout[-2000:]
    assert float(found.group(1)) <= 2.0, security.stdout[-3000:]


def test_the_container_image_has_the_layout_and_the_readme_s_command(capsys) -> None:
    text = (PACKAGING / "Containerfile").read_text()
    assert re.search(r"(?m)^FROM python:3\.11-slim(-bookworm)?$", text)
    assert re.search(r"(?m)^USER credsync$", text)  # not root
    assert "CREDSYNC_HOME=/var/lib/credsync" in text
    assert 'VOLUME ["/var/lib/credsync"]' in text
    healthcheck = re.search(r"(?ms)^HEALTHCHECK .*?\n(?=\S)", text)
    assert healthcheck is not None
    assert "/healthz" in healthcheck.group(0)
    [entry] = re.findall(r"(?m)^ENTRYPOINT (.*)$", text)
    [cmd] = re.findall(r"(?m)^CMD (.*)$", text)
    command = [*json.loads(entry), *json.loads(cmd)]
    assert command[0] == "credsync"
    assert main([*command[1:], "--help"]) == 0
    capsys.readouterr()
    assert " ".join(command) in INSTALL
    assert "docker build -f packaging/Containerfile" in INSTALL
    for variable in re.findall(r"(CREDSYNC_[A-Z_]+)=", text):
        assert variable in README, variable


_MDWE = textwrap.dedent(
    """
    import ctypes, os, sys
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(65, 1, 0, 0, 0) != 0:  # PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN
        sys.exit(77)
    os.execv(sys.argv[1], sys.argv[1:])
    """
)


def _mdwe_supported() -> bool:
    libc = ctypes.CDLL(None, use_errno=True)
    return libc.prctl(66, 0, 0, 0, 0) >= 0  # PR_GET_MDWE: Linux 6.3 and later


@pytest.mark.skipif(not _mdwe_supported(), reason="the kernel has no PR_SET_MDWE (Linux < 6.3)")
def test_the_server_runs_without_writable_executable_memory(cli, tmp_path: Path) -> None:
    """What MemoryDenyWriteExecute=yes forbids, the kernel forbids here: the server starts
    (uvloop, httptools), signs an operator in (argon2-cffi), answers /readyz and /metrics."""
    wrapper = tmp_path / "mdwe.py"
    wrapper.write_text(_MDWE)
    token = tmp_path / "metrics-token"
    token.write_text("mdwe-scrape-token-0123456789\n")
    port = cli.free_port()
    env = {
        **os.environ,
        **cli.environment(),
        "CREDSYNC_METRICS_TOKEN_FILE": str(token),
        "PYTHONUNBUFFERED": "1",
    }
    args = [sys.executable, str(wrapper), sys.executable, "-m", "credsync", "serve",
            "--port", str(port), "--log-format", "json"]  # fmt: skip
    log = tmp_path / "serve.log"
    with log.open("wb") as stderr:
        proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=stderr)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                ready = httpx.get(f"{url}/readyz", timeout=10)
                if ready.status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.3)
        signed_in = httpx.post(
            f"{url}/api/v1/auth/login",
            json={"name": cli.admin, "password": cli.admin_password},
            timeout=60,
        )
        assert signed_in.status_code == 200, signed_in.text
        scraped = httpx.get(
            f"{url}/metrics", headers={"Authorization": "Bearer mdwe-scrape-token-0123456789"}
        )
        assert 'credsync_sign_ins_total{outcome="ok",who="operator"} 1.0' in scraped.text
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert proc.returncode == 0, log.read_text()[-3000:]
