"""Quarantine and automatic restore (issue 18): ``quarantine_items`` (actions a run held back
because its plan, or the directory's changes, crossed a threshold; each held until an
operator approves, discards, restores or accepts it).

Revision ID: 0037
Revises: 0036
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0037"
down_revision = "0036"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "quarantine_items",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("client_id", sa.String(36), nullable=False),
        sa.Column("directory_id", sa.String(36), nullable=False),
        sa.Column("run_id", sa.String(36), nullable=False),
        sa.Column("direction", sa.String(8), nullable=False),
        sa.Column("credential_id", sa.String(36)),
        sa.Column("account_id", sa.String(64), nullable=False),
        sa.Column("account_name", sa.String(255), nullable=False),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("observed", sa.String(80), nullable=False),
        sa.Column("reason", sa.String(1000), nullable=False),
        sa.Column("state", sa.String(12), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("decided_at", _TS),
        sa.Column("decided_by", sa.String(64)),
        sa.Column("decided_run_id", sa.String(36)),
        sa.Column("outcome", sa.String(1000)),
        sa.ForeignKeyConstraint(
            ["directory_id"],
            ["directories.id"],
            name="fk_quarantine_items_directory_id_directories",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_quarantine_items"),
    )
    op.create_index(
        "ix_quarantine_items_directory_id_state", "quarantine_items", ["directory_id", "state"]
    )


def downgrade() -> None:
    op.drop_index("ix_quarantine_items_directory_id_state", table_name="quarantine_items")
    op.drop_table("quarantine_items")
