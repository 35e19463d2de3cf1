"""The few credentials the overview's counts take off (in the trash, directory_admin ones)
read from their partial index alone (issue 20: the overview on PostgreSQL with 500 clients):
``ix_credentials_set_apart`` held only the ids, so each of the overview's ~6 statements that
look them up fetched every one of those rows to test ``deleted_at`` (1,925 rows, 1,613 pages,
8-17 ms a statement on the benchmark's vault under load); now the index carries
``deleted_at``, ``type``, ``client_id`` and ``password_changed_at`` too, so they are an
index-only scan. The index stays partial (the same condition), so it stays small and can't
draw other searches away from the credentials' other indexes.

And live credentials counted by client (``credential_counts``: client, directory_admin or
not, +/-n), kept by triggers on ``credentials`` as 0048's ``link_counts`` is by those on
``links``: the clients' list (every overview) summed ~1,000 rows instead of grouping every
credential outside the trash (116,085 index entries, ~36 ms on PostgreSQL under load).
PostgreSQL: statement triggers with transition tables for inserts and deletes (an import of
5,000 credentials adds a row or two, not 5,000), a row trigger for updates that move a
credential to or from the trash, to or from directory_admin, or to another client. SQLite:
row triggers. Made from the credentials there are, in one statement.

The downgrade drops the triggers and the table, and puts back the index of the ids alone.

Revision ID: 0049
Revises: 0048
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0049"
down_revision = "0048"
branch_labels = None
depends_on = None

SET_APART = "(deleted_at IS NOT NULL OR type = 'directory_admin')"  # as in storage.tables
_NAME = "ix_credentials_set_apart"
_COLUMNS = ["id", "deleted_at", "type", "client_id", "password_changed_at"]


def _create(columns: list[str]) -> None:
    op.create_index(
        _NAME,
        "credentials",
        columns,
        sqlite_where=sa.text(SET_APART),
        postgresql_where=sa.text(SET_APART),
    )


_MOVED = (
    "OLD.client_id IS DISTINCT FROM NEW.client_id OR OLD.type IS DISTINCT FROM NEW.type "
    "OR (OLD.deleted_at IS NULL) <> (NEW.deleted_at IS NULL)"
)
_POSTGRESQL = (
    """CREATE FUNCTION credential_counts_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO credential_counts (client_id, directory_admin, n)
    SELECT client_id, type = 'directory_admin', count(*) FROM added WHERE deleted_at IS NULL
    GROUP BY client_id, type = 'directory_admin';
    RETURN NULL;
END $$""",
    """CREATE FUNCTION credential_counts_removed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO credential_counts (client_id, directory_admin, n)
    SELECT client_id, type = 'directory_admin', -count(*) FROM removed WHERE deleted_at IS NULL
    GROUP BY client_id, type = 'directory_admin';
    RETURN NULL;
END $$""",
    """CREATE FUNCTION credential_counts_moved() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.deleted_at IS NULL THEN
        INSERT INTO credential_counts (client_id, directory_admin, n)
        VALUES (OLD.client_id, OLD.type = 'directory_admin', -1);
    END IF;
    IF NEW.deleted_at IS NULL THEN
        INSERT INTO credential_counts (client_id, directory_admin, n)
        VALUES (NEW.client_id, NEW.type = 'directory_admin', 1);
    END IF;
    RETURN NULL;
END $$""",
    """CREATE TRIGGER tr_credentials_counted_added AFTER INSERT ON credentials
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT
    EXECUTE FUNCTION credential_counts_added()""",
    """CREATE TRIGGER tr_credentials_counted_removed AFTER DELETE ON credentials
    REFERENCING OLD TABLE AS removed FOR EACH STATEMENT
    EXECUTE FUNCTION credential_counts_removed()""",
    f"""CREATE TRIGGER tr_credentials_counted_moved
    AFTER UPDATE OF client_id, type, deleted_at ON credentials
    FOR EACH ROW WHEN ({_MOVED}) EXECUTE FUNCTION credential_counts_moved()""",
)
_SQLITE = (
    """CREATE TRIGGER tr_credentials_counted_added AFTER INSERT ON credentials
WHEN NEW.deleted_at IS NULL BEGIN
    INSERT INTO credential_counts (client_id, directory_admin, n)
    VALUES (NEW.client_id, NEW.type = 'directory_admin', 1);
END""",
    """CREATE TRIGGER tr_credentials_counted_removed AFTER DELETE ON credentials
WHEN OLD.deleted_at IS NULL BEGIN
    INSERT INTO credential_counts (client_id, directory_admin, n)
    VALUES (OLD.client_id, OLD.type = 'directory_admin', -1);
END""",
    f"""CREATE TRIGGER tr_credentials_counted_moved
AFTER UPDATE OF client_id, type, deleted_at ON credentials
WHEN {_MOVED.replace("IS DISTINCT FROM", "IS NOT")} BEGIN
    INSERT INTO credential_counts (client_id, directory_admin, n)
    SELECT OLD.client_id, OLD.type = 'directory_admin', -1 WHERE OLD.deleted_at IS NULL;
    INSERT INTO credential_counts (client_id, directory_admin, n)
    SELECT NEW.client_id, NEW.type = 'directory_admin', 1 WHERE NEW.deleted_at IS NULL;
END""",
)
_TRIGGERS = (
    "tr_credentials_counted_added",
    "tr_credentials_counted_removed",
    "tr_credentials_counted_moved",
)
_FUNCTIONS = ("credential_counts_added", "credential_counts_removed", "credential_counts_moved")


def upgrade() -> None:
    op.drop_index(_NAME, "credentials")
    _create(_COLUMNS)
    op.create_table(
        "credential_counts",
        sa.Column("client_id", sa.String(36), nullable=False),
        sa.Column("directory_admin", sa.Boolean(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
    )
    op.create_index(
        "ix_credential_counts_client", "credential_counts", ["client_id", "directory_admin", "n"]
    )
    postgresql = op.get_bind().dialect.name == "postgresql"
    for statement in _POSTGRESQL if postgresql else _SQLITE:
        op.execute(statement)
    op.execute(
        "INSERT INTO credential_counts (client_id, directory_admin, n) "
        "SELECT client_id, type = 'directory_admin', count(*) FROM credentials "
        "WHERE deleted_at IS NULL GROUP BY client_id, type = 'directory_admin'"
    )


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for name in _TRIGGERS:
        op.execute(f"DROP TRIGGER {name} ON credentials" if postgresql else f"DROP TRIGGER {name}")
    if postgresql:
        for function in _FUNCTIONS:
            op.execute(f"DROP FUNCTION {function}()")
    op.drop_index("ix_credential_counts_client", table_name="credential_counts")
    op.drop_table("credential_counts")
    op.drop_index(_NAME, "credentials")
    _create(["id"])
