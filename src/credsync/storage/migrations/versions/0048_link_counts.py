"""Links counted by directory and status (issue 20: the dashboard with 500 clients on
PostgreSQL): ``link_counts`` rows of (directory, status, +/-n), added by triggers on
``links`` whenever a link is made, removed, or moves to another status or directory (an
update that leaves both alone fires nothing: a periodic run's links in step cost nothing
more). Rows are only ever added, so writers never wait for each other on a count; the
overview sums them (~a row a directory and status once folded together by the hourly prune,
``credsync.storage.link_counts.fold``) instead of counting all 126,829 links of the benchmark's
vault (60 ms on PostgreSQL under load). Made from the links there are, in one statement.

PostgreSQL: statement triggers with transition tables for inserts and deletes (a bulk insert
of a first run's 5,000 links adds one row per status, not 5,000), a row trigger for status
changes. SQLite: row triggers.

The downgrade drops the triggers and the table.

Revision ID: 0048
Revises: 0047
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0048"
down_revision = "0047"
branch_labels = None
depends_on = None

_POSTGRESQL = (
    """CREATE FUNCTION link_counts_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO link_counts (directory_id, status, n)
    SELECT directory_id, status, count(*) FROM added GROUP BY directory_id, status;
    RETURN NULL;
END $$""",
    """CREATE FUNCTION link_counts_removed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO link_counts (directory_id, status, n)
    SELECT directory_id, status, -count(*) FROM removed GROUP BY directory_id, status;
    RETURN NULL;
END $$""",
    """CREATE FUNCTION link_counts_moved() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO link_counts (directory_id, status, n)
    VALUES (OLD.directory_id, OLD.status, -1), (NEW.directory_id, NEW.status, 1);
    RETURN NULL;
END $$""",
    """CREATE TRIGGER tr_links_counted_added AFTER INSERT ON links
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION link_counts_added()""",
    """CREATE TRIGGER tr_links_counted_removed AFTER DELETE ON links
    REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION link_counts_removed()""",
    """CREATE TRIGGER tr_links_counted_moved AFTER UPDATE OF status, directory_id ON links
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status
                       OR OLD.directory_id IS DISTINCT FROM NEW.directory_id)
    EXECUTE FUNCTION link_counts_moved()""",
)
_SQLITE = (
    """CREATE TRIGGER tr_links_counted_added AFTER INSERT ON links BEGIN
    INSERT INTO link_counts (directory_id, status, n) VALUES (NEW.directory_id, NEW.status, 1);
END""",
    """CREATE TRIGGER tr_links_counted_removed AFTER DELETE ON links BEGIN
    INSERT INTO link_counts (directory_id, status, n) VALUES (OLD.directory_id, OLD.status, -1);
END""",
    """CREATE TRIGGER tr_links_counted_moved AFTER UPDATE OF status, directory_id ON links
WHEN OLD.status IS NOT NEW.status OR OLD.directory_id IS NOT NEW.directory_id BEGIN
    INSERT INTO link_counts (directory_id, status, n)
    VALUES (OLD.directory_id, OLD.status, -1), (NEW.directory_id, NEW.status, 1);
END""",
)
_TRIGGERS = ("tr_links_counted_added", "tr_links_counted_removed", "tr_links_counted_moved")
_FUNCTIONS = ("link_counts_added", "link_counts_removed", "link_counts_moved")


def upgrade() -> None:
    op.create_table(
        "link_counts",
        sa.Column("directory_id", sa.String(36), nullable=False),
        sa.Column("status", sa.String(32), nullable=True),
        sa.Column("n", sa.Integer(), nullable=False),
    )
    op.create_index("ix_link_counts_directory", "link_counts", ["directory_id", "status", "n"])
    postgresql = op.get_bind().dialect.name == "postgresql"
    for statement in _POSTGRESQL if postgresql else _SQLITE:
        op.execute(statement)
    op.execute(
        "INSERT INTO link_counts (directory_id, status, n) "
        "SELECT directory_id, status, count(*) FROM links GROUP BY directory_id, status"
    )


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for name in _TRIGGERS:
        op.execute(f"DROP TRIGGER {name} ON links" if postgresql else f"DROP TRIGGER {name}")
    if postgresql:
        for function in _FUNCTIONS:
            op.execute(f"DROP FUNCTION {function}()")
    op.drop_index("ix_link_counts_directory", table_name="link_counts")
    op.drop_table("link_counts")
