"""Mail and self-service: ``mail_settings`` (the vault's SMTP server, its password sealed under
the master key), ``person_links`` (one-time links sent to people: onboarding invitations and
password resets, kept as hashes of their tokens) and ``self_service_settings`` (each client's
password policy for its people).

Revision ID: 0036
Revises: 0035
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0036"
down_revision = "0035"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "mail_settings",
        sa.Column("name", sa.String(16), nullable=False),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("port", sa.Integer, nullable=False),
        sa.Column("security", sa.String(16), nullable=False),
        sa.Column("allow_plain", sa.Boolean, nullable=False),
        sa.Column("username", sa.String(255)),
        sa.Column("password_ct", sa.LargeBinary),
        sa.Column("from_address", sa.String(320), nullable=False),
        sa.Column("public_url", sa.String(500), nullable=False),
        sa.Column("ca_pem", sa.Text),
        sa.Column("invite_days", sa.Integer, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.Column("updated_by", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_mail_settings"),
    )
    op.create_table(
        "person_links",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("person_id", sa.String(36), nullable=False),
        sa.Column("client_id", sa.String(36), nullable=False),
        sa.Column("purpose", sa.String(16), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("expires_at", _TS, nullable=False),
        sa.Column("used_at", _TS),
        sa.Column("voided_at", _TS),
        sa.Column("sent_at", _TS),
        sa.Column("send_error", sa.String(2000)),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name="fk_person_links_person_id_people"
        ),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.id"], name="fk_person_links_client_id_clients"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_person_links"),
        sa.UniqueConstraint("token_hash", name="uq_person_links_token_hash"),
    )
    op.create_index("ix_person_links_person_id_purpose", "person_links", ["person_id", "purpose"])
    op.create_table(
        "self_service_settings",
        sa.Column("client_id", sa.String(36), nullable=False),
        sa.Column("password_policy", sa.String(64), nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.Column("updated_by", sa.String(64), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.id"], name="fk_self_service_settings_client_id_clients"
        ),
        sa.PrimaryKeyConstraint("client_id", name="pk_self_service_settings"),
    )


def downgrade() -> None:
    op.drop_table("self_service_settings")
    op.drop_index("ix_person_links_person_id_purpose", table_name="person_links")
    op.drop_table("person_links")
    op.drop_table("mail_settings")
