"""The group export's table (revision 0031): each directory's settings for exporting the
client's groups to it (issue 16, "Provision to Office 365", group part). Declared here, named
and imported through :mod:`credsync.storage.tables`; its owner is
:mod:`credsync.storage.group_export`.

One row per directory (a directory belongs to one client, so this is per client and
directory; ``client_id`` is kept for reading a client's settings at once): the matching rule
(``type_and_email`` or ``name``), whether a group no directory group matches is created,
whether duplicates are removed, and which side is the source of truth of membership
(``vault`` or ``directory``).
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, ForeignKey, Index, Integer, String, Table

from credsync.storage._schema import ID, TS, metadata

group_export_settings = Table(
    "group_export_settings",
    metadata,
    Column("directory_id", ID, ForeignKey("directories.id"), primary_key=True),
    Column("client_id", ID, ForeignKey("clients.id"), nullable=False),
    Column("matching", String(16), nullable=False),  # type_and_email | name
    Column("create_missing", Boolean, nullable=False),
    Column("remove_duplicates", Boolean, nullable=False),
    Column("membership_source", String(16), nullable=False),  # vault | directory
    Column("version", Integer, nullable=False),
    Column("updated_at", TS, nullable=False),
    Column("updated_by", String(64), nullable=False),
    Index("ix_group_export_settings_client_id", "client_id"),
)
