"""Fixtures of the chaos tests: a vault (a SQLite file, so that agent processes can share it)
with a client whose directory is this test's own OU of the shared Samba DC, or a tenant of a
Graph simulator of the test's own; and ``credsync agent`` processes on that vault."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agent_procs import Agents
from credsync.testing.samba import OuWorld
from sync.entra import EntraWorld, build_entra_world
from sync.helpers import SyncWorld, build_sync_world
from vault.helpers import VaultWorld


@pytest.fixture
def adw(sqlite_world: VaultWorld, ad_ou: OuWorld) -> SyncWorld:
    return build_sync_world(sqlite_world, ad_ou)


@pytest.fixture
def chaos_sim() -> Iterator[Any]:
    """A Graph simulator of this test's own (a server thread in the test's process: the
    agent under test is another process)."""
    from credsync.testing.graphsim import GraphSimulator

    with GraphSimulator(port=0, seed=18) as sim:
        yield sim


@pytest.fixture
def ew(sqlite_world: VaultWorld, chaos_sim: Any) -> EntraWorld:
    return build_entra_world(sqlite_world, chaos_sim)


@pytest.fixture
def agents(sqlite_world: VaultWorld, tmp_path: Path) -> Iterator[Agents]:
    started = Agents(sqlite_world.url, tmp_path / "agent-home")
    try:
        yield started
    finally:
        started.close()
