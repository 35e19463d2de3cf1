"""A pytest fixture factory, so any test package can start a simulator of its own:

# conftest.py
from credsync.testing.graphsim import simulator_fixture

graph_sim = simulator_fixture(scope="session", seed=1)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Literal

from ._simulator import GraphSimulator

__all__ = ["simulator_fixture"]


def simulator_fixture(
    *,
    scope: Literal["session", "package", "module", "class", "function"] = "session",
    seed: int = 1,
    port: int = 0,
    name: str | None = None,
) -> Callable[..., Any]:
    """A pytest fixture that yields a started :class:`GraphSimulator` and stops it after."""
    import pytest  # only tests use this

    def _simulator() -> Iterator[GraphSimulator]:
        with GraphSimulator(port=port, seed=seed) as sim:
            yield sim

    fixture: Callable[..., Any] = pytest.fixture(scope=scope, name=name)(_simulator)
    return fixture
