"""Credentials' search terms made anew with :func:`credsync.storage.words.credential_terms`
(issue 19: a 2-word search among 1,000,000 credentials on PostgreSQL under 50 ms beside a test
run): the words and joined parts of a credential's title, username, url and tags less every
term that starts another one, and no username or tag whole. A search finds exactly what it
found before, from about half the index entries (12.3 terms a credential before, in the
benchmark's data). Every credential's terms, those in the trash too, are made again; the table
is unchanged. On PostgreSQL the terms' statistics target becomes 5,000 (a histogram bucket for
every ~0.02% of the terms), from which the search estimates how common a word is
(credsync.storage.term_stats) instead of counting its entries.

The downgrade makes them as revision 0013 did (``terms_for``: the username and tags also
whole, and every word).

Revision ID: 0041
Revises: 0040
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import sqlalchemy as sa
from alembic import op

from credsync.storage.words import credential_terms, terms_for

revision = "0041"
down_revision = "0040"
branch_labels = None
depends_on = None

_BATCH = 5000
_TARGET = 5000  # credsync.storage.term_stats.STATISTICS_TARGET when this revision was made

credentials = sa.table(
    "credentials",
    sa.column("id", sa.String),
    sa.column("client_id", sa.String),
    sa.column("title", sa.String),
    sa.column("username", sa.String),
    sa.column("url", sa.String),
)
credential_tags = sa.table(
    "credential_tags", sa.column("credential_id", sa.String), sa.column("tag", sa.String)
)
search_terms = sa.table(
    "search_terms",
    sa.column("client_id", sa.String),
    sa.column("term", sa.String),
    sa.column("credential_id", sa.String),
)

Terms = Callable[[str, str, str, Iterable[str]], set[str]]


def _rebuild(terms: Terms) -> None:
    """Every credential's terms made anew by ``terms``, a batch of credentials at a time
    (each batch's terms written in key order)."""
    conn = op.get_bind()
    conn.execute(search_terms.delete())
    last = ""
    columns = [credentials.c[name] for name in ("id", "client_id", "title", "username", "url")]
    while True:
        rows = conn.execute(
            sa.select(*columns)
            .where(credentials.c.id > last)
            .order_by(credentials.c.id)
            .limit(_BATCH)
        ).all()
        if not rows:
            return
        tags: dict[str, list[str]] = {}
        found = conn.execute(
            sa.select(credential_tags.c.credential_id, credential_tags.c.tag).where(
                credential_tags.c.credential_id.in_([r.id for r in rows])
            )
        )
        for credential_id, tag in found:
            tags.setdefault(credential_id, []).append(tag)
        values = [
            {"client_id": client_id, "term": term, "credential_id": credential_id}
            for client_id, term, credential_id in sorted(
                (r.client_id, term, r.id)
                for r in rows
                for term in terms(r.title, r.username, r.url, tags.get(r.id, []))
            )
        ]
        if values:
            conn.execute(search_terms.insert(), values)
        last = rows[-1].id


def upgrade() -> None:
    _rebuild(credential_terms)
    if op.get_bind().dialect.name == "postgresql":
        # Finer statistics of the terms: the search's estimates of common words (term_stats).
        op.execute(f"ALTER TABLE search_terms ALTER COLUMN term SET STATISTICS {_TARGET}")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE search_terms ALTER COLUMN term SET STATISTICS -1")
    _rebuild(terms_for)
