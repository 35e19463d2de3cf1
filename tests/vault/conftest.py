"""Fixtures of the vault service tests.

Most of these tests work inside one client and need no vault of their own, so each test module
shares one vault per backend (``shared_world``, built like the top-level ``world`` fixture) and
each test gets a fresh client in it through ``ctx``. Tests that look at the whole vault (client
lists, operators, the whole audit log) use the top-level ``world`` fixture instead.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from .helpers import Ctx, RoleActors, VaultWorld, make_world


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def shared_world(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    schema_templates: Any,
) -> Iterator[VaultWorld]:
    """One vault per test module and backend."""
    pg_name = None
    if request.param == "sqlite":
        url = schema_templates.sqlite(tmp_path_factory.mktemp("vault") / "vault.db")
    else:
        server = request.getfixturevalue("pg_server")
        pg_name = f"m_{uuid.uuid4().hex[:12]}"
        url = schema_templates.postgresql(server, pg_name)
    built = make_world(url)
    try:
        yield built
    finally:
        built.db.dispose()
        if pg_name is not None:
            request.getfixturevalue("pg_server").drop_database(pg_name)


@pytest.fixture(scope="module")
def role_actors(shared_world: VaultWorld) -> RoleActors:
    """Signed-in operators of each role in the shared vault, made on first use."""
    return RoleActors(shared_world)


@pytest.fixture
def ctx(shared_world: VaultWorld, role_actors: RoleActors) -> Ctx:
    """The shared vault with a fresh, empty client of its own."""
    return Ctx.new(shared_world, role_actors)
