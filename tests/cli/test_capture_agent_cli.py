"""``capture samba`` / ``samba-setup`` with a remote agent's credential: the options are
checked before anything runs (a credential others can read, one without ``--directory``, a
token as well); and ``serve --expect-remote-agent`` refuses a name that is no agent. The
end-to-end runs on the real DC are tests/capture/test_agent_forwarder.py's."""

from __future__ import annotations

from pathlib import Path

from credsync.agent.remote.credential import AgentCredential
from credsync.crypto.agent_keys import AgentKeys


def _credential(tmp_path: Path, mode: int = 0o600) -> Path:
    path = tmp_path / "agent.json"
    AgentCredential(
        "https://vault.example.test", "6f1d0c3e-2b7a-4c55-9a41-6a4a5a1d7c11", "site-a",
        AgentKeys.generate(),
    ).save(path)  # fmt: skip
    path.chmod(mode)
    return path


def _smb_conf(tmp_path: Path) -> Path:
    conf = tmp_path / "smb.conf"
    conf.write_text("[global]\n\tworkgroup = X\n")
    return conf


def test_the_agent_credential_needs_its_directory_and_no_token(empty_cli, tmp_path) -> None:
    credential, conf = _credential(tmp_path), _smb_conf(tmp_path)
    state = tmp_path / "state"
    for command in ("samba", "samba-setup"):
        extra = ["--state-dir", str(state)] if command == "samba" else []
        args = ["capture", command, "--smb-conf", str(conf), *extra]
        missing = empty_cli.run(*args, "--agent-credential", str(credential), only=True)
        assert missing.code == 2, missing
        assert "--agent-credential needs --directory" in missing.error
        both = empty_cli.run(
            *args, "--agent-credential", str(credential), "--directory", "contoso-ad",
            env={"CREDSYNC_CAPTURE_TOKEN": "csf1.x.y"}, only=True,
        )  # fmt: skip
        assert both.code == 2, both
        assert "not both" in both.error
        alone = empty_cli.run(*args, "--server", "https://v.test", "--directory", "d", only=True)
        assert alone.code == 2, alone
        assert "--directory goes with --agent-credential" in alone.error
    assert not state.exists()


def test_a_credential_others_can_read_is_refused(empty_cli, tmp_path) -> None:
    credential, conf = _credential(tmp_path, 0o644), _smb_conf(tmp_path)
    state = tmp_path / "state"
    result = empty_cli.run(
        "capture", "samba", "--smb-conf", str(conf), "--state-dir", str(state),
        "--agent-credential", str(credential), "--directory", "contoso-ad", only=True,
    )  # fmt: skip
    assert result.code != 0, result
    assert "chmod 600" in result.error
    assert "sign_key" not in result.error + result.out
    assert not state.exists()
    gone = empty_cli.run(
        "capture", "samba-setup", "--smb-conf", str(conf),
        "--agent-credential", str(tmp_path / "nope.json"), "--directory", "contoso-ad", only=True,
    )  # fmt: skip
    assert gone.code != 0, gone
    assert "cannot read the agent credential" in gone.error


def test_serve_refuses_an_expected_remote_agent_that_does_not_exist(cli) -> None:
    cli.use_session()
    result = cli.run("serve", "--port", "0", "--expect-remote-agent", "no-such-agent")
    assert result.code == 2, result
    assert "--expect-remote-agent no-such-agent" in result.error
