"""Operators who sign in with an identity provider: ``sign_in_providers`` (the MSP's own
tenant and app registration, the client secret sealed under the master key) and
``operator_identities`` (an operator's identity there: tenant id + object id).

Revision ID: 0032
Revises: 0026
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0032"
down_revision = "0026"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "sign_in_providers",
        sa.Column("provider", sa.String(32), nullable=False),
        sa.Column("tenant_id", sa.String(36), nullable=False),
        sa.Column("client_id", sa.String(36), nullable=False),
        sa.Column("secret_ct", sa.LargeBinary, nullable=False),
        sa.Column("authority", sa.String(500), nullable=False),
        sa.Column("ca_pem", sa.Text),
        sa.Column("redirect_uri", sa.String(500), nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.Column("updated_by", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("provider", name="pk_sign_in_providers"),
    )
    op.create_table(
        "operator_identities",
        sa.Column("operator_id", sa.String(36), nullable=False),
        sa.Column("provider", sa.String(32), nullable=False),
        sa.Column("tenant_id", sa.String(36), nullable=False),
        sa.Column("object_id", sa.String(36), nullable=False),
        sa.Column("username", sa.String(256), nullable=False),
        sa.Column("linked_at", _TS, nullable=False),
        sa.Column("linked_by", sa.String(64), nullable=False),
        sa.ForeignKeyConstraint(
            ["operator_id"], ["operators.id"], name="fk_operator_identities_operator_id_operators"
        ),
        sa.PrimaryKeyConstraint("operator_id", name="pk_operator_identities"),
        sa.UniqueConstraint(
            "provider",
            "tenant_id",
            "object_id",
            name="uq_operator_identities_provider_tenant_id_object_id",
        ),
    )


def downgrade() -> None:
    op.drop_table("operator_identities")
    op.drop_table("sign_in_providers")
