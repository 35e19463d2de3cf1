"""The connector conformance suite against a real OpenLDAP server (an OU per test)."""

from __future__ import annotations

import pytest

from credsync.testing.conformance import ConnectorConformance
from credsync.testing.slapd import LdapOu

from .world import LdapWorld

pytestmark = pytest.mark.slapd


class TestLdapConformance(ConnectorConformance):
    @pytest.fixture
    def conn_world(self, ldap_ou: LdapOu) -> LdapWorld:
        return LdapWorld(ldap_ou)

    def policy_words(self) -> str:
        return "constraintViolation: Password fails quality checking policy"
