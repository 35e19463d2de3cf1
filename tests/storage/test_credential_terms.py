"""Credentials' search terms (storage.words.credential_terms, revision 0041): fewer index
entries, the same search. Checked against the terms of revision 0013 (``terms_for``: every
word, the username and tags also whole) by brute force over varied credentials and queries,
the revision's rebuild down and up again on both backends, and a tag filter whose tag has
punctuation (no longer a term whole)."""

from __future__ import annotations

import random

import sqlalchemy as sa
from alembic import command

from credsync.storage.database import SCHEMA_REVISION
from credsync.storage.migrate import alembic_config
from credsync.storage.words import credential_terms, terms_for, words
from vault.helpers import VaultWorld, add_cred

WORDS = ["Contoso", "Cont", "Exchange", "Ex", "admin", "administrator", "Wi-Fi", "wifi",
         "Café", "SRV042", "srv", "read-only", "O'Brien", "Müller", "李", "e-mail", "Ψ", "a",
         "_x"]  # fmt: skip


def _matches(terms: set[str], query: str) -> bool:
    return all(any(t.startswith(w) for t in terms) for w in dict.fromkeys(words(query)))


def test_the_example() -> None:
    found = credential_terms(
        "Contoso domain admin", "CONTOSO\\jsmith", "https://www.contoso.com/admin", ["read-only"]
    )
    assert found == {"domain", "admin", "jsmith", "contosojsmith", "com", "only", "readonly"}
    assert credential_terms("", "", "", []) == set()


def test_a_query_finds_exactly_what_it_found_with_the_former_terms() -> None:
    rng = random.Random(19)
    for _ in range(400):
        title = " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 4)))
        user = rng.choice(["", f"{rng.choice(WORDS)}\\{rng.choice(WORDS)}",
                           f"{rng.choice(WORDS)}.{rng.choice(WORDS)}@contoso.com"])  # fmt: skip
        url = rng.choice(["", f"https://{rng.choice(WORDS)}.contoso.com/{rng.choice(WORDS)}"])
        tags = rng.sample(["read-only", "svc_acct@corp", "wifi", "dc", "Ex"], rng.randint(0, 2))
        old = terms_for(title, user, url, tags)
        new = credential_terms(title, user, url, tags)
        assert new <= old
        pool = [*old, *words(f"{title} {user} {url}"), "contoso", "zz", "cont adm", "wi fi"]
        for _ in range(30):
            term = rng.choice(pool)
            query = term[: rng.randint(1, max(1, len(term)))]
            if rng.random() < 0.3:
                query += " " + rng.choice(pool)[:3]
            if not list(words(query)):
                continue
            assert _matches(new, query) == _matches(old, query), (title, user, url, tags, query)


def _terms(conn: sa.Connection) -> set[str]:
    return set(conn.execute(sa.text("SELECT term FROM search_terms")).scalars())


def test_0041_rebuilds_the_terms_down_and_up_again(world: VaultWorld) -> None:
    vault, admin = world.vault, world.admin
    vault.clients.add(admin, world.keys, "Contoso")
    cred = add_cred(world, "Contoso", "Wi-Fi admin", username="CONTOSO\\jsmith", tags=["read-only"])
    trashed = add_cred(world, "Contoso", "Exchange", username="ex")
    vault.credentials.delete(admin, trashed.id)
    new = {"admin", "wifi", "fi", "contosojsmith", "jsmith", "only", "readonly", "exchange"}
    with world.db.engine.begin() as conn:
        assert _terms(conn) == new
        command.downgrade(alembic_config(conn), "0040")
        assert _terms(conn) == new | {"wi", "contoso", "contoso\\jsmith", "read", "read-only", "ex"}
    world.db.upgrade()
    assert world.db.schema_revision() == SCHEMA_REVISION
    with world.db.engine.connect() as conn:
        assert _terms(conn) == new
    for query in ("wi fi", "cont jsm", "contoso\\jsmith", "read only", "adm"):
        assert [c.id for c in vault.credentials.search(admin, query)] == [cred.id], query


def test_a_tag_filter_with_punctuation_still_finds_and_filters(
    world: VaultWorld,
) -> None:
    vault, admin = world.vault, world.admin
    vault.clients.add(admin, world.keys, "Contoso")
    tagged = add_cred(world, "Contoso", "Core switch", tags=["read-only", "svc_acct@corp"])
    add_cred(world, "Contoso", "Core router", tags=["read", "svc"])
    add_cred(world, "Contoso", "Core readonly svcacct corp")
    for tag in ("read-only", "Read-Only", "svc_acct@corp", " SVC_acct@corp "):
        found = vault.credentials.search(admin, "core", tag=tag)
        assert [c.id for c in found] == [tagged.id], tag
    assert vault.credentials.search(admin, "core", tag="--") == []
