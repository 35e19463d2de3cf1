"""The vault core: clients, credentials, secret history, operators, roles, tokens, audit.

Revision ID: 0001
Revises:
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
ID = sa.String(36)
TERM = sa.String(128).with_variant(sa.String(128, collation="C"), "postgresql")


def upgrade() -> None:
    op.create_table(
        "vault_meta",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("kdf_salt", sa.LargeBinary, nullable=False),
        sa.Column("kdf_time_cost", sa.Integer, nullable=False),
        sa.Column("kdf_memory_kib", sa.Integer, nullable=False),
        sa.Column("kdf_parallelism", sa.Integer, nullable=False),
        sa.Column("kek_check", sa.LargeBinary, nullable=False),
        sa.Column("key_generation", sa.Integer, nullable=False),
        sa.Column("audit_head_seq", sa.BigInteger, nullable=False),
        sa.Column("audit_head_hash", sa.String(64), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("rotated_at", TS),
        sa.PrimaryKeyConstraint("id", name="pk_vault_meta"),
    )
    op.create_table(
        "roles",
        sa.Column("name", sa.String(64)),
        sa.Column("description", sa.String(500), nullable=False),
        sa.Column("permissions", sa.Text, nullable=False),
        sa.Column("builtin", sa.Boolean, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_roles"),
    )
    op.create_table(
        "operators",
        sa.Column("id", ID),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("name_key", sa.String(64), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("role", sa.String(64), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("disabled_at", TS),
        sa.Column("last_login_at", TS),
        sa.PrimaryKeyConstraint("id", name="pk_operators"),
        sa.UniqueConstraint("name_key", name="uq_operators_name_key"),
        sa.ForeignKeyConstraint(["role"], ["roles.name"], name="fk_operators_role_roles"),
    )
    op.create_table(
        "api_tokens",
        sa.Column("id", ID),
        sa.Column("operator_id", ID, nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("expires_at", TS),
        sa.Column("last_used_at", TS),
        sa.Column("revoked_at", TS),
        sa.PrimaryKeyConstraint("id", name="pk_api_tokens"),
        sa.UniqueConstraint("token_hash", name="uq_api_tokens_token_hash"),
        sa.ForeignKeyConstraint(
            ["operator_id"], ["operators.id"], name="fk_api_tokens_operator_id_operators"
        ),
    )
    op.create_index("ix_api_tokens_operator_id", "api_tokens", ["operator_id"])
    op.create_table(
        "cli_sessions",
        sa.Column("id", ID),
        sa.Column("operator_id", ID, nullable=False),
        sa.Column("sealed_kek", sa.LargeBinary, nullable=False),
        sa.Column("key_generation", sa.Integer, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_cli_sessions"),
        sa.ForeignKeyConstraint(
            ["operator_id"], ["operators.id"], name="fk_cli_sessions_operator_id_operators"
        ),
    )
    op.create_index("ix_cli_sessions_operator_id", "cli_sessions", ["operator_id"])
    op.create_table(
        "clients",
        sa.Column("id", ID),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("name_key", sa.String(200), nullable=False),
        sa.Column("directory_sync", sa.Boolean, nullable=False),
        sa.Column("default_sync_mode", sa.String(16), nullable=False),
        sa.Column("wrapped_data_key", sa.LargeBinary, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("archived_at", TS),
        sa.PrimaryKeyConstraint("id", name="pk_clients"),
        sa.UniqueConstraint("name_key", name="uq_clients_name_key"),
    )
    op.create_table(
        "folders",
        sa.Column("id", ID),
        sa.Column("client_id", ID, nullable=False),
        sa.Column("path", sa.String(500), nullable=False),
        sa.Column("path_key", sa.String(500), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_folders"),
        sa.UniqueConstraint("client_id", "path_key", name="uq_folders_client_id_path_key"),
        sa.ForeignKeyConstraint(["client_id"], ["clients.id"], name="fk_folders_client_id_clients"),
    )
    op.create_table(
        "credentials",
        sa.Column("id", ID),
        sa.Column("client_id", ID, nullable=False),
        sa.Column("folder_id", ID),
        sa.Column("title", sa.String(255), nullable=False),
        sa.Column("title_key", sa.String(255), nullable=False),
        sa.Column("username", sa.String(512), nullable=False),
        sa.Column("url", sa.String(2048), nullable=False),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("sync_mode", sa.String(16)),
        sa.Column("notes_ct", sa.LargeBinary),
        sa.Column("secret_version", sa.Integer, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("updated_by", sa.String(64), nullable=False),
        sa.Column("password_changed_at", TS, nullable=False),
        sa.Column("deleted_at", TS),
        sa.Column("deleted_by", sa.String(64)),
        sa.PrimaryKeyConstraint("id", name="pk_credentials"),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.id"], name="fk_credentials_client_id_clients"
        ),
        sa.ForeignKeyConstraint(
            ["folder_id"], ["folders.id"], name="fk_credentials_folder_id_folders"
        ),
    )
    op.create_index("ix_credentials_client_title", "credentials", ["client_id", "title_key", "id"])
    op.create_table(
        "credential_tags",
        sa.Column("credential_id", ID),
        sa.Column("tag", sa.String(64)),
        sa.PrimaryKeyConstraint("credential_id", "tag", name="pk_credential_tags"),
        sa.ForeignKeyConstraint(
            ["credential_id"],
            ["credentials.id"],
            name="fk_credential_tags_credential_id_credentials",
        ),
    )
    op.create_index("ix_credential_tags_tag", "credential_tags", ["tag", "credential_id"])
    op.create_table(
        "search_terms",
        sa.Column("client_id", ID),
        sa.Column("term", TERM),
        sa.Column("credential_id", ID),
        sa.PrimaryKeyConstraint("client_id", "term", "credential_id", name="pk_search_terms"),
        sa.ForeignKeyConstraint(
            ["credential_id"],
            ["credentials.id"],
            name="fk_search_terms_credential_id_credentials",
        ),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_search_terms_credential", "search_terms", ["credential_id", "term"])
    op.create_table(
        "secret_versions",
        sa.Column("credential_id", ID),
        sa.Column("version", sa.Integer),
        sa.Column("ciphertext", sa.LargeBinary, nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("reason", sa.String(500), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("credential_id", "version", name="pk_secret_versions"),
        sa.ForeignKeyConstraint(
            ["credential_id"],
            ["credentials.id"],
            name="fk_secret_versions_credential_id_credentials",
        ),
    )
    op.create_table(
        "password_policies",
        sa.Column("name", sa.String(64)),
        sa.Column("spec", sa.Text, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_password_policies"),
    )
    op.create_table(
        "audit_log",
        sa.Column("seq", sa.BigInteger, autoincrement=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("target_type", sa.String(32), nullable=False),
        sa.Column("target_id", sa.String(64), nullable=False),
        sa.Column("client_id", ID),
        sa.Column("details", sa.Text, nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_audit_log"),
    )
    op.create_index("ix_audit_log_action", "audit_log", ["action", "seq"])
    op.create_index("ix_audit_log_target", "audit_log", ["target_id", "seq"])
    _make_audit_append_only()


def _make_audit_append_only() -> None:
    """The database itself refuses to change or remove an audit entry."""
    if op.get_bind().dialect.name == "sqlite":
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_log_no_{verb.lower()} BEFORE {verb} ON audit_log "
                "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END"
            )
        return
    op.execute(
        "CREATE FUNCTION credsync_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "BEGIN RAISE EXCEPTION 'audit_log is append-only'; END $$"
    )
    op.execute(
        "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_log "
        "FOR EACH STATEMENT EXECUTE FUNCTION credsync_audit_append_only()"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        op.execute("DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log")
        op.execute("DROP FUNCTION IF EXISTS credsync_audit_append_only()")
    for table in (
        "audit_log",
        "password_policies",
        "secret_versions",
        "search_terms",
        "credential_tags",
        "credentials",
        "folders",
        "clients",
        "cli_sessions",
        "api_tokens",
        "operators",
        "roles",
        "vault_meta",
    ):
        op.drop_table(table)
