"""Vault-wide quarantine thresholds: ``quarantine_defaults`` (one row per threshold an admin
set for every directory that sets none of its own: push_cap, push_cap_percent, inbound_cap,
inbound_cap_percent).

Revision ID: 0040
Revises: 0039
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0040"
down_revision = "0039"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "quarantine_defaults",
        sa.Column("name", sa.String(40), nullable=False),
        sa.Column("value", sa.Integer, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_quarantine_defaults"),
    )


def downgrade() -> None:
    op.drop_table("quarantine_defaults")
