"""WebAuthn security keys and passkeys as operators' second factor: each key's public key,
sign count, transports and name (``webauthn_credentials``), and the challenges handed out for
a registration or a sign-in, each taken once (``webauthn_challenges``).

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
ID = sa.String(36)


def upgrade() -> None:
    op.create_table(
        "webauthn_credentials",
        sa.Column("id", ID, nullable=False),
        sa.Column("operator_id", ID, nullable=False),
        sa.Column("credential_id", sa.String(1400), nullable=False),
        sa.Column("public_key", sa.LargeBinary, nullable=False),
        sa.Column("sign_count", sa.BigInteger, nullable=False),
        sa.Column("transports", sa.String(200), nullable=False, server_default=""),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("last_used_at", TS),
        sa.PrimaryKeyConstraint("id", name="pk_webauthn_credentials"),
        sa.ForeignKeyConstraint(
            ["operator_id"],
            ["operators.id"],
            name="fk_webauthn_credentials_operator_id_operators",
        ),
        sa.UniqueConstraint("credential_id", name="uq_webauthn_credentials_credential_id"),
    )
    op.create_index("ix_webauthn_credentials_operator_id", "webauthn_credentials", ["operator_id"])
    op.create_table(
        "webauthn_challenges",
        sa.Column("challenge", sa.String(128), nullable=False),
        sa.Column("operator_id", ID, nullable=False),
        sa.Column("purpose", sa.String(16), nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("challenge", name="pk_webauthn_challenges"),
        sa.ForeignKeyConstraint(
            ["operator_id"],
            ["operators.id"],
            name="fk_webauthn_challenges_operator_id_operators",
        ),
    )
    op.create_index("ix_webauthn_challenges_operator_id", "webauthn_challenges", ["operator_id"])


def downgrade() -> None:
    op.drop_index("ix_webauthn_challenges_operator_id", "webauthn_challenges")
    op.drop_table("webauthn_challenges")
    op.drop_index("ix_webauthn_credentials_operator_id", "webauthn_credentials")
    op.drop_table("webauthn_credentials")
