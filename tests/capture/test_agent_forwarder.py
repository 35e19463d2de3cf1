"""End to end with a remote agent's credential instead of a forwarder token: the agent
registered by the real ``credsync remote-agent register`` process, a password changed in the
real Samba DC (encrypted by Samba to the vault's capture key), carried by the real
``credsync capture samba --agent-credential`` process to the real app over HTTP, and held by
the vault; the capture key read the way ``samba-setup`` reads it. Every wait polls."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from credsync.agent.capture import setup
from credsync.agent.capture.client import AgentSigner, CaptureClient
from credsync.agent.remote.credential import AgentCredential
from credsync.types import SyncMode
from credsync.vault.remote_agents import RemoteAgents

from .conftest import SRC, CaptureEnv


def _cli(env: CaptureEnv, args: list[str], extra: dict[str, str], log: Path) -> int:
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith("CREDSYNC_")},
        "PYTHONPATH": str(SRC),
        **extra,
    }
    with log.open("ab") as out:
        return subprocess.run(
            [sys.executable, "-m", "credsync", *args],
            env=environment,
            stdout=out,
            stderr=out,
            stdin=subprocess.DEVNULL,
            timeout=600,
            check=False,
        ).returncode


def _forward_once(env: CaptureEnv, credential: Path, state: Path, log: Path) -> int:
    """One pass of ``credsync capture samba`` signing with the agent's credential."""
    return _cli(
        env,
        ["capture", "samba", "--once", "--smb-conf", str(env.facts.smb_conf),
         "--state-dir", str(state), "--agent-credential", str(credential),
         "--directory", env.sw.directory],
        {},
        log,
    )  # fmt: skip


def test_a_forwarder_signing_as_the_remote_agent_carries_a_change_into_the_vault(
    capture_env: CaptureEnv, tmp_path: Path
) -> None:
    env = capture_env
    vault, admin = env.sw.vault, env.sw.admin
    user = env.sw.ad.create_user()
    cred = env.sw.add(user, mode=SyncMode.TWO_WAY)
    assert env.sw.run().state == "done"
    token = RemoteAgents(vault).enroll(admin, "dc-site", [env.sw.directory]).token.reveal()
    credential = tmp_path / "agent.json"
    log = tmp_path / "agent-forwarder.log"
    registered = _cli(
        env,
        ["remote-agent", "register", "--server", env.server.url, "--credential", str(credential)],
        {"CREDSYNC_AGENT_TOKEN": token},
        log,
    )
    assert registered == 0, log.read_text()[-3000:]
    assert credential.stat().st_mode & 0o777 == 0o600
    # samba-setup's key fetch, signed with the agent's credential
    loaded = AgentCredential.load(credential)
    client = CaptureClient(
        env.server.url, AgentSigner(loaded.agent_id, loaded.keys, env.sw.directory)
    )
    try:
        key = setup.fetch_key(client)
    finally:
        client.close()
    assert (key.fingerprint, key.public_key) == (env.fingerprint, env.public_key)
    # a change in the DC, then one pass of the forwarder with the agent's credential
    env.sw.ad.admin.reset_password(user.dn, "Agent-Forwarded-7!")
    ran = _forward_once(env, credential, tmp_path / "state", log)
    assert ran == 0, log.read_text()[-3000:]
    assert env.sw.reveal(cred) == "Agent-Forwarded-7!"
    newest = max(vault.credentials.history(admin, None, cred.id), key=lambda v: v.version)
    assert (newest.source, newest.created_by) == ("directory", "forwarder agent dc-site")
    listed = next(a for a in RemoteAgents(vault).list(admin) if a.name == "dc-site")
    assert [c["directory"] for c in listed.captures] == [env.sw.directory]
    assert listed.captures[0]["last_seq"] >= 1
    # nothing of the password in what the forwarder printed
    assert "Agent-Forwarded-7!" not in log.read_text()


def test_a_credential_others_can_read_is_refused_before_anything_runs(
    capture_env: CaptureEnv, tmp_path: Path
) -> None:
    env = capture_env
    token = RemoteAgents(env.sw.vault).enroll(env.sw.admin, "dc-loose", [env.sw.directory])
    credential = tmp_path / "agent.json"
    log = tmp_path / "loose.log"
    assert (
        _cli(
            env,
            [
                "remote-agent",
                "register",
                "--server",
                env.server.url,
                "--credential",
                str(credential),
            ],
            {"CREDSYNC_AGENT_TOKEN": token.token.reveal()},
            log,
        )
        == 0
    ), log.read_text()[-3000:]
    credential.chmod(0o644)
    state = tmp_path / "state"
    status = _forward_once(env, credential, state, log)
    assert status != 0
    assert "chmod 600" in log.read_text()
    assert not state.exists()  # refused before syncpasswords ran
