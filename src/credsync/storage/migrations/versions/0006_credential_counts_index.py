"""An index that covers the per-client credential counts (client list, dashboard): with
100,000 credentials in a client, counting read every row (about 200 ms).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_credentials_client_type_deleted",
        "credentials",
        ["client_id", "type", "deleted_at"],
    )


def downgrade() -> None:
    op.drop_index("ix_credentials_client_type_deleted", "credentials")
