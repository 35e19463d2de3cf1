"""The people and groups tables (revision 0026): a client's people (their identity
attributes, the primary login credential, the directory that is the source of truth of some
of their attributes), the accounts each has in the client's directories, the client's
groups, their members (people and groups), the directory objects a group is, and the word
index of both. Declared here, named and imported through :mod:`credsync.storage.tables`;
their owners are :mod:`credsync.storage.people` (``people``, ``person_accounts``),
:mod:`credsync.storage.groups` (``groups``, ``group_members``, ``group_objects``) and
:mod:`credsync.storage.identity_search` (``people_terms``, ``group_terms``).

Lengths are Microsoft Graph's where it has one (givenName, surname, department 64, jobTitle
128, displayName 256, mail and userPrincipalName fit 320, usageLocation 2), so a person
imported from Office 365 always fits.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, ForeignKey, Index, Integer, String, Table, UniqueConstraint

from credsync.storage._schema import ID, TERM, TS, metadata

# A person of a client. ``username_key`` is the case-folded username, unique per client (a
# person in the trash keeps theirs). ``source_directory_id`` is the directory that is the
# source of truth of the attributes named in ``sourced`` (comma-separated; empty: none, the
# vault owns them all): those are read-only in the vault.
people = Table(
    "people",
    metadata,
    Column("id", ID, primary_key=True),
    Column("client_id", ID, ForeignKey("clients.id"), nullable=False),
    Column("given_name", String(64), nullable=False),
    Column("surname", String(64), nullable=False),
    Column("display_name", String(256), nullable=False),
    Column("display_key", String(256), nullable=False),
    Column("username", String(320), nullable=False),
    Column("username_key", String(320), nullable=False),
    Column("email", String(320), nullable=False),
    Column("usage_location", String(2), nullable=False),
    Column("department", String(64), nullable=False),
    Column("job_title", String(128), nullable=False),
    Column("enabled", Boolean, nullable=False),
    Column("credential_id", ID, ForeignKey("credentials.id")),
    Column("source_directory_id", ID, ForeignKey("directories.id")),
    Column("sourced", String(200), nullable=False),
    Column("version", Integer, nullable=False),
    Column("created_at", TS, nullable=False),
    Column("created_by", String(64), nullable=False),
    Column("updated_at", TS, nullable=False),
    Column("updated_by", String(64), nullable=False),
    Column("deleted_at", TS),
    Column("deleted_by", String(64)),
    UniqueConstraint("client_id", "username_key"),
    # A client's list, by display name (the page cursor is (display_key, id)).
    Index("ix_people_client_display", "client_id", "display_key", "id"),
    Index("ix_people_credential_id", "credential_id"),
)

# A person's account in one of the client's directories, known by its stable id there
# (objectGUID, the Graph object id). One account per person and directory; one person per
# account.
person_accounts = Table(
    "person_accounts",
    metadata,
    Column("person_id", ID, ForeignKey("people.id"), primary_key=True),
    Column("directory_id", ID, ForeignKey("directories.id"), primary_key=True),
    Column("object_id", String(64), nullable=False),
    Column("linked_at", TS, nullable=False),
    Column("linked_by", String(64), nullable=False),
    UniqueConstraint("directory_id", "object_id"),
)

# A group of a client: security or Microsoft 365. Names need not be unique (Entra's need not
# be either); ``name_key`` orders the list. Sourced attributes as for people.
groups = Table(
    "groups",
    metadata,
    Column("id", ID, primary_key=True),
    Column("client_id", ID, ForeignKey("clients.id"), nullable=False),
    Column("name", String(256), nullable=False),
    Column("name_key", String(256), nullable=False),
    Column("type", String(16), nullable=False),  # security | microsoft365
    Column("email", String(320), nullable=False),
    Column("description", String(1024), nullable=False),
    Column("source_directory_id", ID, ForeignKey("directories.id")),
    Column("sourced", String(200), nullable=False),
    Column("version", Integer, nullable=False),
    Column("created_at", TS, nullable=False),
    Column("created_by", String(64), nullable=False),
    Column("updated_at", TS, nullable=False),
    Column("updated_by", String(64), nullable=False),
    Column("deleted_at", TS),
    Column("deleted_by", String(64)),
    Index("ix_groups_client_name", "client_id", "name_key", "id"),
)

# A member of a group: a person or another group (``member_type``), of the same client. No
# foreign key on member_id (it names one of two tables); a purge removes its memberships.
group_members = Table(
    "group_members",
    metadata,
    Column("group_id", ID, ForeignKey("groups.id"), primary_key=True),
    Column("member_id", ID, primary_key=True),
    Column("member_type", String(8), nullable=False),  # person | group
    Column("added_at", TS, nullable=False),
    Column("added_by", String(64), nullable=False),
    # The groups a person or a group is in (the cycle check walks up from here).
    Index("ix_group_members_member_id", "member_id", "group_id"),
)

# The object a group is in one of the client's directories (for the import and provisioning).
group_objects = Table(
    "group_objects",
    metadata,
    Column("group_id", ID, ForeignKey("groups.id"), primary_key=True),
    Column("directory_id", ID, ForeignKey("directories.id"), primary_key=True),
    Column("object_id", String(64), nullable=False),
    Column("linked_at", TS, nullable=False),
    Column("linked_by", String(64), nullable=False),
    UniqueConstraint("directory_id", "object_id"),
)

# Word-prefix search, as ``search_terms`` for credentials (see credsync.storage.words):
# clustered by (client, term), no rowid on SQLite.
people_terms = Table(
    "people_terms",
    metadata,
    Column("client_id", ID, primary_key=True),
    Column("term", TERM, primary_key=True),
    Column("person_id", ID, ForeignKey("people.id"), primary_key=True),
    Index("ix_people_terms_person", "person_id", "term"),
    sqlite_with_rowid=False,
)

group_terms = Table(
    "group_terms",
    metadata,
    Column("client_id", ID, primary_key=True),
    Column("term", TERM, primary_key=True),
    Column("group_id", ID, ForeignKey("groups.id"), primary_key=True),
    Index("ix_group_terms_group", "group_id", "term"),
    sqlite_with_rowid=False,
)
