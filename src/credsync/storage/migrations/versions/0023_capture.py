"""Capture (issue 14): directories' capture keys (the OpenPGP key Samba encrypts new passwords
to; the secret part sealed by the master key), enrolled forwarders (their Ed25519 public keys),
the nonces they sent in the last day, the capture ledger (each event once, with its outcome;
never a secret) and captured passwords waiting for an operator.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

_ID = sa.String(36)
_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "capture_keys",
        sa.Column("directory_id", _ID, nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("public_key", sa.Text(), nullable=False),
        sa.Column("wrapped_secret", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("directory_id", name="pk_capture_keys"),
        sa.ForeignKeyConstraint(
            ["directory_id"], ["directories.id"], name="fk_capture_keys_directory_id_directories"
        ),
    )
    op.create_table(
        "capture_forwarders",
        sa.Column("id", _ID, nullable=False),
        sa.Column("directory_id", _ID, nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("public_key", sa.LargeBinary(), nullable=False),
        sa.Column("enrolled_at", _TS, nullable=False),
        sa.Column("enrolled_by", sa.String(64), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.Column("last_seen_at", _TS),
        sa.Column("revoked_at", _TS),
        sa.Column("revoked_by", sa.String(64)),
        sa.PrimaryKeyConstraint("id", name="pk_capture_forwarders"),
        sa.ForeignKeyConstraint(
            ["directory_id"],
            ["directories.id"],
            name="fk_capture_forwarders_directory_id_directories",
        ),
    )
    op.create_index("ix_capture_forwarders_directory_id", "capture_forwarders", ["directory_id"])
    op.create_table(
        "capture_nonces",
        sa.Column("forwarder_id", _ID, nullable=False),
        sa.Column("nonce", sa.String(32), nullable=False),
        sa.Column("seen_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("forwarder_id", "nonce", name="pk_capture_nonces"),
    )
    op.create_index("ix_capture_nonces_seen_at", "capture_nonces", ["seen_at"])
    op.create_table(
        "capture_ledger",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("directory_id", _ID, nullable=False),
        sa.Column("event_key", sa.String(128), nullable=False),
        sa.Column("object_guid", sa.String(64), nullable=False),
        sa.Column("pwd_last_set", sa.BigInteger()),
        sa.Column("kvno", sa.Integer()),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("forwarder_id", _ID, nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("credential_id", _ID),
        sa.Column("dc", sa.String(255)),
        sa.Column("captured_at", _TS),
        sa.Column("received_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_capture_ledger"),
        sa.ForeignKeyConstraint(
            ["directory_id"], ["directories.id"], name="fk_capture_ledger_directory_id_directories"
        ),
        sa.UniqueConstraint(
            "directory_id", "event_key", name="uq_capture_ledger_directory_id_event_key"
        ),
    )
    op.create_index(
        "ix_capture_ledger_account",
        "capture_ledger",
        ["directory_id", "object_guid", "pwd_last_set"],
    )
    op.create_table(
        "capture_pending",
        sa.Column("id", _ID, nullable=False),
        sa.Column("credential_id", _ID, nullable=False),
        sa.Column("directory_id", _ID, nullable=False),
        sa.Column("object_guid", sa.String(64), nullable=False),
        sa.Column("pwd_last_set", sa.BigInteger()),
        sa.Column("ciphertext", sa.LargeBinary(), nullable=False),
        sa.Column("forwarder_id", _ID, nullable=False),
        sa.Column("dc", sa.String(255)),
        sa.Column("captured_at", _TS, nullable=False),
        sa.Column("flag_id", _ID),
        sa.PrimaryKeyConstraint("id", name="pk_capture_pending"),
        sa.ForeignKeyConstraint(
            ["credential_id"],
            ["credentials.id"],
            name="fk_capture_pending_credential_id_credentials",
        ),
        sa.ForeignKeyConstraint(
            ["directory_id"], ["directories.id"], name="fk_capture_pending_directory_id_directories"
        ),
        sa.UniqueConstraint(
            "credential_id",
            "directory_id",
            name="uq_capture_pending_credential_id_directory_id",
        ),
    )


def downgrade() -> None:
    op.drop_table("capture_pending")
    op.drop_index("ix_capture_ledger_account", table_name="capture_ledger")
    op.drop_table("capture_ledger")
    op.drop_index("ix_capture_nonces_seen_at", table_name="capture_nonces")
    op.drop_table("capture_nonces")
    op.drop_index("ix_capture_forwarders_directory_id", table_name="capture_forwarders")
    op.drop_table("capture_forwarders")
    op.drop_table("capture_keys")
