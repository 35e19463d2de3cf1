"""The schema, as SQLAlchemy Core tables. Migrations under ``migrations/`` build the same thing.

Secrets are only ever stored sealed (``*_ct`` / ``ciphertext`` columns). Names that must be
unique regardless of case carry a ``*_key`` column (the case-folded name) with a unique index.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
    true,
)

from credsync.storage._schema import ID, SET_APART, TERM, TS, metadata

__all__ = [
    "SET_APART",
    "api_tokens",
    "audit_log",
    "auto_create_settings",
    "auto_created",
    "capture_forwarders",
    "capture_keys",
    "capture_ledger",
    "capture_nonces",
    "capture_pending",
    "cli_sessions",
    "clients",
    "credential_counts",
    "credential_tags",
    "credentials",
    "deleted_keeps",
    "directories",
    "directory_accounts",
    "federated_domains",
    "federation_identities",
    "flags",
    "folders",
    "group_export_settings",
    "group_members",
    "group_objects",
    "group_terms",
    "groups",
    "idp_requests",
    "idp_signing_keys",
    "import_selection_runs",
    "import_selections",
    "link_counts",
    "links",
    "mail_settings",
    "metadata",
    "mfa_recovery_codes",
    "operator_clients",
    "operator_group_maps",
    "operator_identities",
    "operator_mfa",
    "operators",
    "password_policies",
    "people",
    "people_terms",
    "person_accounts",
    "person_key_challenges",
    "person_links",
    "person_mfa",
    "person_onboarding",
    "person_security_keys",
    "person_sessions",
    "person_sign_in_failures",
    "provisioned_people",
    "provisioning_settings",
    "quarantine_defaults",
    "quarantine_items",
    "relay_pairs",
    "relays",
    "remote_agent_directories",
    "remote_agents",
    "roles",
    "run_days",
    "run_items",
    "runs",
    "search_terms",
    "secret_versions",
    "self_service_settings",
    "sign_in_failures",
    "sign_in_providers",
    "sync_queue",
    "vault_meta",
    "webauthn_challenges",
    "webauthn_credentials",
]

vault_meta = Table(
    "vault_meta",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("kdf_salt", LargeBinary, nullable=False),
    Column("kdf_time_cost", Integer, nullable=False),
    Column("kdf_memory_kib", Integer, nullable=False),
    Column("kdf_parallelism", Integer, nullable=False),
    Column("kek_check", LargeBinary, nullable=False),
    Column("key_generation", Integer, nullable=False),
    Column("audit_head_seq", BigInteger, nullable=False),
    Column("audit_head_hash", String(64), nullable=False),
    Column("created_at", TS, nullable=False),
    Column("rotated_at", TS),
    # 0018: MFA required of everyone; the key sealing TOTP seeds (credsync.vault.mfa)
    Column("mfa_required", Boolean, nullable=False, server_default=text("false")),
    Column("mfa_key", LargeBinary),
)

roles = Table(
    "roles",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("description", String(500), nullable=False),
    Column("permissions", Text, nullable=False),  # JSON list of permission names
    Column("builtin", Boolean, nullable=False),
    Column("created_at", TS, nullable=False),
    Column("mfa_required", Boolean, nullable=False, server_default=text("false")),  # 0018
)

operators = Table(
    "operators",
    metadata,
    Column("id", ID, primary_key=True),
    Column("name", String(64), nullable=False),
    Column("name_key", String(64), nullable=False, unique=True),
    Column("password_hash", String(255), nullable=False),
    Column("role", String(64), ForeignKey("roles.name"), nullable=False),
    Column("created_at", TS, nullable=False),
    Column("updated_at", TS, nullable=False),
    Column("disabled_at", TS),
    Column("last_login_at", TS),
    # False: only the clients in operator_clients (per-client access); true: every client.
    Column("all_clients", Boolean, nullable=False, server_default=true()),
)

operator_clients = Table(
    "operator_clients",
    metadata,
    Column("operator_id", ID, ForeignKey("operators.id"), primary_key=True),
    Column("client_id", ID, ForeignKey("clients.id"), primary_key=True),
    Column("created_at", TS, nullable=False),
    Index("ix_operator_clients_client", "client_id"),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", ID, primary_key=True),
    Column("operator_id", ID, ForeignKey("operators.id"), nullable=False, index=True),
    Column("name", String(100), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_at", TS, nullable=False),
    Column("expires_at", TS),
    Column("last_used_at", TS),
    Column("revoked_at", TS),
)

cli_sessions = Table(
    "cli_sessions",
    metadata,
    Column("id", ID, primary_key=True),
    Column("operator_id", ID, ForeignKey("operators.id"), nullable=False, index=True),
    Column("sealed_kek", LargeBinary, nullable=False),
    Column("key_generation", Integer, nullable=False),
    Column("created_at", TS, nullable=False),
    Column("expires_at", TS, nullable=False),
    Column("mfa_passed", Boolean, nullable=False, server_default=text("false")),  # 0018
)

# Failed sign-ins (revision 0008): one row per failure and key, the HMAC-SHA256 under a key of
# the vault's (revision 0011; 0008 stored plain SHA-256) of the name and address, the address or
# the name (no attacker-chosen text, no addresses in clear, nothing to guess back), so that every
# server process on the vault counts them together. Only the window's rows are kept. See
# credsync.api.state.
sign_in_failures = Table(
    "sign_in_failures",
    metadata,
    Column("id", ID, primary_key=True),
    Column("key_hash", String(64), nullable=False),
    Column("at", TS, nullable=False),
    Index("ix_sign_in_failures_key_at", "key_hash", "at"),
    Index("ix_sign_in_failures_at", "at"),
)

# Browser sessions of the web dashboard: only the cookie's SHA-256 is stored; the CSRF token
# is sent back in a header (or form field) on every unsafe request.
web_sessions = Table(
    "web_sessions",
    metadata,
    Column("id", ID, primary_key=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("operator_id", ID, ForeignKey("operators.id"), nullable=False, index=True),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", TS, nullable=False),
    Column("expires_at", TS, nullable=False),
    Column("last_seen_at", TS, nullable=False),
    Column("ended_at", TS),
    # 0018: "passed" (the second factor), "none" (none to pass), "enrol" (may only enrol)
    Column("mfa", String(8), nullable=False, server_default="none"),
)

# Operators' second factor (0018; credsync.storage.mfa): the sealed TOTP seed, pending until
# confirmed, and the last time step accepted (no replay); recovery codes as SHA-256 only.
operator_mfa = Table(
    "operator_mfa",
    metadata,
    Column("operator_id", ID, ForeignKey("operators.id"), primary_key=True),
    Column("seed_ct", LargeBinary, nullable=False),
    Column("created_at", TS, nullable=False),
    Column("confirmed_at", TS),
    Column("last_step", BigInteger),
)

mfa_recovery_codes = Table(
    "mfa_recovery_codes",
    metadata,
    Column("id", ID, primary_key=True),
    Column("operator_id", ID, ForeignKey("operators.id"), nullable=False, index=True),
    Column("code_hash", String(64), nullable=False),
    Column("created_at", TS, nullable=False),
    Column("used_at", TS),
)

# Operators' security keys and passkeys (0020; credsync.storage.webauthn): the public key, the
# authenticator's sign count (a count going backwards is refused) and the key's name; and the
# challenges handed out for a WebAuthn ceremony, each taken once.
webauthn_credentials = Table(
    "webauthn_credentials",
    metadata,
    Column("id", ID, primary_key=True),
    Column("operator_id", ID, ForeignKey("operators.id"), nullable=False, index=True),
    Column("credential_id", String(1400), nullable=False, unique=True),
    Column("public_key", LargeBinary, nullable=False),
    Column("sign_count", BigInteger, nullable=False),
    Column("transports", String(200), nullable=False, server_default=""),
    Column("name", String(64), nullable=False),
    Column("created_at", TS, nullable=False),
    Column("last_used_at", TS),
)

webauthn_challenges = Table(
    "webauthn_challenges",
    metadata,
    Column("challenge", String(128), primary_key=True),
    Column("operator_id", ID, ForeignKey("operators.id"), nullable=False, index=True),
    Column("purpose", String(16), nullable=False),
    Column("expires_at", TS, nullable=False),
)

clients = Table(
    "clients",
    metadata,
    Column("id", ID, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("name_key", String(200), nullable=False, unique=True),
    Column("directory_sync", Boolean, nullable=False),
    Column("default_sync_mode", String(16), nullable=False),
    Column("wrapped_data_key", LargeBinary, nullable=False),
    Column("version", Integer, nullable=False),
    Column("created_at", TS, nullable=False),
    Column("updated_at", TS, nullable=False),
    Column("archived_at", TS),
    # Whole days between password changes (NULL: no rotation asked; revision 0019).
    Column("rotate_every_days", Integer),
)

folders = Table(
    "folders",
    metadata,
    Column("id", ID, primary_key=True),
    Column("client_id", ID, ForeignKey("clients.id"), nullable=False),
    Column("path", String(500), nullable=False),
    Column("path_key", String(500), nullable=False),
    Column("created_at", TS, nullable=False),
    UniqueConstraint("client_id", "path_key"),
)

credentials = Table(
    "credentials",
    metadata,
    Column("id", ID, primary_key=True),
    Column("client_id", ID, ForeignKey("clients.id"), nullable=False),
    Column("folder_id", ID, ForeignKey("folders.id")),
    Column("title", String(255), nullable=False),
    Column("title_key", String(255), nullable=False),
    Column("username", String(512), nullable=False),
    Column("url", String(2048), nullable=False),
    Column("type", String(32), nullable=False),
    Column("sync_mode", String(16)),  # NULL: the client's default
    Column("notes_ct", LargeBinary),
    Column("secret_version", Integer, nullable=False),
    Column("version", Integer, nullable=False),
    Column("created_at", TS, nullable=False),
    Column("created_by", String(64), nullable=False),
    Column("updated_at", TS, nullable=False),
    Column("updated_by", String(64), nullable=False),
    Column("password_changed_at", TS, nullable=False),
    Column("deleted_at", TS),
    Column("deleted_by", String(64)),
    Index("ix_credentials_client_title", "client_id", "title_key", "id"),
    # No index led by deleted_at on purpose: nearly every row has NULL there, and SQLite,
    # without statistics, would drive searches from it and read the whole table. This one
    # covers the per-client counts (client list, dashboard) so they read an index, not rows;
    # type comes before deleted_at so that a client's list keeps using the title index.
    Index("ix_credentials_client_type_deleted", "client_id", "type", "deleted_at"),
    # The few credentials some lists leave out (in the trash, or directory_admin ones): a
    # partial index, used only by queries that repeat its condition (revision 0016; see
    # credsync.storage.overview), so it can't draw other searches away from the ones above.
    # The overview's password ages per client, from the index alone (revision 0016).
    Index("ix_credentials_client_changed", "client_id", "password_changed_at"),
    # Covering (revision 0049): the overview reads them from the index alone.
    Index(
        "ix_credentials_set_apart",
        "id",
        "deleted_at",
        "type",
        "client_id",
        "password_changed_at",
        sqlite_where=text(SET_APART),
        postgresql_where=text(SET_APART),
    ),
)

credential_tags = Table(
    "credential_tags",
    metadata,
    Column("credential_id", ID, ForeignKey("credentials.id"), primary_key=True),
    Column("tag", String(64), primary_key=True),
    Index("ix_credential_tags_tag", "tag", "credential_id"),
)

# Word-prefix search: every word of title, username, url and tags, case-folded.
search_terms = Table(
    "search_terms",
    metadata,
    # Clustered by (client, term): a search is one range scan of one B-tree, and an import
    # appends each client's terms side by side. No rowid on SQLite: the key is the row.
    Column("client_id", ID, primary_key=True),
    Column("term", TERM, primary_key=True),
    Column("credential_id", ID, ForeignKey("credentials.id"), primary_key=True),
    # (credential_id, term): reindexing deletes by credential; a multi-word search probes
    # "has this credential a term starting with ..." from the index alone.
    Index("ix_search_terms_credential", "credential_id", "term"),
    sqlite_with_rowid=False,
)

secret_versions = Table(
    "secret_versions",
    metadata,
    Column("credential_id", ID, ForeignKey("credentials.id"), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("ciphertext", LargeBinary, nullable=False),
    Column("source", String(32), nullable=False),
    Column("reason", String(500), nullable=False),
    Column("created_at", TS, nullable=False),
    Column("created_by", String(64), nullable=False),
)

password_policies = Table(
    "password_policies",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("spec", Text, nullable=False),  # JSON
    Column("created_at", TS, nullable=False),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("at", TS, nullable=False),
    Column("actor", String(64), nullable=False),
    Column("action", String(64), nullable=False),
    Column("target_type", String(32), nullable=False),
    Column("target_id", String(64), nullable=False),
    Column("client_id", ID),
    Column("details", Text, nullable=False),  # canonical JSON
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    Index("ix_audit_log_action", "action", "seq"),
    Index("ix_audit_log_target", "target_id", "seq"),
)


# Remote agents (revision 0038).
from credsync.storage._agent_tables import remote_agent_directories, remote_agents  # noqa: E402

# Auto-create's tables (revision 0024), in their own module too.
from credsync.storage._auto_create_tables import (  # noqa: E402
    auto_create_settings,
    auto_created,
)

# The capture tables (revision 0023).
from credsync.storage._capture_tables import (  # noqa: E402
    capture_forwarders,
    capture_keys,
    capture_ledger,
    capture_nonces,
    capture_pending,
)

# The group export's settings (revision 0031).
from credsync.storage._group_export_tables import group_export_settings  # noqa: E402

# The identity provider's keys, federated domains and sign-in requests (revision 0034).
from credsync.storage._idp_tables import (  # noqa: E402
    federated_domains,
    federation_identities,
    idp_requests,
    idp_signing_keys,
)

# The deleted-objects check's keep decisions (revision 0029).
from credsync.storage._keep_tables import deleted_keeps  # noqa: E402

# The people and groups tables (revision 0026).
from credsync.storage._people_tables import (  # noqa: E402
    group_members,
    group_objects,
    group_terms,
    groups,
    people,
    people_terms,
    person_accounts,
)

# People signing in: their second factors, failures and portal sessions (revision 0035).
from credsync.storage._person_auth_tables import (  # noqa: E402
    person_key_challenges,
    person_mfa,
    person_security_keys,
    person_sessions,
    person_sign_in_failures,
)

# Provisioning people's tables (revision 0030).
from credsync.storage._provision_tables import (  # noqa: E402
    provisioned_people,
    provisioning_settings,
)

# The relay tables (revision 0025).
from credsync.storage._quarantine_tables import (  # noqa: E402
    quarantine_defaults,
    quarantine_items,
)
from credsync.storage._relay_tables import relay_pairs, relays  # noqa: E402

# Saved import selections and onboarding (revision 0027).
from credsync.storage._selection_tables import (  # noqa: E402
    import_selection_runs,
    import_selections,
    person_onboarding,
)

# Mail and self-service (revision 0036).
from credsync.storage._self_service_tables import (  # noqa: E402
    mail_settings,
    person_links,
    self_service_settings,
)

# Operators who sign in with an identity provider (revision 0032).
from credsync.storage._sign_in_tables import (  # noqa: E402
    operator_group_maps,
    operator_identities,
    sign_in_providers,
)

# The directory-sync tables, declared in their own module (this one would pass 500 lines).
from credsync.storage._sync_tables import (  # noqa: E402
    credential_counts,
    directories,
    directory_accounts,
    flags,
    link_counts,
    links,
    run_days,
    run_items,
    runs,
    sync_queue,
)
