"""Remote agents carry captures: ``capture_forwarders.remote_agent_id``. A forwarder row owned
by a remote agent holds that agent's capture state for one of its directories (``last_seq``,
and the nonces it sent by the row's id); it is made on the agent's first batch for the
directory, and authenticated with the agent's key (its own ``public_key`` is empty). One row
per agent and directory.

Revision ID: 0039
Revises: 0038
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0039"
down_revision = "0038"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("capture_forwarders") as batch:
        batch.add_column(sa.Column("remote_agent_id", sa.String(36)))
        batch.create_foreign_key(
            "fk_capture_forwarders_remote_agent_id_remote_agents",
            "remote_agents",
            ["remote_agent_id"],
            ["id"],
        )
        batch.create_unique_constraint(
            "uq_capture_forwarders_remote_agent_id_directory_id",
            ["remote_agent_id", "directory_id"],
        )


def downgrade() -> None:
    with op.batch_alter_table("capture_forwarders") as batch:
        batch.drop_constraint("uq_capture_forwarders_remote_agent_id_directory_id", type_="unique")
        batch.drop_constraint(
            "fk_capture_forwarders_remote_agent_id_remote_agents", type_="foreignkey"
        )
        batch.drop_column("remote_agent_id")
