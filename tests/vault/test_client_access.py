"""Per-client access: an operator reaches every client or a list of them; outside it a client
and everything it holds answers as something that does not exist (NotFound, the same message),
lists, counts and searches leave it out in SQL, and only an admin changes who reaches what.
On SQLite and PostgreSQL (the ``world`` fixture)."""

from __future__ import annotations

import io

import pytest

from credsync.errors import InvalidInput, NotFound, PermissionDenied
from credsync.types import Secret
from credsync.vault.drafts import make_draft
from credsync.vault.flags import FlagFilter

from .helpers import add_cred, audit_of

PASSWORD = "tech-password-1234"


@pytest.fixture
def scoped(world):
    """Clients Contoso (the technician's) and Fabrikam (not), a credential in each, and
    ``tom``, a technician limited to Contoso, signed in."""
    vault, admin, keys = world.vault, world.admin, world.keys
    contoso = vault.clients.add(admin, keys, "Contoso")
    fabrikam = vault.clients.add(admin, keys, "Fabrikam")
    mine = add_cred(world, "Contoso", "Contoso router", tags=["shared"])
    theirs = add_cred(world, "Fabrikam", "Fabrikam router", tags=["shared"])
    vault.operators.add(admin, "tom", Secret(PASSWORD), "technician", ["Contoso"])
    tom = vault.access.login_password("tom", Secret(PASSWORD))
    return world, tom, contoso, fabrikam, mine, theirs


def test_operators_added_without_clients_reach_every_client(world):
    op = world.vault.operators.add(world.admin, "ann", Secret(PASSWORD), "technician")
    assert (op.clients, op.client_access) == (None, "all")
    ann = world.vault.access.login_password("ann", Secret(PASSWORD))
    assert ann.clients is None
    assert ann.sees("any-client-id")


def test_a_scoped_operator_lists_counts_and_searches_only_their_clients(scoped):
    world, tom, contoso, _, mine, _ = scoped
    vault = world.vault
    assert tom.clients == frozenset({contoso.id})
    assert [c.name for c in vault.clients.list(tom)] == ["Contoso"]
    assert [c.name for c in vault.clients.list(world.admin)] == ["Contoso", "Fabrikam"]
    assert [c.title for c in vault.credentials.search(tom, "router")] == ["Contoso router"]
    # the limit is applied after the scope, in SQL: one result is the in-scope one
    assert [c.id for c in vault.credentials.search(tom, "router", limit=1)] == [mine.id]
    assert [c.title for c in vault.credentials.search(tom, "router", tag="shared")] == [
        "Contoso router"
    ]
    assert len(vault.credentials.search(world.admin, "router")) == 2
    assert vault.credentials.list(tom, "Contoso").items[0].id == mine.id


def test_everything_of_another_client_answers_as_nothing_does(scoped):
    world, tom, _, fabrikam, _, theirs = scoped
    vault, keys = world.vault, world.keys

    def message(call) -> str:
        with pytest.raises(NotFound) as caught:
            call()
        return str(caught.value)

    # the same message as for a client / credential that does not exist
    assert message(lambda: vault.clients.get(tom, "Fabrikam")) == message(
        lambda: vault.clients.get(tom, "Fabrikam")
    )
    assert message(lambda: vault.clients.get(tom, "Fabrikam")) == "no client named 'Fabrikam'"
    assert message(lambda: vault.clients.get(tom, fabrikam.id)) == (
        f"no client named {fabrikam.id!r}"
    )
    nothing = "0" * 8 + theirs.id[8:]
    assert message(lambda: vault.credentials.get(tom, theirs.id)).replace(
        theirs.id, "X"
    ) == message(lambda: vault.credentials.get(tom, nothing)).replace(nothing, "X")
    for call in (
        lambda: vault.credentials.list(tom, "Fabrikam"),
        lambda: vault.credentials.search(tom, "router", client_ref="Fabrikam"),
        lambda: vault.credentials.reveal(tom, keys, theirs.id),
        lambda: vault.credentials.set_password(tom, keys, theirs.id, Secret("New-Pa55word!")),
        lambda: vault.credentials.edit(tom, keys, theirs.id, title="mine now"),
        lambda: vault.credentials.delete(tom, theirs.id),
        lambda: vault.credentials.history(tom, keys, theirs.id),
        lambda: vault.clients.rename(tom, "Fabrikam", "Mine"),
        lambda: vault.clients.folders(tom, "Fabrikam"),
        lambda: vault.clients.add_folder(tom, "Fabrikam", "Servers"),
        lambda: vault.credentials.add(
            tom, keys, "Fabrikam", make_draft(title="x", password=Secret("x"))
        ),
        lambda: vault.directories.list(tom, "Fabrikam"),
        lambda: vault.flags.page(tom, FlagFilter(client="Fabrikam")),
        lambda: vault.credentials.password_unknown_counts(tom, "Fabrikam"),
    ):
        with pytest.raises(NotFound):
            call()
    # nothing of it changed
    assert vault.credentials.get(world.admin, theirs.id).title == "Fabrikam router"


def test_an_export_of_another_client_is_not_found(scoped):
    world, _, _contoso, *_ = scoped
    vault = world.vault
    vault.operators.add_role(
        world.admin, "exporter", ["vault.read", "secret.reveal", "vault.export"]
    )
    vault.operators.add(world.admin, "exp", Secret(PASSWORD), "exporter", ["Contoso"])
    exp = vault.access.login_password("exp", Secret(PASSWORD))
    out = io.StringIO()
    assert vault.csv.export_csv(exp, world.keys, "Contoso", out) == 1
    with pytest.raises(NotFound, match="no client named 'Fabrikam'"):
        vault.csv.export_csv(exp, world.keys, "Fabrikam", io.StringIO())


def test_a_csv_import_into_another_client_is_refused_as_an_unknown_client(scoped):
    world, tom, *_ = scoped
    data = io.BytesIO(b"title,username,password\nrouter,admin,Pa55word-1234!\n")
    with pytest.raises(NotFound, match="no client named 'Fabrikam'"):
        world.vault.csv.import_csv(tom, world.keys, "Fabrikam", data)


def test_adding_a_client_needs_access_to_every_client(scoped):
    world, tom, *_ = scoped
    with pytest.raises(PermissionDenied, match="every client"):
        world.vault.clients.add(tom, world.keys, "Northwind")
    assert [c.name for c in world.vault.clients.list(world.admin)] == ["Contoso", "Fabrikam"]


def test_only_an_admin_changes_client_access_and_it_is_audited(scoped):
    world, tom, contoso, fabrikam, *_ = scoped
    vault = world.vault
    tech = world.operator("tess", "technician")
    for who in (tom, tech):
        with pytest.raises(PermissionDenied):
            vault.operators.set_clients(who, "tom", None)
    op = vault.operators.set_clients(world.admin, "tom", ["Fabrikam", contoso.id])
    assert op.clients == ((contoso.id, "Contoso"), (fabrikam.id, "Fabrikam"))
    assert op.to_json()["clients"] == [
        {"id": contoso.id, "name": "Contoso"},
        {"id": fabrikam.id, "name": "Fabrikam"},
    ]
    [entry] = audit_of(world, "operator.clients", op.id)
    assert entry.details == {
        "name": "tom",
        "from": [contoso.id],
        "to": sorted([contoso.id, fabrikam.id]),
    }
    assert vault.operators.set_clients(world.admin, "tom", None).to_json()["clients"] is None


def test_a_change_of_access_applies_from_the_next_sign_in_or_request(scoped):
    world, _tom, *_ = scoped
    vault = world.vault
    vault.operators.set_clients(world.admin, "tom", ["Fabrikam"])
    again = vault.access.login_password("tom", Secret(PASSWORD))
    assert [c.name for c in vault.clients.list(again)] == ["Fabrikam"]
    _token, secret = vault.access.create_token(again, "script")
    assert [c.name for c in vault.clients.list(vault.access.login_token(secret))] == ["Fabrikam"]
    vault.operators.set_clients(world.admin, "tom", None)
    assert [c.name for c in vault.clients.list(vault.access.login_token(secret))] == [
        "Contoso",
        "Fabrikam",
    ]


def test_an_admin_always_reaches_every_client(scoped):
    world, *_ = scoped
    vault = world.vault
    with pytest.raises(InvalidInput, match="admin") as caught:
        vault.operators.add(world.admin, "root2", Secret(PASSWORD), "admin", ["Contoso"])
    assert caught.value.fields == ("clients",)
    with pytest.raises(InvalidInput, match="admin"):
        vault.operators.set_clients(world.admin, "alice", ["Contoso"])
    # a limited operator promoted to admin reaches everything, and shows so
    vault.operators.set_role(world.admin, "tom", "admin")
    assert vault.operators.get(world.admin, "tom").client_access == "all (admin)"
    tom = vault.access.login_password("tom", Secret(PASSWORD))
    assert tom.clients is None


def test_unknown_clients_and_empty_lists_are_refused_naming_the_field(scoped):
    world, *_ = scoped
    for clients, words in ((["Nowhere"], "no client named 'Nowhere'"), ([], "at least one")):
        with pytest.raises(InvalidInput, match=words) as caught:
            world.vault.operators.set_clients(world.admin, "tom", clients)
        assert caught.value.fields == ("clients",)


def test_audit_reads_keep_to_the_clients_in_scope(scoped):
    world, _, contoso, fabrikam, *_ = scoped
    vault = world.vault
    vault.operators.add(world.admin, "aud", Secret(PASSWORD), "auditor", ["Contoso"])
    aud = vault.access.login_password("aud", Secret(PASSWORD))
    entries = vault.audit.list(aud, limit=1000)
    assert entries
    for e in entries:
        assert e.client_id == contoso.id or (e.client_id is None and e.actor == "aud")
    assert any(e.client_id == contoso.id for e in entries)
    assert all(e.client_id != fabrikam.id for e in entries)
    assert vault.audit.verify(aud).ok  # the whole chain is still checked


def test_flags_pages_counts_and_bulk_lookups_keep_to_the_clients_in_scope(scoped):
    from .flag_seed import seed_flags

    world, tom, *_ = scoped
    vault = world.vault
    mine = seed_flags(world, "Contoso", 3, directory="contoso-ad", title="Contoso account")
    theirs = seed_flags(world, "Fabrikam", 4, directory="fabrikam-ad", title="Fabrikam account")
    found, cursor = vault.flags.page(tom, FlagFilter(), limit=2)
    assert len(found) == 2
    assert cursor is not None
    rest, end = vault.flags.page(tom, FlagFilter(), limit=2, cursor=cursor)
    assert end is None
    assert {f.credential_id for f in [*found, *rest]} == set(mine.credential_ids)
    assert vault.flags.count(tom) == 3
    assert vault.flags.count(world.admin) == 7
    assert vault.flags.counts(tom) == {"Contoso": 3}
    their_flags = vault.flags.page(world.admin, FlagFilter(client="Fabrikam"), limit=10)[0]
    assert vault.flags.of_ids(tom, [f.id for f in their_flags]) == []
    with pytest.raises(NotFound):
        vault.flags.get(tom, their_flags[0].id)
    with pytest.raises(NotFound):
        vault.flags.page(tom, FlagFilter(directory="fabrikam-ad"))
    with pytest.raises(InvalidInput, match="cursor"):  # another client's flag is no cursor
        vault.flags.page(tom, FlagFilter(), cursor=their_flags[0].id)
    assert [d.name for d in vault.directories.list(tom)] == ["contoso-ad"]
    with pytest.raises(NotFound):
        vault.directories.get(tom, theirs.directory_id)
