"""Indexes for the overview page (credsync.storage.overview), which counts over the whole
vault: with 100,000 credentials, counting checks through their credentials read every
credential (about 450 ms). Now ``ix_links_directory_status`` counts the links alone and
``ix_credentials_client_changed`` the password ages; the partial index
``ix_credentials_set_apart`` (the ids of credentials in the trash and of directory_admin
ones) finds the few to take off; ``ix_flags_opened`` finds the flags of the last days.

Revision ID: 0016
Revises: 0013
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0013"
branch_labels = None
depends_on = None


SET_APART = "(deleted_at IS NOT NULL OR type = 'directory_admin')"  # as in storage.tables


def upgrade() -> None:
    op.create_index("ix_links_directory_status", "links", ["directory_id", "status"])
    op.create_index(
        "ix_credentials_client_changed", "credentials", ["client_id", "password_changed_at"]
    )
    op.create_index("ix_flags_opened", "flags", ["opened_at"])
    op.create_index(
        "ix_credentials_set_apart",
        "credentials",
        ["id"],
        sqlite_where=sa.text(SET_APART),
        postgresql_where=sa.text(SET_APART),
    )


def downgrade() -> None:
    op.drop_index("ix_credentials_set_apart", "credentials")
    op.drop_index("ix_flags_opened", "flags")
    op.drop_index("ix_credentials_client_changed", "credentials")
    op.drop_index("ix_links_directory_status", "links")
