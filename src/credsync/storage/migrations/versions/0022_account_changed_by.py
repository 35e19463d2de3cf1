"""Who changed an account's password, where its directory logs it (Entra's audit log):
``directory_accounts.password_changed_by``, words for people ("reset by admin@contoso.test in
the portal"), kept with the cached account so that an open ``changed_in_directory`` flag keeps
naming who after the run that learnt it.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("directory_accounts") as batch:
        batch.add_column(sa.Column("password_changed_by", sa.String(512)))


def downgrade() -> None:
    with op.batch_alter_table("directory_accounts") as batch:
        batch.drop_column("password_changed_by")
