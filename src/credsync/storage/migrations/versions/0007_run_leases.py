"""A run's lease on its directory: its last sign of life (``heartbeat_at``) and the process
running it (``owner``), so that one run at a time works on a directory across processes and
a run left ``running`` by a crash is found and marked aborted.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("heartbeat_at", TS))
        batch.add_column(sa.Column("owner", sa.String(255)))
    op.create_index("ix_runs_state_directory", "runs", ["state", "directory_id"])
    # Runs still ``running`` from before: their last sign of life is their start.
    runs = sa.table(
        "runs",
        sa.column("state", sa.String),
        sa.column("started_at", TS),
        sa.column("heartbeat_at", TS),
    )
    op.get_bind().execute(
        runs.update().where(runs.c.state == "running").values(heartbeat_at=runs.c.started_at)
    )


def downgrade() -> None:
    op.drop_index("ix_runs_state_directory", "runs")
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("owner")
        batch.drop_column("heartbeat_at")
