"""Storage: SQLAlchemy 2 Core tables, Alembic migrations, SQLite (WAL) and PostgreSQL."""

from credsync.storage.database import Database

__all__ = ["Database"]
