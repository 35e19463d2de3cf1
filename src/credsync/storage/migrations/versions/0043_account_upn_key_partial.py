"""The account cache's UPN index holds only the UPNs that are not the username (issue 19: a
Graph full scan of 100,000 users within 2.5x of bare paging).

A cached account's ``upn_key`` is now written only when it differs from its ``username_key``
(an Entra user's username is its UPN: the key was the same string twice, in the row and in a
second index of 100,000 entries); the name lookup asks both columns, so an account is found
by its UPN either way. ``ix_directory_accounts_upn_key`` becomes partial (``WHERE upn_key IS
NOT NULL``), so those rows put nothing in it. Rows written before keep their ``upn_key`` (it
is as true as before) until they are written again; a downgrade restores the whole index and
leaves the rows as they are (the older lookup asks both columns too).

Revision ID: 0043
Revises: 0041
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0043"
down_revision = "0041"
branch_labels = None
depends_on = None

_INDEX = "ix_directory_accounts_upn_key"
_HAS_UPN_KEY = "upn_key IS NOT NULL"


def upgrade() -> None:
    op.drop_index(_INDEX, "directory_accounts")
    op.create_index(
        _INDEX,
        "directory_accounts",
        ["directory_id", "upn_key"],
        sqlite_where=sa.text(_HAS_UPN_KEY),
        postgresql_where=sa.text(_HAS_UPN_KEY),
    )


def downgrade() -> None:
    op.drop_index(_INDEX, "directory_accounts")
    op.create_index(_INDEX, "directory_accounts", ["directory_id", "upn_key"])
