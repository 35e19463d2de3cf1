"""The deleted-objects check's ``keep`` decisions (revision 0029): a person's or group's
directory object that an operator chose to keep as it is (deleted or disabled there), with
the state it was kept in (``stamp``): the check does not ask about it again while the object
is in that state. Declared here, named and imported through :mod:`credsync.storage.tables`;
their owner is :mod:`credsync.storage.deleted_keeps`."""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, String, Table

from credsync.storage._schema import ID, TS, metadata

deleted_keeps = Table(
    "deleted_keeps",
    metadata,
    Column("directory_id", ID, ForeignKey("directories.id"), primary_key=True),
    Column("kind", String(8), primary_key=True),  # person | group
    Column("object_id", String(64), primary_key=True),
    Column("stamp", String(80), nullable=False),  # e.g. deleted:2026-12-06T22:55:07+00:00
    Column("kept_at", TS, nullable=False),
    Column("kept_by", String(64), nullable=False),
)
