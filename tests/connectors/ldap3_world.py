"""What the test worlds of the two LDAP-speaking kinds share (AD on the Samba DC, LDAP on the
session's slapd), for the conformance suite and each kind's tests: one test's OU of a real
directory, users made and changed through that OU's admin helper."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from credsync.connectors.base import Connector
from credsync.testing.conformance import WorldUser

# A CA that did not sign the test server's certificate: Debian's bundle of public CAs.
PUBLIC_CAS = Path("/etc/ssl/certs/ca-certificates.crt")


@dataclass
class Ldap3World:
    """A ConnectorWorld on ``ou`` (a ``credsync.testing`` OU: ``create_user``, ``admin``,
    ``config``). A kind's world says which connector it opens and what a made user's id is."""

    ou: Any
    supports: frozenset[str] = frozenset({"disable", "delete", "expire", "lock_out", "reset"})
    auth_step: str = "bind"
    users: dict[str, str] = field(default_factory=dict)  # id -> dn

    def user_id(self, user: Any) -> str:
        raise NotImplementedError

    def connector(self, **config_changes: Any) -> Connector:
        raise NotImplementedError

    def create_user(self, password: str | None = None) -> WorldUser:
        user = self.ou.create_user(password=password)
        self.users[self.user_id(user)] = user.dn
        return WorldUser(id=self.user_id(user), username=user.name, password=user.password)

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

    def wrong_ca_file(self) -> Path:
        return PUBLIC_CAS

    def unreachable_url(self) -> str:
        return "ldaps://127.0.0.1:1"
