"""The directory-sync tables (revision 0002 on): directories, the accounts read from them,
links, runs and their items, flags and the push queue. Declared here, named and imported
through :mod:`credsync.storage.tables` like every other table."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from credsync.storage._schema import ID, TS, metadata

# -- directory sync (revision 0002) ------------------------------------------------------------

directories = Table(
    "directories",
    metadata,
    Column("id", ID, primary_key=True),
    Column("client_id", ID, ForeignKey("clients.id"), nullable=False, index=True),
    Column("name", String(100), nullable=False),
    Column("name_key", String(100), nullable=False, unique=True),
    Column("kind", String(32), nullable=False),
    # JSON (revision 0009): the kind's own settings (URL, base DN, tenant...), checked by its
    # descriptor (credsync.connectors.<kind>.kind); a new kind needs no new column.
    Column("settings", Text, nullable=False),
    Column("bind_credential_id", ID, ForeignKey("credentials.id"), nullable=False),
    # Which of the kind's ways to sign in the bind credential is for (NULL: its only one).
    Column("bind_kind", String(16)),
    Column("ca_pem", Text),  # the trusted CA certificates themselves, not a path
    Column("insecure_skip_verify", Boolean, nullable=False),
    Column("options", Text, nullable=False),  # JSON: interval, push cap, kind-specific
    Column("cursor", Text),  # incremental read position; written only after a whole run
    Column("full_pass_at", TS),  # the last complete full read
    Column("account_count", Integer),  # accounts read by the last full pass (safety rail)
    Column("next_run_at", TS),
    Column("failures", Integer, nullable=False),  # consecutive failed runs (agent backoff)
    Column("version", Integer, nullable=False),
    Column("created_at", TS, nullable=False),
    Column("updated_at", TS, nullable=False),
)

# What the directory last told us about each account in scope (the planner's input).
directory_accounts = Table(
    "directory_accounts",
    metadata,
    Column("directory_id", ID, ForeignKey("directories.id"), primary_key=True),
    Column("account_id", String(64), primary_key=True),
    Column("username", String(512), nullable=False),
    Column("upn", String(512)),
    Column("domain", String(64)),
    Column("display_name", String(512)),
    Column("dn", String(2048)),
    Column("enabled", Boolean, nullable=False),
    Column("locked_out", Boolean, nullable=False),
    Column("password_expired", Boolean, nullable=False),
    Column("must_change_password", Boolean, nullable=False),
    Column("password_stamp", String(64)),
    Column("password_changed_at", TS),
    Column("synced_from_on_premises", Boolean, nullable=False),
    Column("protected", Boolean, nullable=False),
    Column("password_changed_by", String(512)),  # who and how, where the directory logs it
    Column("seen_at", TS, nullable=False),
    # username and upn case-folded: an incremental run looks up only the accounts an unlinked
    # credential may match by name, instead of loading the whole cache. ``upn_key`` only when
    # it is not the username's (0043: an Entra user's username is its UPN), indexed where set.
    Column("username_key", String(512)),
    Column("upn_key", String(512)),
    Index("ix_directory_accounts_username_key", "directory_id", "username_key"),
    Index(
        "ix_directory_accounts_upn_key",
        "directory_id",
        "upn_key",
        sqlite_where=text("upn_key IS NOT NULL"),
        postgresql_where=text("upn_key IS NOT NULL"),
    ),
)

# Credential <-> account, kept by the account's stable id; and what we last knew of it.
links = Table(
    "links",
    metadata,
    Column("credential_id", ID, ForeignKey("credentials.id"), primary_key=True),
    Column("directory_id", ID, ForeignKey("directories.id"), primary_key=True),
    Column("account_id", String(64), nullable=False),
    Column("linked_at", TS, nullable=False),
    Column("linked_by", String(64), nullable=False),
    # The directory's password stamp and the vault's secret version at the last good check or
    # push: both unchanged means in step, with no bind.
    Column("confirmed_stamp", String(64)),
    Column("confirmed_secret_version", Integer),
    Column("confirmed_at", TS),
    # A failed bind is never repeated for the same password stamp (lockout safety).
    Column("failed_stamp", String(64)),
    Column("failed_secret_version", Integer),
    # An operator accepted the directory's password as it is at this stamp (no password known).
    Column("accepted_stamp", String(64)),
    Column("status", String(32)),
    Column("detail", Text),
    Column("checked_at", TS),
    # Confirmed for pushes by an operator with directory.setup (revision 0012): a link a run
    # made by matching names pushes nothing until then. See credsync.sync.confirm.
    Column("link_confirmed_at", TS),
    Column("link_confirmed_by", String(64)),
    # A push under way (revision 0012): recorded before the directory write, cleared with its
    # outcome; one left by a run that stopped is settled by the next run's check first.
    Column("push_attempt_run", ID),
    Column("push_attempt_version", Integer),
    Column("push_attempt_stamp", String(64)),
    Column("push_attempt_at", TS),
    UniqueConstraint("directory_id", "account_id"),
    Index("ix_links_account", "account_id"),
    # The overview's checks by directory and status, counted from the index alone (0016).
    Index("ix_links_directory_status", "directory_id", "status"),
)

runs = Table(
    "runs",
    metadata,
    Column("id", ID, primary_key=True),
    Column("directory_id", ID, ForeignKey("directories.id"), nullable=False),
    Column("client_id", ID, ForeignKey("clients.id"), nullable=False),
    Column("kind", String(16), nullable=False),  # full | incremental | push
    Column("trigger", String(16), nullable=False),  # cli | agent | api | resolve
    Column("dry_run", Boolean, nullable=False),
    Column("actor", String(64), nullable=False),
    Column("state", String(16), nullable=False),  # running | done | aborted | failed
    Column("message", Text, nullable=False),
    Column("summary", Text, nullable=False),  # JSON counts by status and action
    Column("accounts_read", Integer, nullable=False),  # by this pass (incremental: changed)
    Column("accounts_total", Integer),  # the directory's accounts cached at its end (0012)
    Column("started_at", TS, nullable=False),
    Column("finished_at", TS),
    # The run's lease on its directory (revision 0007): its last sign of life, and the process
    # running it (host:pid). See credsync.sync.lease.
    Column("heartbeat_at", TS),
    Column("owner", String(255)),
    # When the retention deleted the run's items (revision 0045; null: never).
    Column("items_pruned_at", TS),
    Index("ix_runs_directory_started", "directory_id", "started_at"),
    # The runs since a time, and a month of them counted a day from the index alone (0021).
    Index("ix_runs_started_state", "started_at", "dry_run", "state", "client_id"),
    Index("ix_runs_state_directory", "state", "directory_id"),
)

# Runs a day (revision 0046): per UTC day of their start, directory and state, the runs that
# are not dry runs, kept as runs start and end (credsync.storage.run_days), so that the
# overview reads a month of runs as ~a row a directory, day and state, not every run.
run_days = Table(
    "run_days",
    metadata,
    Column("day", String(10), primary_key=True),  # YYYY-MM-DD (UTC)
    Column("directory_id", ID, ForeignKey("directories.id"), primary_key=True),
    Column("state", String(16), primary_key=True),
    Column("client_id", ID, ForeignKey("clients.id"), nullable=False),
    Column("n", Integer, nullable=False),
    Index("ix_run_days_day_client", "day", "client_id", "state", "n"),
)

# Links counted by directory and status (revision 0048), kept by triggers on ``links`` that
# the migration made: a link made, removed or moved to another status (or directory) adds rows
# of +/-n, never an update, so that writers never wait for each other on a count (PostgreSQL;
# SQLite's one writer adds to the key's row in place, revision 0050); summed by the
# overview (credsync.storage.link_counts), folded together by the hourly prune.
link_counts = Table(
    "link_counts",
    metadata,
    Column("directory_id", ID, nullable=False),
    Column("status", String(32)),  # NULL: not checked yet, as links.status
    Column("n", Integer, nullable=False),
    Index("ix_link_counts_directory", "directory_id", "status", "n"),
)

# Live credentials (outside the trash) counted by client and whether they are of type
# directory_admin (revision 0049), kept by triggers on ``credentials`` as link_counts is by
# those on ``links``; summed by the clients' list (credsync.storage.credential_counts),
# folded together by the hourly prune.
credential_counts = Table(
    "credential_counts",
    metadata,
    Column("client_id", ID, nullable=False),
    Column("directory_admin", Boolean, nullable=False),
    Column("n", Integer, nullable=False),
    Index("ix_credential_counts_client", "client_id", "directory_admin", "n"),
)

run_items = Table(
    "run_items",
    metadata,
    Column("run_id", ID, ForeignKey("runs.id"), primary_key=True),
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("credential_id", ID),
    Column("account_id", String(64)),
    Column("account_name", String(512), nullable=False),
    Column("status", String(32), nullable=False),
    Column("action", String(16), nullable=False),
    Column("detail", Text, nullable=False),
    Column("at", TS, nullable=False),
    Index("ix_run_items_credential", "credential_id", "at"),
    Index("ix_run_items_at", "at"),  # the retention's prune, oldest first (0045)
)

flags = Table(
    "flags",
    metadata,
    Column("id", ID, primary_key=True),
    Column("client_id", ID, ForeignKey("clients.id"), nullable=False),
    Column("credential_id", ID, ForeignKey("credentials.id"), nullable=False),
    Column("directory_id", ID, ForeignKey("directories.id"), nullable=False),
    Column("account_id", String(64)),
    Column("status", String(32), nullable=False),
    Column("detail", Text, nullable=False),
    Column("run_id", ID),
    Column("opened_at", TS, nullable=False),
    Column("updated_at", TS, nullable=False),
    Column("resolved_at", TS),
    Column("resolved_by", String(64)),
    Column("resolution", String(32)),
    Index("ix_flags_open", "resolved_at", "client_id"),
    Index("ix_flags_credential", "credential_id", "directory_id", "resolved_at"),
    # The overview's flags opened a day (revision 0016).
    Index("ix_flags_opened", "opened_at"),
    # A directory's open flags and those resolved since a time: an incremental run's search
    # (flags.touched_since, revision 0047).
    Index("ix_flags_directory_open", "directory_id", "resolved_at", "status"),
)

# Pushes waiting for the agent (a secret changed in the vault under enforce); kept in the
# database so a restart loses nothing. Rows are claimed with a lease. See
# credsync.storage.push_queue.
sync_queue = Table(
    "sync_queue",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("credential_id", ID, ForeignKey("credentials.id"), nullable=False),
    Column("directory_id", ID, ForeignKey("directories.id"), nullable=False),
    Column("secret_version", Integer, nullable=False),
    Column("enqueued_at", TS, nullable=False),
    Column("not_before", TS, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("last_error", Text),
    Column("claimed_by", String(100)),
    Column("claimed_until", TS),
    # Given up (revision 0010, the dead letter): kept for people to see, never claimed again.
    Column("dead_at", TS),
    Column("dead_reason", Text),
    # The agent's poll: rows not given up, due (revision 0010; before: not_before alone).
    Index("ix_sync_queue_due", "dead_at", "not_before"),
    # A credential's pushes: its page, a newer change replacing a given-up one, a purge.
    Index("ix_sync_queue_credential", "credential_id", "directory_id"),
)
