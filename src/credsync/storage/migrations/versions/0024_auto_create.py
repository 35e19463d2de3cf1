"""Auto-create credentials from directory users: ``auto_create_settings`` (a directory's
settings, as JSON) and ``auto_created`` (the accounts auto-create made a credential for, keyed
by (directory, account id): a second event for the same account never makes a second one).

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "auto_create_settings",
        sa.Column("directory_id", sa.String(36), nullable=False),
        sa.Column("settings", sa.Text, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.Column("updated_by", sa.String(64), nullable=False),
        sa.ForeignKeyConstraint(
            ["directory_id"],
            ["directories.id"],
            name="fk_auto_create_settings_directory_id_directories",
        ),
        sa.PrimaryKeyConstraint("directory_id", name="pk_auto_create_settings"),
    )
    op.create_table(
        "auto_created",
        sa.Column("directory_id", sa.String(36), nullable=False),
        sa.Column("account_id", sa.String(64), nullable=False),
        sa.Column("credential_id", sa.String(36), nullable=False),
        sa.Column("trigger", sa.String(16), nullable=False),
        sa.Column("shell_version", sa.Integer),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.ForeignKeyConstraint(
            ["directory_id"], ["directories.id"], name="fk_auto_created_directory_id_directories"
        ),
        sa.PrimaryKeyConstraint("directory_id", "account_id", name="pk_auto_created"),
    )
    op.create_index("ix_auto_created_credential", "auto_created", ["credential_id"])


def downgrade() -> None:
    op.drop_index("ix_auto_created_credential", "auto_created")
    op.drop_table("auto_created")
    op.drop_table("auto_create_settings")
