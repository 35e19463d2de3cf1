"""Multi-factor sign-in for operators: each operator's TOTP seed (sealed under the vault's MFA
key, bound to the operator) with its enrolment state and last accepted time step
(``operator_mfa``), one-time recovery codes as digests (``mfa_recovery_codes``), the
requirement vault-wide (``vault_meta.mfa_required``, with the MFA key ``vault_meta.mfa_key``)
and per role (``roles.mfa_required``), and whether a session passed the second factor
(``cli_sessions.mfa_passed``, ``web_sessions.mfa``).

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
ID = sa.String(36)
FALSE = sa.text("false")


def upgrade() -> None:
    op.add_column(
        "vault_meta", sa.Column("mfa_required", sa.Boolean, nullable=False, server_default=FALSE)
    )
    op.add_column("vault_meta", sa.Column("mfa_key", sa.LargeBinary))
    op.add_column(
        "roles", sa.Column("mfa_required", sa.Boolean, nullable=False, server_default=FALSE)
    )
    op.add_column(
        "cli_sessions",
        sa.Column("mfa_passed", sa.Boolean, nullable=False, server_default=FALSE),
    )
    op.add_column(
        "web_sessions", sa.Column("mfa", sa.String(8), nullable=False, server_default="none")
    )
    op.create_table(
        "operator_mfa",
        sa.Column("operator_id", ID, nullable=False),
        sa.Column("seed_ct", sa.LargeBinary, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("confirmed_at", TS),
        sa.Column("last_step", sa.BigInteger),
        sa.PrimaryKeyConstraint("operator_id", name="pk_operator_mfa"),
        sa.ForeignKeyConstraint(
            ["operator_id"], ["operators.id"], name="fk_operator_mfa_operator_id_operators"
        ),
    )
    op.create_table(
        "mfa_recovery_codes",
        sa.Column("id", ID, nullable=False),
        sa.Column("operator_id", ID, nullable=False),
        sa.Column("code_hash", sa.String(64), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("used_at", TS),
        sa.PrimaryKeyConstraint("id", name="pk_mfa_recovery_codes"),
        sa.ForeignKeyConstraint(
            ["operator_id"],
            ["operators.id"],
            name="fk_mfa_recovery_codes_operator_id_operators",
        ),
    )
    op.create_index("ix_mfa_recovery_codes_operator_id", "mfa_recovery_codes", ["operator_id"])


def downgrade() -> None:
    op.drop_index("ix_mfa_recovery_codes_operator_id", "mfa_recovery_codes")
    op.drop_table("mfa_recovery_codes")
    op.drop_table("operator_mfa")
    for table, column in (
        ("web_sessions", "mfa"),
        ("cli_sessions", "mfa_passed"),
        ("roles", "mfa_required"),
        ("vault_meta", "mfa_key"),
        ("vault_meta", "mfa_required"),
    ):
        _drop(table, column)


def _drop(table: str, column: str) -> None:
    # SQLite drops a column in place (3.35+): a batch copy of roles would break the operators'
    # foreign key to it.
    if op.get_bind().dialect.name == "sqlite":
        op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
    else:
        op.drop_column(table, column)
