"""Entra ID directories: the tenant, the application (client) id, the authority and the kind
of credential the app signs in with (certificate or secret).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("directories") as batch:
        batch.add_column(sa.Column("tenant_id", sa.String(255)))
        batch.add_column(sa.Column("app_id", sa.String(64)))
        batch.add_column(sa.Column("authority", sa.String(2048)))
        batch.add_column(sa.Column("bind_kind", sa.String(16)))


def downgrade() -> None:
    with op.batch_alter_table("directories") as batch:
        for column in ("bind_kind", "authority", "app_id", "tenant_id"):
            batch.drop_column(column)
