"""A directory's kind-specific settings become one JSON document (``settings``), checked by
its kind's descriptor (credsync.connectors.<kind>.kind): the URL, base DN, TLS server name,
tenant id, application id and authority columns move into it. A new kind needs no migration.

The columns with a value are copied as they are (each kind left the others empty: Entra's
``base_dn`` was "", Active Directory's tenant columns NULL), so every existing directory keeps
working. ``bind_kind`` stays a column: it is how any kind's bind credential is used (which of
the kind's ways to sign in; NULL for a kind with one way).

Columns are added and dropped in place (SQLite >= 3.35 drops columns itself): rebuilding the
table, as Alembic's batch mode does, would drop a table other tables' rows refer to, which
SQLite's foreign keys refuse inside the migration's transaction.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_MOVED = ("url", "base_dn", "tls_server_name", "tenant_id", "app_id", "authority")
_SIZES = {"url": 2048, "base_dn": 2048, "tls_server_name": 255, "tenant_id": 255,
          "app_id": 64, "authority": 2048}  # fmt: skip
_REQUIRED = ("url", "base_dn")  # NOT NULL before this revision


def _table() -> sa.TableClause:
    return sa.table(
        "directories",
        sa.column("id", sa.String),
        sa.column("settings", sa.Text),
        *(sa.column(name, sa.String) for name in _MOVED),
    )


def _drop(column: str) -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(f"ALTER TABLE directories DROP COLUMN {column}")
    else:
        op.drop_column("directories", column)


def upgrade() -> None:
    # NOT NULL from the start: SQLite adds such a column only with a default (kept there;
    # the code always writes the value).
    op.add_column(
        "directories", sa.Column("settings", sa.Text, nullable=False, server_default="{}")
    )
    conn = op.get_bind()
    table = _table()
    for row in conn.execute(sa.select(table)).mappings().all():
        settings = {name: row[name] for name in _MOVED if row[name] not in (None, "")}
        conn.execute(
            table.update()
            .where(table.c.id == row["id"])
            .values(settings=json.dumps(settings, sort_keys=True))
        )
    if conn.dialect.name != "sqlite":
        op.alter_column("directories", "settings", server_default=None)
    for name in _MOVED:
        _drop(name)


def downgrade() -> None:
    conn = op.get_bind()
    for name in _MOVED:
        required = name in _REQUIRED
        op.add_column(
            "directories",
            sa.Column(
                name,
                sa.String(_SIZES[name]),
                nullable=not required,
                server_default="" if required else None,
            ),
        )
    table = _table()
    for row in conn.execute(sa.select(table.c.id, table.c.settings)).all():
        settings = json.loads(row.settings)
        values = {name: settings.get(name) for name in _MOVED}
        for name in _REQUIRED:
            values[name] = values[name] or ""
        conn.execute(table.update().where(table.c.id == row.id).values(**values))
    if conn.dialect.name != "sqlite":
        for name in _REQUIRED:
            op.alter_column("directories", name, server_default=None)
    _drop("settings")
