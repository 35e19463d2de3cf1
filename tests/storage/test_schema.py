"""The migrations build exactly the schema the code declares, on both backends."""

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from credsync.errors import ConfigError, NotFound, SchemaOutOfDate, StorageError
from credsync.storage import Database
from credsync.storage.database import SCHEMA_REVISION
from credsync.storage.tables import metadata


def test_migrations_match_the_declared_tables(db_url: str) -> None:
    db = Database(db_url)
    try:
        assert db.schema_revision() is None
        db.upgrade()
        assert db.schema_revision() == SCHEMA_REVISION
        with db.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = compare_metadata(context, metadata)
        assert diff == []
    finally:
        db.dispose()


def test_upgrade_is_idempotent(db_url: str) -> None:
    db = Database(db_url)
    try:
        db.upgrade()
        db.upgrade()
        assert db.schema_revision() == SCHEMA_REVISION
    finally:
        db.dispose()


def test_require_schema_explains_what_to_do(db_url: str) -> None:
    db = Database(db_url)
    try:
        with pytest.raises(NotFound, match="credsync init"):
            db.require_schema()
        db.upgrade()
        db.require_schema()
        with db.engine.begin() as conn:
            conn.execute(sa.text("UPDATE alembic_version SET version_num = '0000'"))
        with pytest.raises(SchemaOutOfDate, match="credsync db upgrade"):
            db.require_schema()
    finally:
        db.dispose()


def test_unsupported_and_malformed_urls_are_clear_errors() -> None:
    with pytest.raises(ConfigError, match="unsupported database"):
        Database("mysql://root@127.0.0.1/x")
    with pytest.raises(ConfigError, match="not a database URL"):
        Database("::not a url::")


def test_unreachable_postgres_is_a_storage_error_without_password() -> None:
    db = Database("postgresql://credsync:sup3r-secret@127.0.0.1:1/none")
    try:
        with pytest.raises(StorageError) as caught:
            db.schema_revision()
        assert "sup3r-secret" not in str(caught.value)
        assert "127.0.0.1" in str(caught.value)
    finally:
        db.dispose()


def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'v.db'}")
    try:
        assert db.schema_revision() is None
        assert not (tmp_path / "v.db").exists()  # looking does not create the file
        db.upgrade()
        with db.read() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert oct((tmp_path / "v.db").stat().st_mode & 0o777) == "0o600"
    finally:
        db.dispose()
