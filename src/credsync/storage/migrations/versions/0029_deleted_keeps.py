"""The deleted-objects check's keep decisions (issue 16, "Check deleted objects"):
``deleted_keeps`` (a directory object an operator chose to keep deleted or disabled, with the
state it was kept in).

Revision ID: 0029
Revises: 0027
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0029"
down_revision = "0027"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "deleted_keeps",
        sa.Column("directory_id", sa.String(36), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("object_id", sa.String(64), nullable=False),
        sa.Column("stamp", sa.String(80), nullable=False),
        sa.Column("kept_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kept_by", sa.String(64), nullable=False),
        sa.ForeignKeyConstraint(
            ["directory_id"],
            ["directories.id"],
            name="fk_deleted_keeps_directory_id_directories",
        ),
        sa.PrimaryKeyConstraint("directory_id", "kind", "object_id", name="pk_deleted_keeps"),
    )


def downgrade() -> None:
    op.drop_table("deleted_keeps")
