"""Links confirmed before they push, pushes recorded before they are made, and a run's cached
account total (issue 13).

- ``links.link_confirmed_at`` / ``link_confirmed_by``: when and by whom a link was confirmed
  for pushes (an operator with directory.setup). A link a run makes by matching names is
  stored without them and pushes nothing until confirmed (see credsync.sync.confirm). Links
  made before this revision stay as they were: they count as confirmed, by
  ``schema upgrade`` at the time they were made.
- ``links.push_attempt_*``: a push under way (its run, the secret version sent, the
  account's password stamp before it, when), written in the transaction that records the
  intent before the directory write and cleared with its outcome. One left behind by a run
  that stopped is an outcome unknown, settled by the next run with one lockout-safe check.
- ``runs.accounts_total``: the accounts of the directory the vault knows (its account cache)
  when the run ended, beside ``accounts_read`` (what this pass read).

Columns are added and dropped in place, as revision 0010 does.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-10
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
UPGRADED_BY = "schema upgrade"  # who confirmed the links that existed before this revision

_LINK_COLUMNS = (
    ("link_confirmed_at", TS),
    ("link_confirmed_by", sa.String(64)),
    ("push_attempt_run", sa.String(36)),
    ("push_attempt_version", sa.Integer),
    ("push_attempt_stamp", sa.String(64)),
    ("push_attempt_at", TS),
)


def _drop(table: str, column: str) -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
    else:
        op.drop_column(table, column)


def upgrade() -> None:
    for name, type_ in _LINK_COLUMNS:
        op.add_column("links", sa.Column(name, type_))
    op.add_column("runs", sa.Column("accounts_total", sa.Integer))
    links = sa.table(
        "links",
        sa.column("linked_at", TS),
        sa.column("link_confirmed_at", TS),
        sa.column("link_confirmed_by", sa.String),
    )
    op.get_bind().execute(
        links.update().values(link_confirmed_at=links.c.linked_at, link_confirmed_by=UPGRADED_BY)
    )


def downgrade() -> None:
    # Without the columns every link pushes again as it did before this revision, and a push
    # attempt whose outcome is unknown is forgotten (the runs push what still differs).
    _drop("runs", "accounts_total")
    for name, _ in reversed(_LINK_COLUMNS):
        _drop("links", name)
