"""AD -> Office 365 password relays: ``relays`` (a client's relay definitions, settings as
JSON) and ``relay_pairs`` (a source account paired with the target account its password is
carried to, with the credential on each side).

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "relays",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("client_id", sa.String(36), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("source_directory_id", sa.String(36), nullable=False),
        sa.Column("target_directory_id", sa.String(36), nullable=False),
        sa.Column("settings", sa.Text, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.Column("updated_by", sa.String(64), nullable=False),
        sa.ForeignKeyConstraint(["client_id"], ["clients.id"], name="fk_relays_client_id_clients"),
        sa.ForeignKeyConstraint(
            ["source_directory_id"],
            ["directories.id"],
            name="fk_relays_source_directory_id_directories",
        ),
        sa.ForeignKeyConstraint(
            ["target_directory_id"],
            ["directories.id"],
            name="fk_relays_target_directory_id_directories",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_relays"),
        sa.UniqueConstraint("client_id", "name", name="uq_relays_client_id_name"),
    )
    op.create_index("ix_relays_source_directory_id", "relays", ["source_directory_id"])
    op.create_table(
        "relay_pairs",
        sa.Column("relay_id", sa.String(36), nullable=False),
        sa.Column("source_account_id", sa.String(64), nullable=False),
        sa.Column("target_account_id", sa.String(64), nullable=False),
        sa.Column("source_credential_id", sa.String(36), nullable=False),
        sa.Column("target_credential_id", sa.String(36), nullable=False),
        sa.Column("rule", sa.String(16), nullable=False),
        sa.Column("matched_at", _TS, nullable=False),
        sa.Column("matched_by", sa.String(64), nullable=False),
        sa.ForeignKeyConstraint(["relay_id"], ["relays.id"], name="fk_relay_pairs_relay_id_relays"),
        sa.PrimaryKeyConstraint("relay_id", "source_account_id", name="pk_relay_pairs"),
        sa.UniqueConstraint(
            "relay_id", "target_account_id", name="uq_relay_pairs_relay_id_target_account_id"
        ),
    )
    op.create_index("ix_relay_pairs_source_credential_id", "relay_pairs", ["source_credential_id"])


def downgrade() -> None:
    op.drop_index("ix_relay_pairs_source_credential_id", "relay_pairs")
    op.drop_table("relay_pairs")
    op.drop_index("ix_relays_source_directory_id", "relays")
    op.drop_table("relays")
