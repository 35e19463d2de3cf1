"""Cached directory accounts carry their username and UPN case-folded (indexed), so that an
incremental run reads only the accounts its credentials can touch.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_BATCH = 1000


def upgrade() -> None:
    with op.batch_alter_table("directory_accounts") as batch:
        batch.add_column(sa.Column("username_key", sa.String(512)))
        batch.add_column(sa.Column("upn_key", sa.String(512)))
    # Existing rows: the keys are Python's casefold (SQL lower() folds only ASCII on SQLite).
    conn = op.get_bind()
    table = sa.table(
        "directory_accounts",
        sa.column("directory_id", sa.String),
        sa.column("account_id", sa.String),
        sa.column("username", sa.String),
        sa.column("upn", sa.String),
        sa.column("username_key", sa.String),
        sa.column("upn_key", sa.String),
    )
    rows = conn.execute(
        sa.select(table.c.directory_id, table.c.account_id, table.c.username, table.c.upn)
    ).all()
    update = (
        table.update()
        .where(
            table.c.directory_id == sa.bindparam("d"),
            table.c.account_id == sa.bindparam("a"),
        )
        .values(username_key=sa.bindparam("uk"), upn_key=sa.bindparam("pk"))
    )
    for start in range(0, len(rows), _BATCH):
        conn.execute(
            update,
            [
                {
                    "d": r.directory_id,
                    "a": r.account_id,
                    "uk": r.username.casefold(),
                    "pk": r.upn.casefold() if r.upn else None,
                }
                for r in rows[start : start + _BATCH]
            ],
        )
    op.create_index(
        "ix_directory_accounts_username_key", "directory_accounts", ["directory_id", "username_key"]
    )
    op.create_index(
        "ix_directory_accounts_upn_key", "directory_accounts", ["directory_id", "upn_key"]
    )


def downgrade() -> None:
    op.drop_index("ix_directory_accounts_upn_key", "directory_accounts")
    op.drop_index("ix_directory_accounts_username_key", "directory_accounts")
    with op.batch_alter_table("directory_accounts") as batch:
        batch.drop_column("upn_key")
        batch.drop_column("username_key")
