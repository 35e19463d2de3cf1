"""People (issue 16): fields and their checks, permissions and client access, trash, search,
the primary credential, and attributes whose source of truth is a directory."""

from __future__ import annotations

import uuid

import pytest

from credsync.errors import AlreadyExists, InvalidInput, NotFound, PermissionDenied
from credsync.types import Secret

from .flag_seed import add_ad_directory
from .helpers import Ctx, add_cred


def _person(ctx: Ctx, username: str = "anna.berg", **fields: object) -> str:
    given = {"given_name": "Anna", "surname": "Berg", "username": username, **fields}
    return ctx.vault.people.add(ctx.admin, ctx.name, given).id


def test_a_person_is_added_with_a_display_name_made_from_their_names(ctx: Ctx) -> None:
    person = ctx.vault.people.add(
        ctx.admin,
        ctx.name,
        {
            "given_name": "Anna",
            "surname": "Berg",
            "username": "anna.berg@contoso.com",
            "email": "anna.berg@contoso.com",
            "usage_location": "se",
            "department": "Sales",
            "job_title": "Account manager",
        },
    ).to_json()
    assert person["display_name"] == "Anna Berg"
    assert person["usage_location"] == "SE"
    assert person["enabled"] is True
    assert person["client"] == ctx.name
    assert person["source"] is None
    assert person["accounts"] == []
    [entry] = ctx.audit("person.add", person["id"])
    assert entry.details["username"] == "anna.berg@contoso.com"


@pytest.mark.parametrize(
    ("field", "value", "says"),
    [
        ("email", "not-an-address", "not an e-mail address"),
        ("usage_location", "XX", "ISO 3166-1 alpha-2"),
        ("usage_location", "SWE", "ISO 3166-1 alpha-2"),
        ("given_name", "A" * 65, "too long"),
        ("job_title", "J" * 129, "too long"),
        ("display_name", "D" * 257, "too long"),
        ("username", "two words", "no spaces"),
        ("enabled", "yes", "true or false"),
        ("nickname", "x", "no field"),
    ],
)
def test_bad_fields_are_refused_naming_the_field(
    ctx: Ctx, field: str, value: object, says: str
) -> None:
    fields = {"username": f"u{uuid.uuid4().hex[:6]}", field: value}
    with pytest.raises(InvalidInput, match=says) as err:
        ctx.vault.people.add(ctx.admin, ctx.name, fields)
    assert err.value.field == field


def test_usernames_are_unique_per_client_regardless_of_case(ctx: Ctx) -> None:
    _person(ctx, "Anna.Berg")
    with pytest.raises(AlreadyExists, match="taken"):
        _person(ctx, "anna.berg")
    other = ctx.other_client()
    ctx.vault.people.add(ctx.admin, other.id, {"username": "anna.berg"})  # another client: fine


def test_edit_disable_enable_and_versions(ctx: Ctx) -> None:
    people = ctx.vault.people
    pid = _person(ctx)
    after = people.update(ctx.admin, pid, {"department": "Finance", "job_title": "CFO"})
    assert (after.row.department, after.row.version) == ("Finance", 2)
    assert people.set_enabled(ctx.admin, pid, False).row.enabled is False
    assert ctx.audit("person.disable", pid)
    assert people.set_enabled(ctx.admin, pid, True).row.enabled is True
    assert ctx.audit("person.enable", pid)
    with pytest.raises(Exception, match="changed"):
        people.update(ctx.admin, pid, {"surname": "X"}, expected_version=1)


def test_trash_restore_and_purge(ctx: Ctx) -> None:
    people = ctx.vault.people
    pid = _person(ctx, "gone")
    people.delete(ctx.admin, pid)
    items, _ = people.list(ctx.admin, ctx.name)
    assert pid not in [p.id for p in items]
    trash, _ = people.list(ctx.admin, ctx.name, trash=True)
    assert [p.id for p in trash] == [pid]
    assert people.search(ctx.admin, "gone", client_ref=ctx.name) == []
    with pytest.raises(NotFound, match="in the trash"):
        people.update(ctx.admin, pid, {"surname": "X"})
    with pytest.raises(InvalidInput, match="is not in the trash"):
        people.purge(ctx.admin, people.restore(ctx.admin, pid).id)
    assert [p.id for p in people.search(ctx.admin, "gone", client_ref=ctx.name)] == [pid]
    people.delete(ctx.admin, pid)
    assert people.purge(ctx.admin, pid) == pid
    with pytest.raises(NotFound):
        people.get(ctx.admin, pid)
    assert ctx.audit("person.purge", pid)


def test_search_by_name_username_and_email_word_prefixes(ctx: Ctx) -> None:
    people = ctx.vault.people
    anna = _person(ctx, "aberg", email="anna.berg@contoso.com")
    _person(ctx, "jdoe", given_name="John", surname="Doe", email="john@fabrikam.example")
    found = people.search(ctx.admin, "ann ber", client_ref=ctx.name)
    assert [p.id for p in found] == [anna]
    assert [p.id for p in people.search(ctx.admin, "contoso", client_ref=ctx.name)] == [anna]
    assert [p.id for p in people.search(ctx.admin, "ABERG", client_ref=ctx.name)] == [anna]
    assert people.search(ctx.admin, "nobody", client_ref=ctx.name) == []


def test_list_pages_by_display_name(ctx: Ctx) -> None:
    for n in range(5):
        _person(ctx, f"user{n}", given_name=f"P{n}", surname="")
    first, cursor = ctx.vault.people.list(ctx.admin, ctx.name, limit=2)
    assert [p.row.display_name for p in first] == ["P0", "P1"]
    seen = [p.row.display_name for p in first]
    while cursor:
        more, cursor = ctx.vault.people.list(ctx.admin, ctx.name, limit=2, cursor=cursor)
        seen += [p.row.display_name for p in more]
    assert seen == [f"P{n}" for n in range(5)]


def test_the_primary_credential_is_one_of_the_same_client(ctx: Ctx) -> None:
    cred = ctx.add("Anna's login", username="anna.berg")
    pid = _person(ctx)
    person = ctx.vault.people.update(ctx.admin, pid, {"credential": cred.id})
    assert person.to_json()["credential_id"] == cred.id
    other = ctx.other_client()
    theirs = add_cred(ctx.world, other.id, "theirs")
    with pytest.raises(InvalidInput) as err:
        ctx.vault.people.update(ctx.admin, pid, {"credential": theirs.id})
    assert err.value.field == "credential"
    # purging the credential leaves the person without one
    ctx.vault.credentials.delete(ctx.admin, cred.id)
    ctx.vault.credentials.purge(ctx.admin, cred.id)
    assert ctx.vault.people.get(ctx.admin, pid).to_json()["credential_id"] is None


def test_a_viewer_reads_but_cannot_change(ctx: Ctx) -> None:
    viewer = ctx.as_role("viewer")
    pid = _person(ctx)
    assert ctx.vault.people.get(viewer, pid).id == pid
    for change in (
        lambda: ctx.vault.people.add(viewer, ctx.name, {"username": "v"}),
        lambda: ctx.vault.people.update(viewer, pid, {"surname": "X"}),
        lambda: ctx.vault.people.set_enabled(viewer, pid, False),
        lambda: ctx.vault.people.delete(viewer, pid),
        lambda: ctx.vault.people.upsert_from_directory(viewer, "x", "y", {}),
    ):
        with pytest.raises(PermissionDenied):
            change()
    with pytest.raises(PermissionDenied):
        ctx.vault.people.purge(ctx.as_role("technician"), pid)


def test_an_operator_without_the_client_sees_nothing(ctx: Ctx) -> None:
    pid = _person(ctx, "secret.person")
    other = ctx.other_client()
    name = f"scoped-{uuid.uuid4().hex[:6]}"
    password = Secret(f"{name}-password-1234")
    ctx.vault.operators.add(ctx.admin, name, password, "technician", [other.id])
    tom = ctx.vault.access.login_password(name, password)
    with pytest.raises(NotFound):
        ctx.vault.people.get(tom, pid)
    with pytest.raises(NotFound):
        ctx.vault.people.get(tom, "secret.person")
    with pytest.raises(NotFound):
        ctx.vault.people.list(tom, ctx.name)
    with pytest.raises(NotFound):
        ctx.vault.people.update(tom, pid, {"surname": "X"})
    assert ctx.vault.people.search(tom, "secret") == []


def test_directory_sourced_attributes_are_read_only(ctx: Ctx) -> None:
    directory_id, _ = add_ad_directory(ctx.world, ctx.name, f"ad-{uuid.uuid4().hex[:6]}")
    people = ctx.vault.people
    made = people.upsert_from_directory(
        ctx.admin,
        directory_id,
        "guid-1",
        {"username": "eva", "given_name": "Eva", "surname": "Lund", "department": "IT"},
    )
    assert made.outcome == "created"
    shown = made.person.to_json()
    assert shown["source"] is not None
    assert shown["source"]["directory_id"] == directory_id
    assert shown["source"]["attributes"] == ["given_name", "surname", "username", "department"]
    assert [a["object_id"] for a in shown["accounts"]] == ["guid-1"]
    with pytest.raises(InvalidInput, match="comes from directory") as err:
        people.update(ctx.admin, made.person.id, {"department": "Sales"})
    assert err.value.field == "department"
    # attributes the directory does not hold stay the vault's; the same value is no change
    people.update(ctx.admin, made.person.id, {"job_title": "Admin", "department": "IT"})
    again = people.upsert_from_directory(
        ctx.admin, directory_id, "guid-1", {"username": "eva", "department": "IT"}
    )
    assert again.outcome == "unchanged"
    moved = people.upsert_from_directory(ctx.admin, directory_id, "guid-1", {"department": "HR"})
    assert (moved.outcome, moved.changed) == ("updated", ("department",))
    assert moved.person.row.department == "HR"
    assert ctx.audit("person.import", made.person.id)


def test_the_same_username_in_a_second_directory_is_the_same_person(ctx: Ctx) -> None:
    ad, _ = add_ad_directory(ctx.world, ctx.name, f"ad-{uuid.uuid4().hex[:6]}")
    other, _ = add_ad_directory(ctx.world, ctx.name, f"ad-{uuid.uuid4().hex[:6]}")
    first = ctx.vault.people.upsert_from_directory(ctx.admin, ad, "g1", {"username": "kim"})
    second = ctx.vault.people.upsert_from_directory(
        ctx.admin, other, "o1", {"username": "kim", "surname": "Other"}
    )
    assert second.person.id == first.person.id
    assert second.outcome == "linked"  # the first directory stays the source of truth
    assert second.person.row.surname == ""
    assert {a["object_id"] for a in second.person.to_json()["accounts"]} == {"g1", "o1"}
    # removing the source directory hands the attributes to the vault
    ctx.vault.directories.remove(ctx.admin, ad)
    person = ctx.vault.people.get(ctx.admin, first.person.id)
    assert person.to_json()["source"] is None
    renamed = ctx.vault.people.update(ctx.admin, person.id, {"username": "kim2"})
    assert renamed.row.username == "kim2"


def test_upsert_refuses_bad_input_naming_the_field(ctx: Ctx) -> None:
    ad, _ = add_ad_directory(ctx.world, ctx.name, f"ad-{uuid.uuid4().hex[:6]}")
    with pytest.raises(InvalidInput) as err:
        ctx.vault.people.upsert_from_directory(ctx.admin, ad, "g2", {"surname": "NoName"})
    assert err.value.field == "username"
    with pytest.raises(InvalidInput) as err:
        ctx.vault.people.upsert_from_directory(ctx.admin, ad, "", {"username": "x"})
    assert err.value.field == "object_id"


def test_audit_entries_name_the_person_and_hold_no_more_than_the_change(ctx: Ctx) -> None:
    pid = _person(ctx, "audited")
    ctx.vault.people.update(ctx.admin, pid, {"department": "Legal"})
    [entry] = ctx.vault.audit.list(ctx.admin, action="person.update", target_id=pid)
    assert entry.target_name == "audited"
    assert entry.details["changed"] == {"department": "Legal"}


def test_common_words_are_searched_by_hashing_their_ranges_with_the_same_result(
    ctx: Ctx, monkeypatch: pytest.MonkeyPatch
) -> None:
    from credsync.storage import identity_search

    for n, (given, surname) in enumerate([("Anna", "Berg"), ("Anna", "Lund"), ("Bo", "Berg")]):
        _person(ctx, f"p{n}", given_name=given, surname=surname)

    def found() -> list[str]:
        found = ctx.vault.people.search(ctx.admin, "ann ber", client_ref=ctx.name)
        return [p.row.username for p in found]

    probed = found()
    monkeypatch.setattr(identity_search, "HEAD", 0)  # every word "common"
    assert found() == probed == ["p0"]


def test_a_search_reads_only_the_index_entries_of_the_clients_in_reach(ctx: Ctx) -> None:
    """An operator limited to some clients: the word index is read in those clients only
    (not in every client, then filtered), so their search costs what their clients hold."""
    from credsync.storage import identity_search

    _person(ctx, "mine.reach", given_name="Reachword")
    other = ctx.other_client()
    ctx.vault.people.add(
        ctx.admin, other.name, {"username": "theirs.reach", "given_name": "Reachword"}
    )
    with ctx.world.db.read() as conn:

        def ids(reach: list[str] | None) -> set[str]:
            # No condition on the people rows: only the scope of the index decides.
            found = identity_search.search_ids(
                conn, "person", ["reachw"], None, [], 100, reach=reach
            )
            return set(found)

        everyone = ids(None)
        mine = ids([ctx.client.id])
        theirs = ids([other.id])
    assert len(everyone) >= 2
    assert mine
    assert theirs
    assert not mine & theirs
    assert mine | theirs <= everyone
    name = f"reach-{uuid.uuid4().hex[:6]}"
    password = Secret(f"{name}-password-1234")
    ctx.vault.operators.add(ctx.admin, name, password, "technician", [other.id])
    tom = ctx.vault.access.login_password(name, password)
    assert [p.row.username for p in ctx.vault.people.search(tom, "reachword")] == ["theirs.reach"]
    assert [p.row.id for p in ctx.vault.people.search(tom, "reachword")] == sorted(theirs)


def test_common_words_hashed_find_each_person_once_and_not_in_the_trash(
    ctx: Ctx, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The hashed search (PostgreSQL: the words' ranges intersected) of words each person
    holds several times (name, username, e-mail): each once, the trash left out."""
    from credsync.storage import identity_search

    email = {"email": "anna.berg@berg.example"}
    kept = _person(ctx, "anna.berg", **email)
    gone = _person(ctx, "anna.berg2", **email)
    ctx.vault.people.delete(ctx.admin, gone)
    monkeypatch.setattr(identity_search, "HEAD", 0)  # every word "common"
    found = ctx.vault.people.search(ctx.admin, "ann ber", client_ref=ctx.name)
    assert [p.row.id for p in found] == [kept]
