"""SQLite's kept counts added to their row in place (issue 20: the overview with 500
clients): revisions 0048 and 0049 made SQLite's triggers on ``links`` and ``credentials`` add
a row of +1 / -1 to ``link_counts`` / ``credential_counts`` for every link or credential
written, so after an import of 116,910 credentials and their 126,829 links the counts held a
row each until the hourly prune folded them, and the overview summed 243,000 rows to read
~3,600 figures (on the benchmark's vault, at load 12: the checks by status 176 ms, the
clients' list 71 ms, against 28 and 9 ms once folded). SQLite has one writer at a time, so
what kept PostgreSQL's rows insert-only (writers never waiting for each other on a count
row) does not apply: each trigger now adds its +n / -n to the row of its key (directory and
status; client and kind) when there is one, through the tables' own indexes, and adds a row
only for a new key. PostgreSQL is left as it is (its statement triggers add a row per
statement and status; the hourly prune folds them). The rows there are folded first.

The downgrade puts back 0048's and 0049's row-adding triggers (the rows stay valid: sums).

Revision ID: 0050
Revises: 0049
Create Date: 2026-12-08
"""

from __future__ import annotations

from alembic import op

revision = "0050"
down_revision = "0049"
branch_labels = None
depends_on = None


def _add(table: str, keys: dict[str, str], n: str, when: str = "") -> str:
    """Statements adding ``n`` to the row of ``table`` whose ``keys`` (column -> value, NULL
    alike) hold, or a row of it when there is none (and ``when`` holds, if given)."""
    match = " AND ".join(f"{column} IS ({value})" for column, value in keys.items())
    guard = f" AND {when}" if when else ""
    return (
        f"UPDATE {table} SET n = n + {n} WHERE rowid = "  # noqa: S608 - our names, no input
        f"(SELECT rowid FROM {table} WHERE {match} LIMIT 1){guard};\n"
        f"    INSERT INTO {table} ({', '.join(keys)}, n) "
        f"SELECT {', '.join(f'({v})' for v in keys.values())}, {n} "
        f"WHERE NOT EXISTS (SELECT 1 FROM {table} WHERE {match}){guard};"
    )


def _link(side: str, n: str) -> str:
    return _add(
        "link_counts", {"directory_id": f"{side}.directory_id", "status": f"{side}.status"}, n
    )


def _credential(side: str, n: str, when: str = "") -> str:
    keys = {"client_id": f"{side}.client_id", "directory_admin": f"{side}.type = 'directory_admin'"}
    return _add("credential_counts", keys, n, when)


_LINKS_MOVED = "OLD.status IS NOT NEW.status OR OLD.directory_id IS NOT NEW.directory_id"
_CREDENTIALS_MOVED = (
    "OLD.client_id IS NOT NEW.client_id OR OLD.type IS NOT NEW.type "
    "OR (OLD.deleted_at IS NULL) <> (NEW.deleted_at IS NULL)"
)
_IN_PLACE = (
    f"""CREATE TRIGGER tr_links_counted_added AFTER INSERT ON links BEGIN
    {_link("NEW", "1")}
END""",
    f"""CREATE TRIGGER tr_links_counted_removed AFTER DELETE ON links BEGIN
    {_link("OLD", "-1")}
END""",
    f"""CREATE TRIGGER tr_links_counted_moved AFTER UPDATE OF status, directory_id ON links
WHEN {_LINKS_MOVED} BEGIN
    {_link("OLD", "-1")}
    {_link("NEW", "1")}
END""",
    f"""CREATE TRIGGER tr_credentials_counted_added AFTER INSERT ON credentials
WHEN NEW.deleted_at IS NULL BEGIN
    {_credential("NEW", "1")}
END""",
    f"""CREATE TRIGGER tr_credentials_counted_removed AFTER DELETE ON credentials
WHEN OLD.deleted_at IS NULL BEGIN
    {_credential("OLD", "-1")}
END""",
    f"""CREATE TRIGGER tr_credentials_counted_moved
AFTER UPDATE OF client_id, type, deleted_at ON credentials
WHEN {_CREDENTIALS_MOVED} BEGIN
    {_credential("OLD", "-1", "OLD.deleted_at IS NULL")}
    {_credential("NEW", "1", "NEW.deleted_at IS NULL")}
END""",
)
# 0048's and 0049's: a row for every change
_ROW_EACH = (
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
WHEN {_CREDENTIALS_MOVED} BEGIN
    INSERT INTO credential_counts (client_id, directory_admin, n)
    SELECT OLD.client_id, OLD.type = 'directory_admin', -1 WHERE OLD.deleted_at IS NULL;
    INSERT INTO credential_counts (client_id, directory_admin, n)
    SELECT NEW.client_id, NEW.type = 'directory_admin', 1 WHERE NEW.deleted_at IS NULL;
END""",
)
_TRIGGERS = (
    "tr_links_counted_added",
    "tr_links_counted_removed",
    "tr_links_counted_moved",
    "tr_credentials_counted_added",
    "tr_credentials_counted_removed",
    "tr_credentials_counted_moved",
)
_FOLD = (
    "CREATE TEMPORARY TABLE folded AS SELECT directory_id, status, sum(n) AS n "
    "FROM link_counts GROUP BY directory_id, status HAVING sum(n) <> 0",
    "DELETE FROM link_counts",
    "INSERT INTO link_counts (directory_id, status, n) SELECT directory_id, status, n FROM folded",
    "DROP TABLE folded",
    "CREATE TEMPORARY TABLE folded AS SELECT client_id, directory_admin, sum(n) AS n "
    "FROM credential_counts GROUP BY client_id, directory_admin HAVING sum(n) <> 0",
    "DELETE FROM credential_counts",
    "INSERT INTO credential_counts (client_id, directory_admin, n) "
    "SELECT client_id, directory_admin, n FROM folded",
    "DROP TABLE folded",
)


def _replace(triggers: tuple[str, ...]) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return  # PostgreSQL's statement triggers stay
    for name in _TRIGGERS:
        op.execute(f"DROP TRIGGER {name}")
    for statement in triggers:
        op.execute(statement)


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for statement in _FOLD:
            op.execute(statement)
    _replace(_IN_PLACE)


def downgrade() -> None:
    _replace(_ROW_EACH)
