"""The AD connector's test world on the Samba DC, for the conformance suite and the AD tests
(what it shares with the LDAP world: :mod:`..ldap3_world`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from credsync.connectors.ad import ActiveDirectoryConnector
from credsync.testing.samba import OuWorld, TestUser

from ..ldap3_world import Ldap3World


@dataclass
class AdWorld(Ldap3World):
    ou: OuWorld

    def user_id(self, user: TestUser) -> str:
        return user.guid

    def connector(self, **config_changes: Any) -> ActiveDirectoryConnector:
        return ActiveDirectoryConnector(self.ou.config(**config_changes))
