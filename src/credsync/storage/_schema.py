"""What every table of the schema shares: the metadata (with its naming convention) and the
column types. The tables themselves are :mod:`credsync.storage.tables`."""

from __future__ import annotations

from sqlalchemy import DateTime, MetaData, String

__all__ = ["ID", "NAMING", "SET_APART", "TERM", "TS", "metadata"]

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata = MetaData(naming_convention=NAMING)

TS = DateTime(timezone=True)
# credentials set apart from some lists (the condition of ix_credentials_set_apart)
SET_APART = "(deleted_at IS NOT NULL OR type = 'directory_admin')"
ID = String(36)
# Binary collation on PostgreSQL so that prefix ranges (term >= "ab" AND term < "ac") hold.
TERM = String(128).with_variant(String(128, collation="C"), "postgresql")
