"""Failed sign-ins keyed by HMAC: the sign-in limiter now stores each key (a name and address,
an address, a name) as its HMAC-SHA256 under a key derived from the vault's master key, where
revision 0008 stored a plain SHA-256 of the name or address (what was typed as a name, a
password sometimes, could be guessed back from it). The rows keyed the old way are deleted: they
are counts of the last five minutes, which the new keys would never match, and the digests of
typed names must not stay in the database. The schema itself does not change.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("DELETE FROM sign_in_failures")


def downgrade() -> None:
    # The HMAC-keyed rows mean nothing to the older limiter: they go the same way.
    op.execute("DELETE FROM sign_in_failures")
