"""The local-accounts connector's test world on the session's Samba standalone server, for the
conformance suite and the connector's own tests."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from credsync.connectors.local_accounts import LocalAccountsConnector
from credsync.testing.conformance import WorldUser
from credsync.testing.samba_standalone import LocalMachine, LocalUser


@dataclass
class LocalWorld:
    machine: LocalMachine
    supports: frozenset[str] = frozenset({"disable", "delete", "expire", "lock_out", "reset"})
    auth_step: str = "ntlm"

    def __post_init__(self) -> None:
        self.users: dict[str, LocalUser] = {}

    def create_user(self, password: str | None = None) -> WorldUser:
        user = self.machine.admin.create_user(password)
        self.users[user.sid] = user
        return WorldUser(user.sid, user.name, user.password)

    def reset_password(self, user: WorldUser, password: str) -> None:
        self.machine.admin.reset_password(user.username, password)

    def disable(self, user: WorldUser) -> None:
        self.machine.admin.disable(user.username)

    def delete(self, user: WorldUser) -> None:
        self.machine.admin.delete(user.username)

    def expire(self, user: WorldUser) -> None:
        self.machine.admin.expire(user.username)

    def lock_out(self, user: WorldUser) -> None:
        """Real failed logins up to the machine's threshold."""
        self.machine.admin.fail_logins(user.username, self.machine.facts.lockout_threshold)

    def connector(self, **config_changes: Any) -> LocalAccountsConnector:
        return LocalAccountsConnector(self.machine.config(**config_changes))

    def wrong_ca_file(self) -> Any:
        raise NotImplementedError("SMB has no TLS certificate to distrust")

    def unreachable_url(self) -> str:
        return "smb://127.0.0.1:9"
