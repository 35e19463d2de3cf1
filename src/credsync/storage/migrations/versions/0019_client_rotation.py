"""A rotation interval per client (``clients.rotate_every_days``: whole days, NULL: never):
a credential of the client whose password was last changed longer ago than that is overdue
(see credsync.storage.overview and credsync.storage.credentials, which find them through
``ix_credentials_client_changed``). Existing clients have none.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("clients", sa.Column("rotate_every_days", sa.Integer))


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":  # SQLite >= 3.35 drops columns itself
        op.execute("ALTER TABLE clients DROP COLUMN rotate_every_days")
    else:
        op.drop_column("clients", "rotate_every_days")
