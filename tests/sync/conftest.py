"""Fixtures of the sync tests: a vault (SQLite unless a test asks for both backends) with a
client whose directory is this test's own OU of the real Samba AD DC, or a tenant of the
Graph simulator."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from credsync.testing.samba import OuWorld
from credsync.testing.slapd import LdapOu
from vault.helpers import VaultWorld

from .entra import EntraWorld, build_entra_world
from .helpers import SyncWorld, build_ldap_sync_world, build_sync_world


@pytest.fixture
def sw(sqlite_world: VaultWorld, ad_ou: OuWorld) -> SyncWorld:
    return build_sync_world(sqlite_world, ad_ou)


@pytest.fixture
def sw_both(world: VaultWorld, ad_ou: OuWorld) -> SyncWorld:
    """The same on SQLite and on PostgreSQL."""
    return build_sync_world(world, ad_ou)


@pytest.fixture
def lw(sqlite_world: VaultWorld, ldap_ou: LdapOu) -> SyncWorld:
    """A client whose directory is this test's own OU of the session's slapd (kind ldap)."""
    return build_ldap_sync_world(sqlite_world, ldap_ou)


@pytest.fixture
def lw_both(world: VaultWorld, ldap_ou: LdapOu) -> SyncWorld:
    """The same on SQLite and on PostgreSQL."""
    return build_ldap_sync_world(world, ldap_ou)


@pytest.fixture
def graph_sim() -> Iterator[Any]:
    """A Graph simulator of this test's own (tests move its clock)."""
    from credsync.testing.graphsim import GraphSimulator

    with GraphSimulator(port=0, seed=11) as sim:
        yield sim


@pytest.fixture
def ew(sqlite_world: VaultWorld, graph_sim: Any) -> EntraWorld:
    return build_entra_world(sqlite_world, graph_sim)


@pytest.fixture
def ew_both(world: VaultWorld, graph_sim: Any) -> EntraWorld:
    """The same on SQLite and on PostgreSQL."""
    return build_entra_world(world, graph_sim)
