"""Remote agents: ``remote_agents`` (an agent near its directories, talking to the server over
HTTPS: its one-time enrolment token's hash, then its two public keys; never a private key) and
``remote_agent_directories`` (the directories each serves).

Revision ID: 0038
Revises: 0037
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0038"
down_revision = "0037"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "remote_agents",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("token_hash", sa.String(64)),
        sa.Column("token_expires_at", _TS),
        sa.Column("sign_key", sa.LargeBinary),
        sa.Column("box_key", sa.LargeBinary),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("registered_at", _TS),
        sa.Column("last_seen_at", _TS),
        sa.Column("revoked_at", _TS),
        sa.Column("revoked_by", sa.String(64)),
        sa.PrimaryKeyConstraint("id", name="pk_remote_agents"),
        sa.UniqueConstraint("name", name="uq_remote_agents_name"),
    )
    op.create_table(
        "remote_agent_directories",
        sa.Column("agent_id", sa.String(36), nullable=False),
        sa.Column("directory_id", sa.String(36), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["remote_agents.id"],
            name="fk_remote_agent_directories_agent_id_remote_agents",
        ),
        sa.ForeignKeyConstraint(
            ["directory_id"],
            ["directories.id"],
            name="fk_remote_agent_directories_directory_id_directories",
        ),
        sa.PrimaryKeyConstraint("agent_id", "directory_id", name="pk_remote_agent_directories"),
    )
    op.create_index(
        "ix_remote_agent_directories_directory_id", "remote_agent_directories", ["directory_id"]
    )


def downgrade() -> None:
    op.drop_index("ix_remote_agent_directories_directory_id", table_name="remote_agent_directories")
    op.drop_table("remote_agent_directories")
    op.drop_table("remote_agents")
