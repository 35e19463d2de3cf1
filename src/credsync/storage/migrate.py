"""Alembic, driven from code: no alembic.ini is needed at run time.

The migration scripts are read once per process (:func:`_scripts`): Alembic's own commands
read every revision's file again on each call, about as long as a whole upgrade of an empty
database takes."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from alembic.config import Config
from alembic.runtime.environment import EnvironmentContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

__all__ = ["alembic_config", "revisions", "upgrade_to", "upgrade_to_head"]

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(conn: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if conn is not None:
        cfg.attributes["connection"] = conn
    return cfg


@functools.cache
def _scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config())


def upgrade_to(conn: Connection, revision: str) -> None:
    """Migrate the database of ``conn`` up to ``revision`` (as ``alembic upgrade``)."""
    script = _scripts()

    def steps(current: Any, _context: Any) -> Any:
        return script._upgrade_revs(revision, current)

    with EnvironmentContext(
        alembic_config(conn), script, fn=steps, starting_rev=None, destination_rev=revision
    ):
        script.run_env()


def upgrade_to_head(conn: Connection) -> None:
    upgrade_to(conn, "head")


def revisions() -> list[str]:
    """Every schema revision this credsync knows, oldest first."""
    return [r.revision for r in reversed(list(_scripts().walk_revisions()))]
