"""People's and groups' search terms (storage.words.identity_terms, revision 0033): fewer
index entries, the same search. Checked against the terms of revision 0026 (words, joined
parts, username and e-mail whole) by brute force over varied records and queries, and the
revision's rebuild down and up again on both backends."""

from __future__ import annotations

import random

import sqlalchemy as sa
from alembic import command

from credsync.storage.database import SCHEMA_REVISION
from credsync.storage.migrate import alembic_config
from credsync.storage.words import identity_terms, terms_of, words
from vault.helpers import VaultWorld

NAMES = ["Anna", "Ann", "Annabel", "Berg", "Bergström", "Ólafur", "Łukasz", "Ng", "O'Brien",
         "Jean-Luc", "Müller", "Zoë", "李", "Ψ", "Al", "Alan"]  # fmt: skip


def _matches(terms: set[str], query: str) -> bool:
    return all(any(t.startswith(w) for t in terms) for w in dict.fromkeys(words(query)))


def test_the_example() -> None:
    texts = ["Anna", "Berg", "Anna Berg", "anna.berg@contoso.com", "anna.berg@contoso.com"]
    assert identity_terms(texts) == {"annabergcontosocom", "berg", "com", "contoso"}


def test_a_query_finds_exactly_what_it_found_with_the_former_terms() -> None:
    rng = random.Random(16)
    for _ in range(400):
        given, surname = rng.choice(NAMES), rng.choice(NAMES)
        sep = rng.choice([".", "_", "-", "", "+"])
        username = rng.choice(
            [f"{given}{sep}{surname}{rng.randint(1, 9)}@contoso.com", f"DOM\\{given}{surname}",
             f"{given} {surname}", f"_{given.lower()}"]
        )  # fmt: skip
        email = rng.choice(["", f"{surname}.{given}@fabrikam.co.uk", username])
        texts = [given, surname, f"{given} {surname}", username, email]
        old = terms_of(texts, whole=[username, email])
        new = identity_terms(texts)
        assert new <= old
        pool = [*old, *words(" ".join(texts)), "contoso", "zz", "anna berg", "dom al"]
        for _ in range(30):
            term = rng.choice(pool)
            query = term[: rng.randint(1, max(1, len(term)))]
            if rng.random() < 0.3:
                query += " " + rng.choice(pool)[:3]
            if not list(words(query)):
                continue
            assert _matches(new, query) == _matches(old, query), (texts, query)


def _terms(conn: sa.Connection, table: str) -> set[str]:
    return set(conn.execute(sa.text(f"SELECT term FROM {table}")).scalars())  # noqa: S608


def test_0033_rebuilds_the_terms_down_and_up_again(world: VaultWorld) -> None:
    vault, admin = world.vault, world.admin
    vault.clients.add(admin, world.keys, "Contoso")
    person = vault.people.add(
        admin, "Contoso", {"username": "anna.berg@contoso.com", "given_name": "Anna",
                           "surname": "Berg", "email": "anna.berg@contoso.com"},
    )  # fmt: skip
    group = vault.groups.add(admin, "Contoso", {"name": "Sales Team", "email": "sales@contoso.com"})
    with world.db.engine.begin() as conn:
        assert _terms(conn, "people_terms") == {"annabergcontosocom", "berg", "com", "contoso"}
        command.downgrade(alembic_config(conn), "0026")
        assert {"anna", "anna.berg@contoso.com"} <= _terms(conn, "people_terms")
        assert "sales@contoso.com" in _terms(conn, "group_terms")
    world.db.upgrade()
    assert world.db.schema_revision() == SCHEMA_REVISION
    with world.db.engine.connect() as conn:
        assert _terms(conn, "people_terms") == {"annabergcontosocom", "berg", "com", "contoso"}
        assert _terms(conn, "group_terms") == {"com", "contoso", "salescontosocom", "team"}
    for query in ("ann ber", "anna.berg", "annaberg", "contoso", "co"):
        assert [p.id for p in vault.people.search(admin, query)] == [person.id], query
    assert [g.id for g in vault.groups.search(admin, "sal tea")] == [group.id]
