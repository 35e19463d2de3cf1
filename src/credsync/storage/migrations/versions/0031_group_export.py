"""The group export to Office 365 (issue 16): ``group_export_settings``, one row per
directory (matching rule, create missing groups, remove duplicates, membership's source of
truth).

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0031"
down_revision = "0030"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)
_ID = sa.String(36)


def upgrade() -> None:
    op.create_table(
        "group_export_settings",
        sa.Column("directory_id", _ID, nullable=False),
        sa.Column("client_id", _ID, nullable=False),
        sa.Column("matching", sa.String(16), nullable=False),
        sa.Column("create_missing", sa.Boolean, nullable=False),
        sa.Column("remove_duplicates", sa.Boolean, nullable=False),
        sa.Column("membership_source", sa.String(16), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.Column("updated_by", sa.String(64), nullable=False),
        sa.ForeignKeyConstraint(
            ["directory_id"],
            ["directories.id"],
            name="fk_group_export_settings_directory_id_directories",
        ),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.id"], name="fk_group_export_settings_client_id_clients"
        ),
        sa.PrimaryKeyConstraint("directory_id", name="pk_group_export_settings"),
    )
    op.create_index("ix_group_export_settings_client_id", "group_export_settings", ["client_id"])


def downgrade() -> None:
    op.drop_index("ix_group_export_settings_client_id", "group_export_settings")
    op.drop_table("group_export_settings")
