"""Quarantine (revision 0037): ``quarantine_items``, the actions a run held back because its
plan or the directory's changes crossed a threshold (see :mod:`credsync.sync.quarantine`),
each until an operator approves, discards, restores or accepts it; and (revision 0040)
``quarantine_defaults``, the vault-wide values of the thresholds (one row per threshold an
admin set; a directory's own option overrides it). Declared here, named and imported through
:mod:`credsync.storage.tables`; their owners are :mod:`credsync.storage.quarantine`
(``quarantine_items``) and :mod:`credsync.storage.quarantine_defaults`
(``quarantine_defaults``)."""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Index, Integer, String, Table

from credsync.storage._schema import ID, TS, metadata

quarantine_items = Table(
    "quarantine_items",
    metadata,
    Column("id", ID, primary_key=True),
    Column("client_id", ID, nullable=False),
    Column("directory_id", ID, ForeignKey("directories.id"), nullable=False),
    Column("run_id", ID, nullable=False),  # the run that held it back
    Column("direction", String(8), nullable=False),  # outbound | inbound | people | groups
    Column("credential_id", ID),
    Column("account_id", String(64), nullable=False),
    Column("account_name", String(255), nullable=False),
    # outbound: push | relay; inbound: disabled | deleted | password_changed;
    # people: create | disable | delete; groups: create | remove_member | delete
    Column("action", String(20), nullable=False),
    Column("observed", String(80), nullable=False),  # the state it was held in
    Column("reason", String(1000), nullable=False),
    Column("state", String(12), nullable=False),  # held|approved|discarded|restored|accepted
    Column("created_at", TS, nullable=False),
    Column("decided_at", TS),
    Column("decided_by", String(64)),
    Column("decided_run_id", ID),  # the run that carried out an approval or a restore
    Column("outcome", String(1000)),
    Index("ix_quarantine_items_directory_id_state", "directory_id", "state"),
)

# The vault-wide thresholds (revision 0040): ``name`` is push_cap, push_cap_percent,
# inbound_cap or inbound_cap_percent; a threshold without a row takes the built-in default.
quarantine_defaults = Table(
    "quarantine_defaults",
    metadata,
    Column("name", String(40), primary_key=True),
    Column("value", Integer, nullable=False),
    Column("updated_at", TS, nullable=False),
    Column("updated_by", String(64), nullable=False),
)
