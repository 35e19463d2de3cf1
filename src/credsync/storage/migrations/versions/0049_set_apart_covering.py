"""The few credentials the overview's counts take off (in the trash, directory_admin ones)
read from their partial index alone (issue 20: the overview on PostgreSQL with 500 clients):
``ix_credentials_set_apart`` held only the ids, so each of the overview's ~6 statements that
look them up fetched every one of those rows to test ``deleted_at`` (1,925 rows, 1,613 pages,
8-17 ms a statement on the benchmark's vault under load); now the index carries
``deleted_at``, ``type``, ``client_id`` and ``password_changed_at`` too, so they are an
index-only scan. The index stays partial (the same condition), so it stays small and can't
draw other searches away from the credentials' other indexes.

The downgrade puts back the index of the ids alone.

Revision ID: 0049
Revises: 0048
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0049"
down_revision = "0048"
branch_labels = None
depends_on = None

SET_APART = "(deleted_at IS NOT NULL OR type = 'directory_admin')"  # as in storage.tables
_NAME = "ix_credentials_set_apart"
_COLUMNS = ["id", "deleted_at", "type", "client_id", "password_changed_at"]


def _create(columns: list[str]) -> None:
    op.create_index(
        _NAME,
        "credentials",
        columns,
        sqlite_where=sa.text(SET_APART),
        postgresql_where=sa.text(SET_APART),
    )


def upgrade() -> None:
    op.drop_index(_NAME, "credentials")
    _create(_COLUMNS)


def downgrade() -> None:
    op.drop_index(_NAME, "credentials")
    _create(["id"])
