"""The LDAP connector's test world on the session's slapd, for the conformance suite and the
LDAP tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from credsync.connectors.ldap import LdapConnector
from credsync.testing.conformance import WorldUser
from credsync.testing.slapd import LdapOu

# A CA that did not sign the test server's certificate: Debian's bundle of public CAs.
PUBLIC_CAS = Path("/etc/ssl/certs/ca-certificates.crt")


@dataclass
class LdapWorld:
    ou: LdapOu
    supports: frozenset[str] = frozenset({"disable", "delete", "expire", "lock_out", "reset"})
    auth_step: str = "bind"
    users: dict[str, str] = field(default_factory=dict)  # id -> dn

    def create_user(self, password: str | None = None) -> WorldUser:
        user = self.ou.create_user(password=password)
        self.users[user.uuid] = user.dn
        return WorldUser(id=user.uuid, username=user.name, password=user.password)

    def reset_password(self, user: WorldUser, password: str) -> None:
        self.ou.admin.reset_password(self.users[user.id], password)

    def disable(self, user: WorldUser) -> None:
        self.ou.admin.disable(self.users[user.id])

    def delete(self, user: WorldUser) -> None:
        self.ou.admin.delete(self.users[user.id])

    def expire(self, user: WorldUser) -> None:
        self.ou.admin.expire_password(self.users[user.id])

    def lock_out(self, user: WorldUser) -> None:
        self.ou.admin.lock_out(self.users[user.id])

    def connector(self, **config_changes: Any) -> LdapConnector:
        return LdapConnector(self.ou.config(**config_changes))

    def wrong_ca_file(self) -> Path:
        return PUBLIC_CAS

    def unreachable_url(self) -> str:
        return "ldaps://127.0.0.1:1"
