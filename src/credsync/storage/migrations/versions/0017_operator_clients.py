"""Per-client access: ``operators.all_clients`` (true: every client, as before) and the list of
clients an operator limited to some may reach (``operator_clients``, owned by
credsync.storage.operators).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("operators") as batch:
        batch.add_column(
            sa.Column("all_clients", sa.Boolean(), nullable=False, server_default=sa.true())
        )
    op.create_table(
        "operator_clients",
        sa.Column(
            "operator_id",
            sa.String(36),
            sa.ForeignKey("operators.id"),
            primary_key=True,
        ),
        sa.Column(
            "client_id",
            sa.String(36),
            sa.ForeignKey("clients.id"),
            primary_key=True,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_operator_clients_client", "operator_clients", ["client_id"])


def downgrade() -> None:
    op.drop_index("ix_operator_clients_client", "operator_clients")
    op.drop_table("operator_clients")
    with op.batch_alter_table("operators") as batch:
        batch.drop_column("all_clients")
