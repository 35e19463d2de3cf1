"""The remote agent's side without a server: its wire format round-trips what the engine
uses, failures cross as the connector's error class without anything else, only HTTPS
servers are accepted (plain http to this host only), and its credential file is its owner's
alone."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from credsync.agent.remote.client import AgentClient
from credsync.agent.remote.credential import AgentCredential
from credsync.agent.remote.wire import (
    account_from_json,
    account_to_json,
    error_from_json,
    error_to_json,
)
from credsync.connectors.base import Account
from credsync.crypto.agent_keys import AgentKeys
from credsync.errors import (
    ConfigError,
    DirectoryUnreachable,
    PermanentConnectorError,
    PolicyRejected,
)


def test_an_account_round_trips() -> None:
    account = Account(
        "guid-1", "anna", upn="anna@x.test", dn="CN=Anna,DC=x", password_stamp="133",
        password_changed_at=dt.datetime(2026, 12, 7, 5, 0, tzinfo=dt.UTC), protected=True,
    )  # fmt: skip
    assert account_from_json(account_to_json(account)) == account


def test_failures_cross_as_their_class_and_nothing_else() -> None:
    refused = error_from_json(error_to_json(PolicyRejected("too short")))
    assert isinstance(refused, PolicyRejected)
    assert "too short" in str(refused)
    away = error_from_json(error_to_json(DirectoryUnreachable("timed out", retry_after=5)))
    assert isinstance(away, DirectoryUnreachable)
    assert away.retry_after == 5
    # Anything that is not a connector's error says only its type (its text may hold anything).
    other = error_to_json(ValueError("Secret-Passw0rd! in a message"))
    assert other == {"type": "PermanentConnectorError", "message": "the agent failed: ValueError"}
    # A class the server does not know is a permanent failure, never something else.
    assert type(error_from_json({"type": "SystemExit", "message": "x"})) is PermanentConnectorError


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://vault.example.com", True),
        ("http://127.0.0.1:8400", True),
        ("http://vault.example.com", False),
        ("ftp://vault.example.com", False),
    ],
)
def test_only_https_servers(url: str, ok: bool) -> None:
    if ok:
        AgentClient(url, "a1", AgentKeys.generate())
    else:
        with pytest.raises(ConfigError, match="https://"):
            AgentClient(url, "a1", AgentKeys.generate())


def test_the_credential_file_is_its_owners_alone(tmp_path: Path) -> None:
    path = tmp_path / "agent.json"
    keys = AgentKeys.generate()
    AgentCredential("https://vault.example.com", "a1", "site-a", keys).save(path)
    assert path.stat().st_mode & 0o777 == 0o600
    loaded = AgentCredential.load(path)
    assert loaded.keys.box_public == keys.box_public
    assert "sign_key" not in repr(loaded)
    path.chmod(0o644)
    with pytest.raises(ConfigError, match="owner only"):
        AgentCredential.load(path)
