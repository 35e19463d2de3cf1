"""The LDAP connector's test world on the session's slapd, for the conformance suite and the
LDAP tests (what it shares with the AD world: :mod:`..ldap3_world`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from credsync.connectors.ldap import LdapConnector
from credsync.testing.slapd import LdapOu
from credsync.testing.slapd_admin import LdapUser

from ..ldap3_world import Ldap3World


@dataclass
class LdapWorld(Ldap3World):
    ou: LdapOu

    def user_id(self, user: LdapUser) -> str:
        return user.uuid

    def connector(self, **config_changes: Any) -> LdapConnector:
        return LdapConnector(self.ou.config(**config_changes))
