"""Saved import selections and onboarding (issue 16): ``import_selections`` (a client's saved
selections of a directory's people and groups, re-synchronised by the agent),
``import_selection_runs`` (each run's counts and refused lines; a running one holds the
selection's lease) and ``person_onboarding`` (a person imported into a group with a
provisioning policy: no password yet).

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)
_ID = sa.String(36)


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [f"{target}.id"], name=f"fk_{table}_{column}_{target}")


def upgrade() -> None:
    op.create_table(
        "import_selections",
        sa.Column("id", _ID, nullable=False),
        sa.Column("client_id", _ID, nullable=False),
        sa.Column("directory_id", _ID, nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("name_key", sa.String(100), nullable=False),
        sa.Column("spec", sa.Text, nullable=False),
        sa.Column("interval_seconds", sa.Integer),
        sa.Column("enabled", sa.Boolean, nullable=False),
        sa.Column("next_run_at", _TS),
        sa.Column("last_run_at", _TS),
        sa.Column("last_state", sa.String(16)),
        sa.Column("last_totals", sa.Text),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.Column("updated_by", sa.String(64), nullable=False),
        _fk("import_selections", "client_id", "clients"),
        _fk("import_selections", "directory_id", "directories"),
        sa.PrimaryKeyConstraint("id", name="pk_import_selections"),
        sa.UniqueConstraint(
            "client_id", "name_key", name="uq_import_selections_client_id_name_key"
        ),
    )
    op.create_index("ix_import_selections_next_run_at", "import_selections", ["next_run_at"])
    op.create_index("ix_import_selections_directory_id", "import_selections", ["directory_id"])
    op.create_table(
        "import_selection_runs",
        sa.Column("id", _ID, nullable=False),
        sa.Column("selection_id", _ID, nullable=False),
        sa.Column("trigger", sa.String(16), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("owner", sa.String(128), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("started_at", _TS, nullable=False),
        sa.Column("heartbeat_at", _TS, nullable=False),
        sa.Column("finished_at", _TS),
        sa.Column("totals", sa.Text, nullable=False),
        sa.Column("refused", sa.Text, nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        _fk("import_selection_runs", "selection_id", "import_selections"),
        sa.PrimaryKeyConstraint("id", name="pk_import_selection_runs"),
    )
    op.create_index(
        "ix_import_selection_runs_selection_id",
        "import_selection_runs",
        ["selection_id", "started_at"],
    )
    op.create_table(
        "person_onboarding",
        sa.Column("person_id", _ID, nullable=False),
        sa.Column("client_id", _ID, nullable=False),
        sa.Column("group_id", _ID),
        sa.Column("folder", sa.String(500), nullable=False),
        sa.Column("sync_mode", sa.String(16), nullable=False),
        sa.Column("invite", sa.Boolean, nullable=False),
        sa.Column("awaiting", sa.Boolean, nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        _fk("person_onboarding", "person_id", "people"),
        _fk("person_onboarding", "client_id", "clients"),
        sa.PrimaryKeyConstraint("person_id", name="pk_person_onboarding"),
    )


def downgrade() -> None:
    op.drop_table("person_onboarding")
    op.drop_index("ix_import_selection_runs_selection_id", "import_selection_runs")
    op.drop_table("import_selection_runs")
    op.drop_index("ix_import_selections_directory_id", "import_selections")
    op.drop_index("ix_import_selections_next_run_at", "import_selections")
    op.drop_table("import_selections")
