"""The open flags of one directory, found from an index (issue 20: one agent over 500
directories): ``ix_flags_directory_open`` (directory_id, resolved_at, status). An incremental
run asks which of its directory's credentials have a flag resolved since its last run or open
with a status it checks again (``storage.flags.touched_since``); without it the search read
every open flag of the vault through ``ix_flags_open`` and looked up each row's directory
(48,501 open flags in the 550-directory benchmark, at every one of ~500 runs a minute: a
quarter of the agent's CPU).

Revision ID: 0047
Revises: 0046
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

revision = "0047"
down_revision = "0046"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_flags_directory_open", "flags", ["directory_id", "resolved_at", "status"])


def downgrade() -> None:
    op.drop_index("ix_flags_directory_open", "flags")
