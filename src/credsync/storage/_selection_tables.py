"""The tables of saved import selections and onboarding (revision 0027): a client's saved
selections of a directory's people and groups (what to import, how often, how the last run
went), each run of one (its counts and refused lines), and the onboarding record of a person
imported into a group with a provisioning policy. Declared here, named and imported through
:mod:`credsync.storage.tables`; their owners are :mod:`credsync.storage.import_selections`
(``import_selections``, ``import_selection_runs``) and :mod:`credsync.storage.onboarding`
(``person_onboarding``)."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from credsync.storage._schema import ID, TS, metadata

# A saved selection: ``spec`` is JSON (ids or query, groups, members, into_group, policy);
# ``interval_seconds`` None: run by hand only. ``name_key``: the case-folded name, unique per
# client. ``next_run_at``: when the agent runs it next (None: manual or disabled).
import_selections = Table(
    "import_selections",
    metadata,
    Column("id", ID, primary_key=True),
    Column("client_id", ID, ForeignKey("clients.id"), nullable=False),
    Column("directory_id", ID, ForeignKey("directories.id"), nullable=False),
    Column("name", String(100), nullable=False),
    Column("name_key", String(100), nullable=False),
    Column("spec", Text, nullable=False),
    Column("interval_seconds", Integer),
    Column("enabled", Boolean, nullable=False),
    Column("next_run_at", TS),
    Column("last_run_at", TS),
    Column("last_state", String(16)),
    Column("last_totals", Text),  # JSON: the last finished run's counts
    Column("version", Integer, nullable=False),
    Column("created_at", TS, nullable=False),
    Column("created_by", String(64), nullable=False),
    Column("updated_at", TS, nullable=False),
    Column("updated_by", String(64), nullable=False),
    UniqueConstraint("client_id", "name_key"),
    Index("ix_import_selections_next_run_at", "next_run_at"),
    Index("ix_import_selections_directory_id", "directory_id"),
)

# One run of a saved selection. A ``running`` run with a fresh ``heartbeat_at`` holds the
# selection's lease (one run of a selection at a time, across processes); ``totals`` and
# ``refused`` (JSON) are its report: counts, and the refused lines with why.
import_selection_runs = Table(
    "import_selection_runs",
    metadata,
    Column("id", ID, primary_key=True),
    Column("selection_id", ID, ForeignKey("import_selections.id"), nullable=False),
    Column("trigger", String(16), nullable=False),  # agent | manual
    Column("actor", String(64), nullable=False),
    Column("owner", String(128), nullable=False),
    Column("state", String(16), nullable=False),  # running | done | failed | aborted
    Column("started_at", TS, nullable=False),
    Column("heartbeat_at", TS, nullable=False),
    Column("finished_at", TS),
    Column("totals", Text, nullable=False),
    Column("refused", Text, nullable=False),
    Column("message", Text, nullable=False),
    Index("ix_import_selection_runs_selection_id", "selection_id", "started_at"),
)

# A person imported into a group with a provisioning policy: the group, the folder and sync
# mode their primary credential got (``sync_mode``: the one wanted once they have a password),
# whether they are to be sent an onboarding invitation, and ``awaiting`` (no password yet).
person_onboarding = Table(
    "person_onboarding",
    metadata,
    Column("person_id", ID, ForeignKey("people.id"), primary_key=True),
    Column("client_id", ID, ForeignKey("clients.id"), nullable=False),
    Column("group_id", ID),
    Column("folder", String(500), nullable=False),
    Column("sync_mode", String(16), nullable=False),
    Column("invite", Boolean, nullable=False),
    Column("awaiting", Boolean, nullable=False),
    Column("created_at", TS, nullable=False),
    Column("created_by", String(64), nullable=False),
)
