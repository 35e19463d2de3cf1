"""One Graph simulator for the session (a fresh tenant per test is cheap)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from credsync.testing.graphsim import GraphSimulator

from .world import GraphWorld


@pytest.fixture(scope="session")
def graph_sim() -> Iterator[GraphSimulator]:
    with GraphSimulator(port=0, seed=7) as sim:
        yield sim


@pytest.fixture
def gw(graph_sim: GraphSimulator) -> GraphWorld:
    """A world on a new, empty tenant of the session's simulator."""
    return GraphWorld(graph_sim, graph_sim.add_tenant(users=0, groups=0))
