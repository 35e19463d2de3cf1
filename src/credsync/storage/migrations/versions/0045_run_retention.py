"""Retention of run items (issue 20: bounded database growth at MSP scale).

``run_items.at`` gets an index (``ix_run_items_at``): the prune (:func:`credsync.storage.runs.
prune_items`) finds the items older than the retention from it, oldest first, without reading
the runs whose items are gone already. ``runs.items_pruned_at`` says when a run's per-object
report was deleted by the retention (null: never), so that its report says so instead of
showing an empty list; its summary (the counts) stays.

The downgrade drops both (a run whose items were pruned then shows no items, as before).

Revision ID: 0045
Revises: 0044
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0045"
down_revision = "0044"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_run_items_at", "run_items", ["at"])
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("items_pruned_at", sa.DateTime(timezone=True)))


def downgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("items_pruned_at")
    op.drop_index("ix_run_items_at", "run_items")
