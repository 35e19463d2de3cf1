"""The connector conformance suite against the real Samba AD DC (an OU per test)."""

from __future__ import annotations

import pytest

from credsync.testing.conformance import ConnectorConformance
from credsync.testing.samba import OuWorld

from .world import AdWorld

pytestmark = pytest.mark.samba


class TestActiveDirectoryConformance(ConnectorConformance):
    @pytest.fixture
    def conn_world(self, ad_ou: OuWorld) -> AdWorld:
        return AdWorld(ad_ou)

    def policy_words(self) -> str:
        return "0000052D: Constraint violation"
