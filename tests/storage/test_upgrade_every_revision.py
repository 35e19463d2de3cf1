"""``credsync db upgrade`` from every earlier schema revision, on SQLite and PostgreSQL.

One vault per backend gets rows in every kind of table (tests/vault/backup_world.py) at the
newest revision; it is then migrated down one revision at a time, a copy kept at each (a file
copy; PostgreSQL's ``CREATE DATABASE ... TEMPLATE``). Each test takes the copy at one revision,
upgrades it to the newest and checks that (1) the schema equals the one the code declares
(Alembic's autogenerate comparison, types included: what a fresh database gets, see
test_schema.py), (2) every row of every table the old revision had is still there, its
columns of that revision unchanged, and (3) the vault opens with its passphrase, every version
of every secret opens to what it was, and the audit chain verifies."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.runtime.environment import EnvironmentContext

from credsync.storage import Database
from credsync.storage.database import SCHEMA_REVISION
from credsync.storage.migrate import _scripts, alembic_config, revisions
from credsync.storage.tables import metadata
from credsync.vault import Vault
from credsync.vault.auth import SYSTEM
from vault.backup_world import secrets_of, seed, tables
from vault.helpers import make_world

EARLIER = revisions()[:-1]
# Tables a revision rebuilds from other tables' rows (their rows are the same words, made
# anew with the newer rules: revision 0013 folds the search words), and the kept counts
# (revisions 0048, 0049: rows of +n/-n that triggers keep, left out of backups and of the
# seeded world's tables; their sums are tested against plain counts in their own tests).
DERIVED = {"search_terms", "link_counts", "credential_counts"}


@dataclass
class Ladder:
    """A copy of the seeded vault at each earlier revision, and what it held at the newest."""

    kind: str
    copies: dict[str, str]  # revision -> a URL or file path of the copy at it
    rows: dict[str, list[list[Any]]]
    columns: dict[str, list[str]]
    secrets: dict[str, dict[int, str]]
    server: Any = None

    def database_at(self, revision: str, tmp_path: Path) -> Database:
        copy = self.copies[revision]
        if self.kind == "sqlite":
            path = tmp_path / "vault.db"
            shutil.copy(copy, path)
            return Database(f"sqlite:///{path}")
        return Database(self.server.create_database(f"u_{uuid.uuid4().hex[:12]}", template=copy))


def _downgrade(conn: sa.Connection, revision: str) -> None:
    """``alembic downgrade revision``, with the scripts read once (see storage.migrate)."""
    script = _scripts()

    def steps(current: Any, _context: Any) -> Any:
        return script._downgrade_revs(revision, current)

    with EnvironmentContext(
        alembic_config(conn), script, fn=steps, starting_rev=None, destination_rev=revision
    ):
        script.run_env()


def _columns(db: Database) -> dict[str, list[str]]:
    with db.engine.connect() as conn:
        inspector = sa.inspect(conn)
        return {
            t: [c["name"] for c in inspector.get_columns(t)]
            for t in inspector.get_table_names()
            if t != "alembic_version"
        }


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def ladder(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, schema_templates: Any
) -> Iterator[Ladder]:
    kind = request.param
    root = tmp_path_factory.mktemp("ladder")
    server = request.getfixturevalue("pg_server") if kind == "postgresql" else None
    made: list[str] = []
    if kind == "sqlite":
        url = schema_templates.sqlite(root / "head.db")
    else:
        name = f"l_{uuid.uuid4().hex[:12]}"
        made.append(name)
        url = schema_templates.postgresql(server, name)
    world = make_world(url)
    seed(world)
    secrets = secrets_of(world.db)  # (its reveals are audited: before the rows are read)
    found = Ladder(kind, {}, tables(world.db), _columns(world.db), secrets, server)
    db = world.db
    db.dispose()
    # SQLite's batch migrations copy tables that others refer to: downgrades run with the
    # foreign keys unchecked, as Alembic advises (the product's connections check them)
    engine = sa.create_engine(db.url) if kind == "sqlite" else db.engine
    try:
        for revision in reversed(EARLIER):
            with engine.begin() as conn:
                _downgrade(conn, revision)
            engine.dispose()
            if kind == "sqlite":
                copy = root / f"{revision}.db"
                shutil.copy(db.sqlite_path or "", copy)
                found.copies[revision] = str(copy)
            else:
                name = f"r{revision}_{uuid.uuid4().hex[:8]}"
                server.create_database(name, template=made[0])
                made.append(name)
                found.copies[revision] = name
        yield found
    finally:
        engine.dispose()
        db.dispose()
        for name in made:
            server.drop_database(name)


@pytest.mark.parametrize("revision", EARLIER)
def test_upgrade_from(ladder: Ladder, revision: str, tmp_path: Path) -> None:
    db = ladder.database_at(revision, tmp_path)
    try:
        assert db.schema_revision() == revision
        old_columns = _columns(db)
        db.upgrade()
        assert db.schema_revision() == SCHEMA_REVISION
        with db.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            assert compare_metadata(context, metadata) == []
        now = tables(db)
        new_columns = _columns(db)
        for table, columns in old_columns.items():
            if table in DERIVED:
                continue
            assert len(now[table]) == len(ladder.rows[table]) or not ladder.rows[table], table
            kept = [i for i, c in enumerate(ladder.columns[table]) if c in columns]
            at_head = [i for i, c in enumerate(new_columns[table]) if c in columns]
            before = sorted(repr([row[i] for i in kept]) for row in ladder.rows[table])
            after = sorted(repr([row[i] for i in at_head]) for row in now[table])
            assert after == before, table
        assert Vault.open(db).audit.verify(SYSTEM).ok
        secrets = secrets_of(db)
        assert secrets == {k: v for k, v in ladder.secrets.items() if k in secrets}
        assert len(secrets) >= 1
    finally:
        db.dispose()
