"""Provisioning people's tables (revision 0030): each target directory's provisioning
settings, and the directory users provisioning wrote to (one row per user: the person it is
and the password version set there). Declared here, named and imported through
:mod:`credsync.storage.tables`; their owner is :mod:`credsync.storage.provisioning`."""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Index, Integer, String, Table

from credsync.storage._schema import ID, TS, metadata

provisioning_settings = Table(
    "provisioning_settings",
    metadata,
    Column("directory_id", ID, ForeignKey("directories.id"), primary_key=True),
    Column("username_template", String(200), nullable=False),
    Column("upn_suffix", String(255), nullable=False),
    Column("licence", String(64), nullable=False),  # a SKU part number or id; "" none
    Column("usage_location", String(2), nullable=False),  # "" none
    Column("passwords", String(16), nullable=False),  # vault | onboarding
    Column("version", Integer, nullable=False),
    Column("updated_at", TS, nullable=False),
    Column("updated_by", String(64), nullable=False),
)

# A directory user provisioning created or wrote to. No foreign key to the person: a purged
# person's row says which directory user was theirs.
provisioned_people = Table(
    "provisioned_people",
    metadata,
    Column("directory_id", ID, ForeignKey("directories.id"), primary_key=True),
    Column("object_id", String(64), primary_key=True),
    Column("person_id", ID, nullable=False),
    Column("created", Integer, nullable=False),  # 1: provisioning created the user
    # the primary credential's secret version set as the user's password (NULL: none yet)
    Column("credential_id", ID),
    Column("secret_version", Integer),
    Column("updated_at", TS, nullable=False),
    Column("updated_by", String(64), nullable=False),
    Index("ix_provisioned_people_person", "person_id"),
)
