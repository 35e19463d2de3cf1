"""The push queue's dead letter: a push given up (after too many failed attempts, or one that
can't be made) is kept with when and why (``dead_at``, ``dead_reason``) and never claimed
again (see credsync.storage.push_queue). The agent's poll index leads with ``dead_at`` so
that given-up rows cost it nothing; a second index finds a credential's pushes.

Rows queued before this revision are waiting pushes, as they were. Columns are added and
dropped in place (SQLite >= 3.35 drops columns itself; an indexed column only once its
indexes are gone), as revision 0009 does.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def _drop(column: str) -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(f"ALTER TABLE sync_queue DROP COLUMN {column}")
    else:
        op.drop_column("sync_queue", column)


def upgrade() -> None:
    op.add_column("sync_queue", sa.Column("dead_at", sa.DateTime(timezone=True)))
    op.add_column("sync_queue", sa.Column("dead_reason", sa.Text))
    op.drop_index("ix_sync_queue_due", "sync_queue")
    op.create_index("ix_sync_queue_due", "sync_queue", ["dead_at", "not_before"])
    op.create_index("ix_sync_queue_credential", "sync_queue", ["credential_id", "directory_id"])


def downgrade() -> None:
    # Given-up pushes can't be told apart from waiting ones without the columns: they go (the
    # periodic runs push what is still out of step, in enforce mode).
    op.execute("DELETE FROM sync_queue WHERE dead_at IS NOT NULL")
    op.drop_index("ix_sync_queue_credential", "sync_queue")
    op.drop_index("ix_sync_queue_due", "sync_queue")
    op.create_index("ix_sync_queue_due", "sync_queue", ["not_before"])
    _drop("dead_reason")
    _drop("dead_at")
