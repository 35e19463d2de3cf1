"""People's and groups' search terms made anew with :func:`credsync.storage.words.identity_terms`
(issue 16's search target: p95 under 50 ms among 1,000,000 people across every client): the
words and joined parts of their texts less every term that starts another one, and no text
whole. A search finds exactly what it found before, from about a third of the index entries
(a given name's range held ~5 entries a person; now ~1). Every person's and group's terms,
those in the trash too, are made again; the tables are unchanged.

The downgrade makes them as revision 0026 did (``terms_of`` with the username and e-mail
whole).

Revision ID: 0033
Revises: 0032
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import sqlalchemy as sa
from alembic import op

from credsync.storage.words import identity_terms, terms_of

revision = "0033"
down_revision = "0032"
branch_labels = None
depends_on = None

_BATCH = 5000

people = sa.table(
    "people",
    sa.column("id", sa.String),
    sa.column("client_id", sa.String),
    sa.column("given_name", sa.String),
    sa.column("surname", sa.String),
    sa.column("display_name", sa.String),
    sa.column("username", sa.String),
    sa.column("email", sa.String),
)
groups = sa.table(
    "groups",
    sa.column("id", sa.String),
    sa.column("client_id", sa.String),
    sa.column("name", sa.String),
    sa.column("email", sa.String),
)
people_terms = sa.table(
    "people_terms",
    sa.column("client_id", sa.String),
    sa.column("term", sa.String),
    sa.column("person_id", sa.String),
)
group_terms = sa.table(
    "group_terms",
    sa.column("client_id", sa.String),
    sa.column("term", sa.String),
    sa.column("group_id", sa.String),
)

# (texts, the texts also kept whole) of a row -> its terms
Terms = Callable[[Sequence[str], Sequence[str]], set[str]]


def _rebuild(
    table: sa.TableClause,
    terms_table: sa.TableClause,
    owner: str,
    fields: Sequence[str],
    whole: Sequence[str],
    terms: Terms,
) -> None:
    """Every row's terms made anew by ``terms``, a batch of rows at a time."""
    conn = op.get_bind()
    conn.execute(terms_table.delete())
    last = ""
    columns = [table.c.id, table.c.client_id, *(table.c[f] for f in fields)]
    while True:
        rows = conn.execute(
            sa.select(*columns).where(table.c.id > last).order_by(table.c.id).limit(_BATCH)
        ).all()
        if not rows:
            return
        values = [
            {"client_id": r.client_id, "term": term, owner: r.id}
            for r in rows
            for term in sorted(
                terms([getattr(r, f) for f in fields], [getattr(r, f) for f in whole])
            )
        ]
        if values:
            conn.execute(terms_table.insert(), values)
        last = rows[-1].id


def _new(texts: Sequence[str], _whole: Sequence[str]) -> set[str]:
    return identity_terms(texts)


def _old(texts: Sequence[str], whole: Sequence[str]) -> set[str]:
    return terms_of(texts, whole=whole)


_PEOPLE = ("given_name", "surname", "display_name", "username", "email")


def upgrade() -> None:
    _rebuild(people, people_terms, "person_id", _PEOPLE, ("username", "email"), _new)
    _rebuild(groups, group_terms, "group_id", ("name", "email"), ("email",), _new)


def downgrade() -> None:
    _rebuild(people, people_terms, "person_id", _PEOPLE, ("username", "email"), _old)
    _rebuild(groups, group_terms, "group_id", ("name", "email"), ("email",), _old)
