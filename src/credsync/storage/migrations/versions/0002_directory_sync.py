"""Directory sync: directories, the accounts they hold, links, runs and their items, flags,
and the queue of pushes waiting for the agent.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
ID = sa.String(36)
ACCOUNT = sa.String(64)


def upgrade() -> None:
    op.create_table(
        "directories",
        sa.Column("id", ID, nullable=False),
        sa.Column("client_id", ID, nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("name_key", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("url", sa.String(2048), nullable=False),
        sa.Column("base_dn", sa.String(2048), nullable=False),
        sa.Column("bind_credential_id", ID, nullable=False),
        sa.Column("ca_pem", sa.Text),
        sa.Column("tls_server_name", sa.String(255)),
        sa.Column("insecure_skip_verify", sa.Boolean, nullable=False),
        sa.Column("options", sa.Text, nullable=False),
        sa.Column("cursor", sa.Text),
        sa.Column("full_pass_at", TS),
        sa.Column("account_count", sa.Integer),
        sa.Column("next_run_at", TS),
        sa.Column("failures", sa.Integer, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_directories"),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.id"], name="fk_directories_client_id_clients"
        ),
        sa.ForeignKeyConstraint(
            ["bind_credential_id"],
            ["credentials.id"],
            name="fk_directories_bind_credential_id_credentials",
        ),
        sa.UniqueConstraint("name_key", name="uq_directories_name_key"),
    )
    op.create_index("ix_directories_client_id", "directories", ["client_id"])
    op.create_table(
        "directory_accounts",
        sa.Column("directory_id", ID, nullable=False),
        sa.Column("account_id", ACCOUNT, nullable=False),
        sa.Column("username", sa.String(512), nullable=False),
        sa.Column("upn", sa.String(512)),
        sa.Column("domain", sa.String(64)),
        sa.Column("display_name", sa.String(512)),
        sa.Column("dn", sa.String(2048)),
        sa.Column("enabled", sa.Boolean, nullable=False),
        sa.Column("locked_out", sa.Boolean, nullable=False),
        sa.Column("password_expired", sa.Boolean, nullable=False),
        sa.Column("must_change_password", sa.Boolean, nullable=False),
        sa.Column("password_stamp", sa.String(64)),
        sa.Column("password_changed_at", TS),
        sa.Column("synced_from_on_premises", sa.Boolean, nullable=False),
        sa.Column("protected", sa.Boolean, nullable=False),
        sa.Column("seen_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("directory_id", "account_id", name="pk_directory_accounts"),
        sa.ForeignKeyConstraint(
            ["directory_id"],
            ["directories.id"],
            name="fk_directory_accounts_directory_id_directories",
        ),
    )
    op.create_table(
        "links",
        sa.Column("credential_id", ID, nullable=False),
        sa.Column("directory_id", ID, nullable=False),
        sa.Column("account_id", ACCOUNT, nullable=False),
        sa.Column("linked_at", TS, nullable=False),
        sa.Column("linked_by", sa.String(64), nullable=False),
        sa.Column("confirmed_stamp", sa.String(64)),
        sa.Column("confirmed_secret_version", sa.Integer),
        sa.Column("confirmed_at", TS),
        sa.Column("failed_stamp", sa.String(64)),
        sa.Column("failed_secret_version", sa.Integer),
        sa.Column("accepted_stamp", sa.String(64)),
        sa.Column("status", sa.String(32)),
        sa.Column("detail", sa.Text),
        sa.Column("checked_at", TS),
        sa.PrimaryKeyConstraint("credential_id", "directory_id", name="pk_links"),
        sa.ForeignKeyConstraint(
            ["credential_id"], ["credentials.id"], name="fk_links_credential_id_credentials"
        ),
        sa.ForeignKeyConstraint(
            ["directory_id"], ["directories.id"], name="fk_links_directory_id_directories"
        ),
        sa.UniqueConstraint("directory_id", "account_id", name="uq_links_directory_id_account_id"),
    )
    op.create_index("ix_links_account", "links", ["account_id"])
    op.create_table(
        "runs",
        sa.Column("id", ID, nullable=False),
        sa.Column("directory_id", ID, nullable=False),
        sa.Column("client_id", ID, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("trigger", sa.String(16), nullable=False),
        sa.Column("dry_run", sa.Boolean, nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("summary", sa.Text, nullable=False),
        sa.Column("accounts_read", sa.Integer, nullable=False),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("finished_at", TS),
        sa.PrimaryKeyConstraint("id", name="pk_runs"),
        sa.ForeignKeyConstraint(
            ["directory_id"], ["directories.id"], name="fk_runs_directory_id_directories"
        ),
        sa.ForeignKeyConstraint(["client_id"], ["clients.id"], name="fk_runs_client_id_clients"),
    )
    op.create_index("ix_runs_directory_started", "runs", ["directory_id", "started_at"])
    op.create_index("ix_runs_started", "runs", ["started_at"])
    op.create_table(
        "run_items",
        sa.Column("run_id", ID, nullable=False),
        sa.Column("seq", sa.Integer, nullable=False, autoincrement=False),
        sa.Column("credential_id", ID),
        sa.Column("account_id", ACCOUNT),
        sa.Column("account_name", sa.String(512), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.PrimaryKeyConstraint("run_id", "seq", name="pk_run_items"),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name="fk_run_items_run_id_runs"),
    )
    op.create_index("ix_run_items_credential", "run_items", ["credential_id", "at"])
    op.create_table(
        "flags",
        sa.Column("id", ID, nullable=False),
        sa.Column("client_id", ID, nullable=False),
        sa.Column("credential_id", ID, nullable=False),
        sa.Column("directory_id", ID, nullable=False),
        sa.Column("account_id", ACCOUNT),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Column("run_id", ID),
        sa.Column("opened_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("resolved_at", TS),
        sa.Column("resolved_by", sa.String(64)),
        sa.Column("resolution", sa.String(32)),
        sa.PrimaryKeyConstraint("id", name="pk_flags"),
        sa.ForeignKeyConstraint(["client_id"], ["clients.id"], name="fk_flags_client_id_clients"),
        sa.ForeignKeyConstraint(
            ["credential_id"], ["credentials.id"], name="fk_flags_credential_id_credentials"
        ),
        sa.ForeignKeyConstraint(
            ["directory_id"], ["directories.id"], name="fk_flags_directory_id_directories"
        ),
    )
    op.create_index("ix_flags_open", "flags", ["resolved_at", "client_id"])
    op.create_index(
        "ix_flags_credential", "flags", ["credential_id", "directory_id", "resolved_at"]
    )
    op.create_table(
        "sync_queue",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), nullable=False),
        sa.Column("credential_id", ID, nullable=False),
        sa.Column("directory_id", ID, nullable=False),
        sa.Column("secret_version", sa.Integer, nullable=False),
        sa.Column("enqueued_at", TS, nullable=False),
        sa.Column("not_before", TS, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("last_error", sa.Text),
        sa.Column("claimed_by", sa.String(100)),
        sa.Column("claimed_until", TS),
        sa.PrimaryKeyConstraint("id", name="pk_sync_queue"),
        sa.ForeignKeyConstraint(
            ["credential_id"], ["credentials.id"], name="fk_sync_queue_credential_id_credentials"
        ),
        sa.ForeignKeyConstraint(
            ["directory_id"], ["directories.id"], name="fk_sync_queue_directory_id_directories"
        ),
    )
    op.create_index("ix_sync_queue_due", "sync_queue", ["not_before"])


def downgrade() -> None:
    for table in (
        "sync_queue",
        "flags",
        "run_items",
        "runs",
        "links",
        "directory_accounts",
        "directories",
    ):
        op.drop_table(table)
