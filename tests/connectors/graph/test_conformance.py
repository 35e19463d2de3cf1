"""The connector conformance suite against the Graph simulator (a tenant per test)."""

from __future__ import annotations

import pytest

from credsync.testing.conformance import ConnectorConformance

from .world import GraphWorld


class TestGraphConformance(ConnectorConformance):
    @pytest.fixture
    def conn_world(self, gw: GraphWorld) -> GraphWorld:
        return gw

    def policy_words(self) -> str:
        return "does not comply with password complexity requirements"
