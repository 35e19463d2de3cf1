"""Runs a day (issue 20: the dashboard with 500 clients): ``run_days`` counts, per UTC day of
a run's start, directory and state, the runs that are not dry runs, so that the overview's
chart of a month of runs reads ~a row a directory, day and state instead of every run (500
directories run every minute make 720,000 runs a day). Made from the runs there are, in one
statement (``credsync.storage.run_days.recount`` does the same); kept from then on by
``credsync.storage.runs``.

The downgrade drops the table.

Revision ID: 0046
Revises: 0045
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0046"
down_revision = "0045"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "run_days",
        sa.Column("day", sa.String(10), nullable=False),
        sa.Column("directory_id", sa.String(36), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("client_id", sa.String(36), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["directory_id"], ["directories.id"]),
        sa.ForeignKeyConstraint(["client_id"], ["clients.id"]),
        sa.PrimaryKeyConstraint("day", "directory_id", "state"),
    )
    op.create_index("ix_run_days_day_client", "run_days", ["day", "client_id", "state", "n"])
    if op.get_bind().dialect.name == "postgresql":
        day = "to_char(timezone('UTC', started_at), 'YYYY-MM-DD')"
    else:  # UTC timestamps kept as text that starts with the day
        day = "substr(started_at, 1, 10)"
    op.execute(
        "INSERT INTO run_days (day, directory_id, state, client_id, n) "  # noqa: S608 - no input
        f"SELECT {day}, directory_id, state, min(client_id), count(*) FROM runs "
        f"WHERE NOT dry_run GROUP BY {day}, directory_id, state"
    )


def downgrade() -> None:
    op.drop_index("ix_run_days_day_client", table_name="run_days")
    op.drop_table("run_days")
