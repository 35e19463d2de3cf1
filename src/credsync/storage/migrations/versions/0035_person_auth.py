"""People sign in (issue 17): ``person_mfa`` (a person's TOTP seed, sealed under the vault's
MFA key as operators' are, pending until confirmed, and the last accepted time step),
``person_security_keys`` and ``person_key_challenges`` (their WebAuthn keys and the
challenges handed out), ``person_sign_in_failures`` (failed sign-ins as keyed digests, per
person and per address, for one window) and ``person_sessions`` (their portal sessions: the
token's SHA-256, a CSRF token, idle and absolute expiry).

Revision ID: 0035
Revises: 0033
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0035"
down_revision = "0033"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)
_ID = sa.String(36)


def _person_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["person_id"], ["people.id"], name=f"fk_{table}_person_id_people"
    )


def upgrade() -> None:
    op.create_table(
        "person_mfa",
        sa.Column("person_id", _ID, nullable=False),
        sa.Column("seed_ct", sa.LargeBinary, nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("confirmed_at", _TS),
        sa.Column("last_step", sa.BigInteger),
        _person_fk("person_mfa"),
        sa.PrimaryKeyConstraint("person_id", name="pk_person_mfa"),
    )
    op.create_table(
        "person_security_keys",
        sa.Column("id", _ID, nullable=False),
        sa.Column("person_id", _ID, nullable=False),
        sa.Column("credential_id", sa.String(1024), nullable=False),
        sa.Column("public_key", sa.LargeBinary, nullable=False),
        sa.Column("sign_count", sa.BigInteger, nullable=False),
        sa.Column("transports", sa.String(200), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("last_used_at", _TS),
        _person_fk("person_security_keys"),
        sa.PrimaryKeyConstraint("id", name="pk_person_security_keys"),
        sa.UniqueConstraint("credential_id", name="uq_person_security_keys_credential_id"),
    )
    op.create_index("ix_person_security_keys_person_id", "person_security_keys", ["person_id"])
    op.create_table(
        "person_key_challenges",
        sa.Column("challenge", sa.String(128), nullable=False),
        sa.Column("person_id", _ID, nullable=False),
        sa.Column("purpose", sa.String(16), nullable=False),
        sa.Column("expires_at", _TS, nullable=False),
        _person_fk("person_key_challenges"),
        sa.PrimaryKeyConstraint("challenge", name="pk_person_key_challenges"),
    )
    op.create_index("ix_person_key_challenges_person_id", "person_key_challenges", ["person_id"])
    op.create_table(
        "person_sign_in_failures",
        sa.Column("id", _ID, nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False),
        sa.Column("at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_person_sign_in_failures"),
    )
    op.create_index(
        "ix_person_sign_in_failures_key_at", "person_sign_in_failures", ["key_hash", "at"]
    )
    op.create_index("ix_person_sign_in_failures_at", "person_sign_in_failures", ["at"])
    op.create_table(
        "person_sessions",
        sa.Column("id", _ID, nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("person_id", _ID, nullable=False),
        sa.Column("client_id", _ID, nullable=False),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column("mfa", sa.Boolean, nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("expires_at", _TS, nullable=False),
        sa.Column("last_seen_at", _TS, nullable=False),
        sa.Column("ended_at", _TS),
        _person_fk("person_sessions"),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.id"], name="fk_person_sessions_client_id_clients"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_person_sessions"),
        sa.UniqueConstraint("token_hash", name="uq_person_sessions_token_hash"),
    )
    op.create_index("ix_person_sessions_person_id", "person_sessions", ["person_id"])


def downgrade() -> None:
    op.drop_table("person_sessions")
    op.drop_table("person_sign_in_failures")
    op.drop_table("person_key_challenges")
    op.drop_table("person_security_keys")
    op.drop_table("person_mfa")
