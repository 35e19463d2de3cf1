"""The search index made anew with folded words (credsync.storage.words): case and accents
folded ("Café" is ``cafe``), split on punctuation and underscores, and punctuated words also
kept joined ("Wi-Fi" is ``wi``, ``fi`` and ``wifi``). Every credential's terms, those in the
trash too, are made again from its title, username, url and tags; the table is unchanged.

The downgrade makes them as revision 0010 did (case-folded ``\\w+`` words, the username and
tags whole), so the code of that revision finds what it found before.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

import sqlalchemy as sa
from alembic import op

from credsync.storage.words import MAX_TERM, terms_for

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

_BATCH = 2000

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
    """Every credential's terms made anew by ``terms``, a batch of credentials at a time."""
    conn = op.get_bind()
    conn.execute(search_terms.delete())
    last = ""
    while True:
        rows = conn.execute(
            sa.select(credentials)
            .where(credentials.c.id > last)
            .order_by(credentials.c.id)
            .limit(_BATCH)
        ).all()
        if not rows:
            return
        tags: dict[str, list[str]] = {}
        found = conn.execute(
            sa.select(credential_tags).where(
                credential_tags.c.credential_id.in_([r.id for r in rows])
            )
        )
        for tag in found:
            tags.setdefault(tag.credential_id, []).append(tag.tag)
        values = [
            {"client_id": r.client_id, "term": term, "credential_id": r.id}
            for r in rows
            for term in sorted(terms(r.title, r.username, r.url, tags.get(r.id, [])))
        ]
        if values:
            conn.execute(search_terms.insert(), values)
        last = rows[-1].id


_WORD_0010 = re.compile(r"\w+", re.UNICODE)


def _terms_0010(title: str, username: str, url: str, tags: Iterable[str]) -> set[str]:
    def words(text: str) -> list[str]:
        return [word[:MAX_TERM] for word in _WORD_0010.findall(text.casefold())]

    found: set[str] = set()
    for text in (title, username):
        found.update(words(text))
    found.update(word for word in words(url) if word not in {"http", "https", "www"})
    if username:
        found.add(username.casefold()[:MAX_TERM])
    for tag in tags:
        found.add(tag[:MAX_TERM])
        found.update(words(tag))
    found.discard("")
    return found


def upgrade() -> None:
    _rebuild(terms_for)


def downgrade() -> None:
    _rebuild(_terms_0010)
