"""What the dashboard's pages over a Microsoft 365 directory share in their tests: the Entra
world of tests/sync (a client whose directory is a tenant of the Graph simulator) over the
web tests' vault, and the ids the pages' addresses and forms take."""

from __future__ import annotations

from typing import Any

import pytest

from sync.conftest import graph_sim
from sync.entra import EntraWorld, build_entra_world

from .conftest import WebWorld

# graph_sim: shared with tests/sync
__all__ = ["client_id", "directory_id", "ew", "graph_sim", "usernames"]


@pytest.fixture
def ew(web: WebWorld, graph_sim: Any) -> EntraWorld:
    """A client whose Entra directory is a tenant of the simulator, in the dashboard's vault."""
    return build_entra_world(web.world, graph_sim)


def client_id(ew: EntraWorld) -> str:
    return str(ew.vault.clients.get(ew.admin, ew.client).id)


def directory_id(ew: EntraWorld) -> str:
    return str(ew.vault.directories.get(ew.admin, ew.directory).id)


def usernames(ew: EntraWorld) -> list[str]:
    """The usernames of the client's people (out of the trash), sorted."""
    listed, _ = ew.vault.people.list(ew.admin, client_id(ew))
    return sorted(p.row.username for p in listed)
