"""Operators who sign in with an identity provider: ``sign_in_providers`` (the MSP's own
tenant and app registration, the client secret sealed under the master key) and
``operator_identities`` (an operator's identity there: tenant id + object id, whether the
import made it, and why a sync disabled it) and ``operator_group_maps`` (a group whose members
the import makes operators, with a role and client access).

Revision ID: 0032
Revises: 0031
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0032"
down_revision = "0031"
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
        sa.Column("source", sa.String(16), nullable=False, server_default=sa.text("'link'")),
        sa.Column("review", sa.String(200)),
        sa.Column("review_at", _TS),
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

    op.create_table(
        "operator_group_maps",
        sa.Column("provider", sa.String(32), nullable=False),
        sa.Column("group_id", sa.String(36), nullable=False),
        sa.Column("group_name", sa.String(256), nullable=False),
        sa.Column("role", sa.String(64), nullable=False),
        sa.Column("all_clients", sa.Boolean, nullable=False),
        sa.Column("clients", sa.Text, nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.ForeignKeyConstraint(["role"], ["roles.name"], name="fk_operator_group_maps_role_roles"),
        sa.PrimaryKeyConstraint("provider", "group_id", name="pk_operator_group_maps"),
    )


def downgrade() -> None:
    op.drop_table("operator_group_maps")
    op.drop_table("operator_identities")
    op.drop_table("sign_in_providers")
