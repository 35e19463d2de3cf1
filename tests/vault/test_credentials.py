"""Credentials: add, find, list, search, reveal, passwords and their history, edit, sync mode,
trash, stale versions, and the hiding of directory_admin credentials."""

from __future__ import annotations

import uuid

import psycopg
import pytest
import sqlalchemy as sa

from credsync.errors import (
    DuplicateCredential,
    InvalidInput,
    NotFound,
    PermissionDenied,
    StaleVersion,
)
from credsync.storage.tables import credentials, search_terms, secret_versions
from credsync.types import CredentialType, Secret, SyncMode
from credsync.vault.drafts import make_draft

from .helpers import add_cred, make_world


def word() -> str:
    """A word no other test uses, so that searches in the shared vault are exact."""
    return "w" + uuid.uuid4().hex[:10]


def ids(items):
    return [c.id for c in items]


# -- adding ------------------------------------------------------------------------------------
def test_add_with_every_field(ctx):
    cred = ctx.add(
        "  Domain admin  ",
        "S3cret-Pa55!",
        username="CONTOSO\\administrator",
        url="https://dc01.contoso.local",
        notes="line one\nline two",
        type_="service_account",
        tags=[" Prod ", "DC", "prod"],
        sync_mode=SyncMode.OFF,
        folder_path="Servers / DCs",
    )

    assert cred.title == "Domain admin"
    assert cred.username == "CONTOSO\\administrator"
    assert cred.url == "https://dc01.contoso.local"
    assert cred.type == "service_account"
    assert cred.tags == ("dc", "prod")
    assert cred.folder == "Servers/DCs"
    assert (cred.sync_mode, cred.effective_sync_mode) == (SyncMode.OFF, SyncMode.OFF)
    assert cred.has_notes is True
    assert (cred.client_id, cred.client_name) == (ctx.client.id, ctx.name)
    assert (cred.version, cred.secret_version) == (1, 1)
    assert cred.created_by == cred.updated_by == "alice"
    assert cred.deleted_at is None
    assert [f.path for f in ctx.vault.clients.folders(ctx.admin, ctx.name)] == ["Servers/DCs"]

    revealed = ctx.vault.credentials.reveal(ctx.admin, ctx.keys, cred.id)
    assert revealed.password == Secret("S3cret-Pa55!")
    assert revealed.notes == Secret("line one\nline two")
    [entry] = ctx.audit("credential.add", cred.id)
    assert entry.client_id == ctx.client.id
    assert entry.details == {
        "title": "Domain admin",
        "username": "CONTOSO\\administrator",
        "type": "service_account",
    }


def test_add_with_the_least_given(ctx):
    cred = ctx.add("Bare")

    assert (cred.username, cred.url, cred.tags, cred.folder) == ("", "", (), None)
    assert cred.type == CredentialType.LOGIN.value
    assert cred.sync_mode is None
    assert cred.effective_sync_mode is SyncMode.REPORT
    assert cred.has_notes is False
    assert ctx.vault.credentials.reveal(ctx.admin, ctx.keys, cred.id).notes is None


def test_bad_drafts_are_refused_before_anything_is_written(ctx):
    good = {"title": "ok", "password": Secret("Pa55word!")}
    bad_fields = [
        {"title": ""},
        {"title": "   "},
        {"title": "t" * 256},
        {"title": "bell\x07"},
        {"password": Secret("")},
        {"password": Secret("two\nlines")},
        {"password": Secret("nul\x00byte")},
        {"password": Secret("p" * 1025)},
        {"username": "u" * 513},
        {"url": "h" * 2049},
        {"notes": "n" * 20_001},
        {"notes": "escape\x1b[31m"},
        {"type_": "printer"},
        {"tags": ["has space"]},
        {"tags": ["-leading-dash"]},
        {"tags": [f"t{i}" for i in range(33)]},
        {"folder_path": "a/../b"},
    ]
    for fields in bad_fields:
        with pytest.raises(InvalidInput):
            make_draft(**{**good, **fields})
    assert ctx.vault.credentials.list(ctx.admin, ctx.name).items == []


def test_the_longest_allowed_values_are_kept(ctx):
    cred = ctx.add(
        "t" * 255,
        "p" * 1024,
        username="u" * 512,
        tags=[f"t{i}" for i in range(32)],
        notes="n" * 20_000,
    )

    assert len(cred.title) == 255
    assert len(cred.tags) == 32
    revealed = ctx.vault.credentials.reveal(ctx.admin, ctx.keys, cred.id)
    assert revealed.password == Secret("p" * 1024)
    assert revealed.notes == Secret("n" * 20_000)


def test_non_ascii_text_round_trips(ctx):
    cred = ctx.add("Bürokonto Zürich", "Pässwörd-€-日本", username="jörg", tags=["büro"])

    assert ctx.vault.credentials.get(ctx.admin, cred.id).title == "Bürokonto Zürich"
    assert ctx.vault.credentials.reveal(ctx.admin, ctx.keys, cred.id).password == Secret(
        "Pässwörd-€-日本"
    )
    assert ids(ctx.vault.credentials.search(ctx.admin, "zür", client_ref=ctx.name)) == [cred.id]
    assert ids(ctx.vault.credentials.search(ctx.admin, "BÜRO", client_ref=ctx.name)) == [cred.id]


# -- finding by id -----------------------------------------------------------------------------
def test_get_by_full_id_or_unique_prefix(ctx):
    cred = ctx.add("Findable")

    assert ctx.vault.credentials.get(ctx.admin, cred.id).title == "Findable"
    assert ctx.vault.credentials.get(ctx.admin, cred.id.upper()).id == cred.id
    assert ctx.vault.credentials.get(ctx.admin, f"  {cred.id[:8]}  ").id == cred.id
    assert ctx.vault.credentials.get(ctx.admin, cred.id[:13]).id == cred.id  # holds a '-'
    with pytest.raises(InvalidInput, match="at least 6 characters"):
        ctx.vault.credentials.get(ctx.admin, cred.id[:5])
    missing = "f" * 8 if not cred.id.startswith("ffffffff") else "0" * 8
    for ref in (missing, "%%%%%%", "______", cred.id[:8] + "%", cred.id + "0"):
        with pytest.raises(NotFound):  # LIKE wildcards are plain characters here
            ctx.vault.credentials.get(ctx.admin, ref)


def test_ambiguous_prefix_is_refused(ctx):
    cred = ctx.add("First")
    # A second row whose id shares the first seven characters: random ids almost never do,
    # so this one is written into the database directly.
    twin_id = cred.id[:7] + ("0" if cred.id[7] != "0" else "1") + cred.id[8:]
    with ctx.world.db.write() as conn:
        row = conn.execute(sa.select(credentials).where(credentials.c.id == cred.id)).one()
        conn.execute(credentials.insert().values({**row._asdict(), "id": twin_id}))

    for prefix in (cred.id[:6], cred.id[:7]):
        with pytest.raises(InvalidInput, match="ambiguous"):
            ctx.vault.credentials.get(ctx.admin, prefix)
    assert ctx.vault.credentials.get(ctx.admin, cred.id[:8]).id == cred.id
    assert ctx.vault.credentials.get(ctx.admin, twin_id[:8]).id == twin_id


def test_a_credential_is_found_whatever_client_it_is_in(ctx):
    other = ctx.other_client()
    theirs = ctx.vault.credentials.add(
        ctx.admin, ctx.keys, other.name, make_draft(title="theirs", password=Secret("Pw-12345!"))
    )

    assert ctx.vault.credentials.get(ctx.admin, theirs.id).client_name == other.name
    assert ctx.vault.credentials.list(ctx.admin, ctx.name).items == []


# -- listing -----------------------------------------------------------------------------------
def test_list_is_ordered_by_title_without_case(ctx):
    for title in ("delta", "Bravo", "alpha", "Charlie"):
        ctx.add(title)

    page = ctx.vault.credentials.list(ctx.admin, ctx.name)

    assert [c.title for c in page.items] == ["alpha", "Bravo", "Charlie", "delta"]
    assert page.next_cursor is None


@pytest.mark.parametrize(("count", "limit"), [(7, 3), (6, 3), (3, 3), (1, 1)])
def test_pagination_visits_every_credential_once(ctx, count, limit):
    # Titles repeat so that page boundaries fall between equal titles (ordered by id then).
    made = [ctx.add(f"Server {i % 3}") for i in range(count)]

    pages, cursor = [], None
    while True:
        page = ctx.vault.credentials.list(ctx.admin, ctx.name, limit=limit, cursor=cursor)
        pages.append(ids(page.items))
        cursor = page.next_cursor
        if cursor is None:
            break
        assert len(pages) <= count, "the cursor loops"

    seen = [i for p in pages for i in p]
    expected = sorted(made, key=lambda c: (c.title.casefold(), c.id))
    assert seen == ids(expected)
    assert [len(p) for p in pages] == [min(limit, count - n) for n in range(0, count, limit)], (
        "a full last page must not be followed by an empty one"
    )


def test_list_limits_and_bad_cursors_are_refused(ctx):
    ctx.add("one")
    for limit in (0, -1, 10_001):
        with pytest.raises(InvalidInput, match="limit"):
            ctx.vault.credentials.list(ctx.admin, ctx.name, limit=limit)
    for cursor in ("not a cursor", "e30=", "W10=", "!!!!"):
        with pytest.raises(InvalidInput, match="cursor"):
            ctx.vault.credentials.list(ctx.admin, ctx.name, cursor=cursor)


def test_list_filters_by_folder_and_tag(ctx):
    dc = ctx.add("DC", folder_path="Servers/DCs", tags=["prod", "ad"])
    web = ctx.add("Web", folder_path="Servers", tags=["prod"])
    lab = ctx.add("Lab DC", folder_path="Servers/DCs", tags=["lab"])
    loose = ctx.add("Loose")

    def listed(**filters):
        return ids(ctx.vault.credentials.list(ctx.admin, ctx.name, **filters).items)

    assert listed() == ids([dc, lab, loose, web])
    assert listed(folder="servers/dcs") == [dc.id, lab.id]
    assert listed(folder="Servers") == [web.id]  # not the sub-folder's
    assert listed(tag="PROD") == [dc.id, web.id]
    assert listed(tag="prod", folder="Servers/DCs") == [dc.id]
    assert listed(tag="nothing") == []
    with pytest.raises(NotFound):
        listed(folder="Nowhere")


def test_trash_is_listed_apart(ctx):
    keep = ctx.add("keep")
    gone = ctx.add("gone")
    ctx.vault.credentials.delete(ctx.admin, gone.id)

    assert ids(ctx.vault.credentials.list(ctx.admin, ctx.name).items) == [keep.id]
    trash = ctx.vault.credentials.list(ctx.admin, ctx.name, trash=True).items
    assert ids(trash) == [gone.id]
    assert trash[0].deleted_by == "alice"
    assert trash[0].deleted_at is not None


# -- duplicates --------------------------------------------------------------------------------
def _create(ctx, title, username="", folder=None, **kw):
    return ctx.vault.credentials.create(
        ctx.admin, ctx.keys, ctx.name, title=title, username=username, folder=folder,
        generate=True, **kw,
    )  # fmt: skip


def test_a_duplicate_is_refused_unless_allowed_as_an_import_refuses_it(ctx):
    first = _create(ctx, "Domain admin", "CONTOSO\\admin", folder="Servers")
    with pytest.raises(DuplicateCredential) as refused:
        _create(ctx, "DOMAIN ADMIN", "contoso\\ADMIN", folder="servers")
    assert refused.value.existing_id == first.id
    assert first.id in str(refused.value)
    assert "in folder 'Servers'" in str(refused.value)
    assert refused.value.fields == ("allow_duplicate",)
    added = ctx.vault.audit.list(ctx.admin, action="credential.add", client_id=ctx.client.id)
    assert [e.target_id for e in added] == [first.id]  # nothing written
    # Another folder, title or username is no duplicate; allowed, a second one is made.
    _create(ctx, "Domain admin", "CONTOSO\\admin")
    _create(ctx, "Domain admin", "CONTOSO\\other", folder="Servers")
    _create(ctx, "Domain admin 2", "CONTOSO\\admin", folder="Servers")
    twin = _create(ctx, "Domain admin", "CONTOSO\\admin", folder="Servers", allow_duplicate=True)
    assert twin.id != first.id
    # One in the trash is not in the way.
    ctx.vault.credentials.delete(ctx.admin, twin.id)
    ctx.vault.credentials.delete(ctx.admin, first.id)
    _create(ctx, "Domain admin", "CONTOSO\\admin", folder="Servers")


def test_an_edit_that_makes_a_duplicate_is_refused_unless_allowed(ctx):
    one = _create(ctx, "Mailbox", "info")
    two = _create(ctx, "Mailbox", "sales")
    edit = ctx.vault.credentials.edit
    with pytest.raises(DuplicateCredential) as refused:
        edit(ctx.admin, ctx.keys, two.id, username="INFO")
    assert refused.value.existing_id == one.id
    assert ctx.vault.credentials.get(ctx.admin, two.id).username == "sales"
    edit(ctx.admin, ctx.keys, two.id, username="INFO", allow_duplicate=True)
    # A pair already alike: changes that leave them alike in no new way pass.
    edit(ctx.admin, ctx.keys, two.id, url="https://mail.example", tags=["mail"])
    edit(ctx.admin, ctx.keys, one.id, username="info")  # itself is no duplicate of itself
    edit(ctx.admin, ctx.keys, two.id, title="MAILBOX")  # the same title, case aside
    folder = _create(ctx, "Mailbox", "info", folder="Shared")
    with pytest.raises(DuplicateCredential):
        edit(ctx.admin, ctx.keys, folder.id, folder="")


def test_a_directory_admin_credential_hidden_from_the_actor_is_not_named(ctx):
    bind = ctx.add(
        "Bind", type_=CredentialType.DIRECTORY_ADMIN, sync_mode=SyncMode.OFF, username="svc"
    )
    technician = ctx.as_role("technician")
    made = ctx.vault.credentials.create(
        technician, ctx.keys, ctx.name, title="Bind", username="svc", generate=True
    )
    assert made.id != bind.id
    with pytest.raises(DuplicateCredential):
        _create(ctx, "Bind", "svc")  # the admin sees both


# -- searching ---------------------------------------------------------------------------------
def test_search_matches_word_prefixes_of_title_username_url_and_tags(ctx):
    tag = word()
    admin = ctx.add(
        f"Contoso domain admin {tag}",
        username="CONTOSO\\administrator",
        url="https://portal.contoso.com/admin",
    )
    mail = ctx.add("Mailbox", username="info@contoso.com", tags=[tag, "exchange"])

    def found(text):
        return ids(ctx.vault.credentials.search(ctx.admin, text, client_ref=ctx.name))

    assert found("cont adm") == [admin.id]
    assert found("contoso") == [admin.id, mail.id]
    assert found("dom") == [admin.id]
    assert found("DOMAIN ADMIN") == [admin.id]
    assert found("portal") == [admin.id]
    assert found("contoso\\administrator") == [admin.id]
    assert found("info@contoso.com") == [mail.id]
    assert found("exch") == [mail.id]
    assert found(tag) == [admin.id, mail.id]
    assert found("ontoso") == []  # the middle of a word is not a prefix
    assert found("mailbox domain") == []  # every word must match


def test_search_folds_accents_and_case_and_splits_punctuation(ctx):
    w = word()
    cafe = ctx.add(f"Café {w}", username="José.Müller@contoso.com")
    wifi = ctx.add(f"Wi-Fi {w} router", tags=["e-mail"])
    snake = ctx.add(f"svc_backup {w}", url="https://ﬁles.contoso.com")
    straße = ctx.add(f"STRAẞE {w}")

    def found(text):
        return ids(ctx.vault.credentials.search(ctx.admin, f"{text} {w}", client_ref=ctx.name))

    assert found("cafe") == [cafe.id]
    assert found("CAFÉ") == [cafe.id]
    assert found("caf") == [cafe.id]
    assert found("jose muller") == [cafe.id]
    assert found("josé.müller") == [cafe.id]
    assert found("wifi") == [wifi.id]
    assert found("wi fi") == [wifi.id]
    assert found("Wi-Fi") == [wifi.id]
    assert found("wi-fi rout") == [wifi.id]
    assert found("email") == [wifi.id]
    assert found("mail") == [wifi.id]
    assert found("backup") == [snake.id]
    assert found("svcbackup") == [snake.id]
    assert found("files") == [snake.id]  # the ligature is two letters
    assert found("strasse") == [straße.id]
    assert found("fi") == [snake.id, wifi.id]  # "ﬁ" of the url, "fi" of Wi-Fi


def test_a_tag_filter_with_accents_drives_the_search_from_its_folded_term(ctx):
    w = word()
    tagged = ctx.add(f"{w} one", tags=["café"])
    ctx.add(f"{w} two", tags=["cafe"])
    search = ctx.vault.credentials.search
    assert ids(search(ctx.admin, w, tag="Café", client_ref=ctx.name)) == [tagged.id]
    assert len(search(ctx.admin, "cafe", client_ref=ctx.name)) == 2


def test_a_credential_matching_a_word_many_times_counts_once_toward_the_limit(ctx):
    w = word()
    first = ctx.add(
        f"{w}a {w}b {w}c", username=f"{w}d", url=f"https://{w}e.example", tags=[f"{w}f"]
    )
    second = ctx.add(f"{w}x other", username="someone")

    def found(text, limit):
        return ids(ctx.vault.credentials.search(ctx.admin, text, client_ref=ctx.name, limit=limit))

    assert sorted(found(w, 2)) == sorted([first.id, second.id])
    assert len(found(w, 1)) == 1
    assert sorted(found(f"{w} {w}", 2)) == sorted([first.id, second.id])


def test_search_filters_by_tag_and_client(ctx):
    token = word()
    mine = ctx.add(f"{token} prod", tags=["prod"])
    mine_lab = ctx.add(f"{token} lab", tags=["lab"])
    other = ctx.other_client()
    theirs = ctx.vault.credentials.add(
        ctx.admin,
        ctx.keys,
        other.name,
        make_draft(title=f"{token} theirs", password=Secret("Pw-12345!"), tags=["prod"]),
    )

    search = ctx.vault.credentials.search
    assert ids(search(ctx.admin, token)) == ids(
        sorted([mine, mine_lab, theirs], key=lambda c: c.title.casefold())
    )
    assert ids(search(ctx.admin, token, client_ref=ctx.name)) == [mine_lab.id, mine.id]
    assert ids(search(ctx.admin, token, client_ref=other.id)) == [theirs.id]
    assert ids(search(ctx.admin, token, tag="PROD")) == [mine.id, theirs.id]
    assert ids(search(ctx.admin, token, tag="prod", client_ref=ctx.name)) == [mine.id]
    assert len(search(ctx.admin, token, limit=2)) == 2


def test_search_leaves_out_trash_and_archived_clients(ctx):
    token = word()
    live = ctx.add(f"{token} live")
    trashed = ctx.add(f"{token} trashed")
    ctx.vault.credentials.delete(ctx.admin, trashed.id)
    other = ctx.other_client()
    ctx.vault.credentials.add(
        ctx.admin, ctx.keys, other.name, make_draft(title=token, password=Secret("Pw-12345!"))
    )
    ctx.vault.clients.set_archived(ctx.admin, other.name, True)

    assert ids(ctx.vault.credentials.search(ctx.admin, token)) == [live.id]
    assert ctx.vault.credentials.search(ctx.admin, token, client_ref=other.name) == []

    ctx.vault.credentials.restore(ctx.admin, trashed.id)
    ctx.vault.clients.set_archived(ctx.admin, other.name, False)
    assert len(ctx.vault.credentials.search(ctx.admin, token)) == 3


def test_search_refuses_empty_or_oversized_queries(ctx):
    cred = ctx.add("alpha beta")
    for text in ("", "   ", "!!! ---", " ".join(f"w{i}" for i in range(9))):
        with pytest.raises(InvalidInput):
            ctx.vault.credentials.search(ctx.admin, text)
    with pytest.raises(InvalidInput, match="limit"):
        ctx.vault.credentials.search(ctx.admin, "x", limit=0)
    # eight words are allowed; repeated words count once
    assert ctx.vault.credentials.search(ctx.admin, " ".join(f"w{i}" for i in range(8))) == []
    repeated = "al " * 12 + "BE be"
    assert ids(ctx.vault.credentials.search(ctx.admin, repeated, client_ref=ctx.name)) == [cred.id]


# -- secrets -----------------------------------------------------------------------------------
def test_reveal_is_audited_and_refused_for_trash(ctx):
    cred = ctx.add("Revealed", "Reveal-Me-123", notes="the notes")

    shown = ctx.vault.credentials.reveal(ctx.admin, ctx.keys, cred.id[:10])

    assert shown.credential.id == cred.id
    assert shown.password == Secret("Reveal-Me-123")
    assert shown.notes == Secret("the notes")
    assert "Reveal-Me-123" not in repr(shown)
    assert "the notes" not in repr(shown)
    [entry] = ctx.audit("credential.reveal", cred.id)
    assert entry.details == {"secret_version": 1}
    assert "Reveal-Me-123" not in str(entry.to_json())

    ctx.vault.credentials.delete(ctx.admin, cred.id)
    with pytest.raises(NotFound, match="trash"):
        ctx.vault.credentials.reveal(ctx.admin, ctx.keys, cred.id)
    assert len(ctx.audit("credential.reveal", cred.id)) == 1


def test_set_password_keeps_every_earlier_value_with_who_when_and_why(ctx):
    tech = ctx.as_role("technician")
    cred = ctx.add("Rotating", "first-Pa55!")

    second = ctx.vault.credentials.set_password(
        ctx.admin, ctx.keys, cred.id, Secret("second-Pa55!"), reason="quarterly rotation"
    )
    third = ctx.vault.credentials.set_password(
        tech, ctx.keys, cred.id, Secret("third-Pa55!"), source="generated"
    )

    assert (second.secret_version, second.version) == (2, 2)
    assert (third.secret_version, third.version) == (3, 3)
    assert third.updated_by == tech.name
    assert cred.password_changed_at <= second.password_changed_at <= third.password_changed_at
    assert ctx.vault.credentials.reveal(ctx.admin, ctx.keys, cred.id).password == Secret(
        "third-Pa55!"
    )

    history = ctx.vault.credentials.history(ctx.admin, None, cred.id)
    assert [(h.version, h.current, h.created_by, h.source, h.reason) for h in history] == [
        (3, True, tech.name, "generated", "generated"),
        (2, False, "alice", "set", "quarterly rotation"),
        (1, False, "alice", "created", "created"),
    ]
    assert all(h.password is None for h in history)
    assert history[0].created_at >= history[1].created_at >= history[2].created_at
    assert ctx.audit("credential.history_reveal", cred.id) == []

    revealed = ctx.vault.credentials.history(ctx.admin, ctx.keys, cred.id, reveal=True)
    assert [h.password for h in revealed] == [
        Secret("third-Pa55!"),
        Secret("second-Pa55!"),
        Secret("first-Pa55!"),
    ]
    assert all("Pa55" not in repr(h) for h in revealed)
    [entry] = ctx.audit("credential.history_reveal", cred.id)
    assert entry.details == {"versions": [3, 2, 1]}
    details = [e.details for e in reversed(ctx.audit("credential.password_set", cred.id))]
    assert details == [
        {"secret_version": 2, "source": "set", "reason": "quarterly rotation"},
        {"secret_version": 3, "source": "generated", "reason": "generated"},
    ]


def test_set_password_refuses_bad_passwords_and_changes_nothing(ctx):
    cred = ctx.add("Guarded", "kept-Pa55!")

    for bad in ("", "line\nbreak", "x" * 1025):
        with pytest.raises(InvalidInput):
            ctx.vault.credentials.set_password(ctx.admin, ctx.keys, cred.id, Secret(bad))
    with pytest.raises(InvalidInput, match="reason"):
        ctx.vault.credentials.set_password(
            ctx.admin, ctx.keys, cred.id, Secret("ok-Pa55!"), reason="r" * 501
        )

    now = ctx.vault.credentials.get(ctx.admin, cred.id)
    assert (now.version, now.secret_version) == (1, 1)
    assert len(ctx.vault.credentials.history(ctx.admin, None, cred.id)) == 1
    assert ctx.vault.credentials.reveal(ctx.admin, ctx.keys, cred.id).password == Secret(
        "kept-Pa55!"
    )


def test_history_reveal_needs_the_key_and_works_from_the_trash(ctx):
    cred = ctx.add("Old", "old-Pa55!")
    ctx.vault.credentials.set_password(ctx.admin, ctx.keys, cred.id, Secret("new-Pa55!"))
    ctx.vault.credentials.delete(ctx.admin, cred.id)

    with pytest.raises(InvalidInput, match="key"):
        ctx.vault.credentials.history(ctx.admin, None, cred.id, reveal=True)
    history = ctx.vault.credentials.history(ctx.admin, ctx.keys, cred.id, reveal=True)
    assert [h.password for h in history] == [Secret("new-Pa55!"), Secret("old-Pa55!")]


def test_one_earlier_version_is_revealed_alone_and_audited_as_that_version(ctx):
    cred = ctx.add("Versions", "first-Pa55!")
    for password in ("second-Pa55!", "third-Pa55!"):
        ctx.vault.credentials.set_password(ctx.admin, ctx.keys, cred.id, Secret(password))
    [listed] = ctx.vault.credentials.history(ctx.admin, None, cred.id, version=1)
    assert (listed.version, listed.password, listed.current) == (1, None, False)
    assert ctx.audit("credential.history_reveal", cred.id) == []

    [shown] = ctx.vault.credentials.history(ctx.admin, ctx.keys, cred.id, reveal=True, version=2)
    assert (shown.version, shown.password) == (2, Secret("second-Pa55!"))
    [entry] = ctx.audit("credential.history_reveal", cred.id)
    assert entry.details == {"versions": [2]}
    with pytest.raises(NotFound, match="no password version 4"):
        ctx.vault.credentials.history(ctx.admin, ctx.keys, cred.id, reveal=True, version=4)
    assert len(ctx.audit("credential.history_reveal", cred.id)) == 1
    with pytest.raises(PermissionDenied):
        ctx.vault.credentials.history(
            ctx.as_role("viewer"), ctx.keys, cred.id, reveal=True, version=1
        )


def test_secret_history_rows_are_sealed(ctx):
    cred = ctx.add("Sealed", "plain-text-Pa55!")
    ctx.vault.credentials.set_password(ctx.admin, ctx.keys, cred.id, Secret("next-text-Pa55!"))

    with ctx.world.db.read() as conn:
        blobs = conn.execute(
            sa.select(secret_versions.c.ciphertext).where(
                secret_versions.c.credential_id == cred.id
            )
        ).scalars()
        blobs = [bytes(b) for b in blobs]
    assert len(blobs) == 2
    assert all(b"text-Pa55" not in blob for blob in blobs)


# -- editing -----------------------------------------------------------------------------------
def test_edit_each_field(ctx):
    cred = ctx.add("Original", username="old", url="https://old", notes="old notes", tags=["a"])
    edits = [
        ({"title": "  Renamed  "}, lambda c: c.title == "Renamed", ["title"]),
        ({"username": "new-user"}, lambda c: c.username == "new-user", ["username"]),
        ({"url": "https://new"}, lambda c: c.url == "https://new", ["url"]),
        ({"type_": "API_KEY"}, lambda c: c.type == "api_key", ["type"]),
        ({"tags": ["Z", "y", "z"]}, lambda c: c.tags == ("y", "z"), ["tags"]),
        ({"folder": "Moved/Here"}, lambda c: c.folder == "Moved/Here", ["folder"]),
        ({"folder": ""}, lambda c: c.folder is None, ["folder"]),
        ({"tags": []}, lambda c: c.tags == (), ["tags"]),
        ({"notes": "new notes"}, lambda c: c.has_notes, ["notes"]),
    ]
    version = cred.version
    for change, holds, changed in edits:
        edited = ctx.vault.credentials.edit(ctx.admin, ctx.keys, cred.id, **change)
        version += 1
        assert holds(edited), change
        assert edited.version == version, change
        assert edited.secret_version == 1
        assert ctx.audit("credential.edit", cred.id)[0].details == {"changed": changed}

    assert ctx.vault.credentials.reveal(ctx.admin, ctx.keys, cred.id).notes == Secret("new notes")
    cleared = ctx.vault.credentials.edit(ctx.admin, ctx.keys, cred.id, notes="")
    assert cleared.has_notes is False
    assert ctx.vault.credentials.reveal(ctx.admin, ctx.keys, cred.id).notes is None


def test_edit_several_fields_at_once_and_nothing_to_change(ctx):
    cred = ctx.add("Several")

    edited = ctx.vault.credentials.edit(
        ctx.admin, ctx.keys, cred.id, title="Many", username="me", tags=["t"], folder="F"
    )

    assert (edited.title, edited.username, edited.tags, edited.folder) == (
        "Many",
        "me",
        ("t",),
        "F",
    )
    assert edited.version == 2
    assert ctx.audit("credential.edit", cred.id)[0].details == {
        "changed": ["folder", "tags", "title", "username"]
    }
    with pytest.raises(InvalidInput, match="nothing to change"):
        ctx.vault.credentials.edit(ctx.admin, ctx.keys, cred.id)
    for bad in ({"title": ""}, {"type_": "nope"}, {"tags": ["bad tag"]}, {"url": "\x00"}):
        with pytest.raises(InvalidInput):
            ctx.vault.credentials.edit(ctx.admin, ctx.keys, cred.id, **bad)
    assert ctx.vault.credentials.get(ctx.admin, cred.id).version == 2


def test_edit_reindexes_search_terms(ctx):
    old_word, new_word, tag_word = word(), word(), word()
    cred = ctx.add(f"{old_word} box", tags=[tag_word])

    def found(text):
        return ids(ctx.vault.credentials.search(ctx.admin, text, client_ref=ctx.name))

    assert found(old_word) == [cred.id]
    ctx.vault.credentials.edit(ctx.admin, ctx.keys, cred.id, title=f"{new_word} box")
    assert found(old_word) == []
    assert found(new_word) == [cred.id]
    assert found(tag_word) == [cred.id]  # a title change keeps the tags searchable

    ctx.vault.credentials.edit(ctx.admin, ctx.keys, cred.id, tags=["replaced"])
    assert found(tag_word) == []
    assert found("replaced") == [cred.id]
    assert found(new_word) == [cred.id]

    ctx.vault.credentials.edit(ctx.admin, ctx.keys, cred.id, username="svc-backup")
    assert found("svc") == [cred.id]
    with ctx.world.db.read() as conn:
        terms = set(
            conn.execute(
                sa.select(search_terms.c.term).where(search_terms.c.credential_id == cred.id)
            ).scalars()
        )
    # credential_terms: no username whole, no word that starts another ("svc": "svcbackup")
    assert terms == {new_word, "box", "replaced", "backup", "svcbackup"}


def test_sync_mode_own_or_inherited(ctx):
    cred = ctx.add("Synced")
    assert (cred.sync_mode, cred.effective_sync_mode) == (None, SyncMode.REPORT)

    off = ctx.vault.credentials.set_sync_mode(ctx.admin, cred.id, SyncMode.OFF)
    assert (off.sync_mode, off.effective_sync_mode) == (SyncMode.OFF, SyncMode.OFF)
    enforce = ctx.vault.credentials.set_sync_mode(ctx.admin, cred.id, SyncMode.ENFORCE)
    assert enforce.effective_sync_mode is SyncMode.ENFORCE
    inherit = ctx.vault.credentials.set_sync_mode(ctx.admin, cred.id, None)
    assert (inherit.sync_mode, inherit.effective_sync_mode) == (None, SyncMode.REPORT)
    assert inherit.version == 4

    ctx.vault.clients.configure(ctx.admin, ctx.name, default_sync_mode=SyncMode.OFF)
    assert ctx.vault.credentials.get(ctx.admin, cred.id).effective_sync_mode is SyncMode.OFF
    listed = ctx.vault.credentials.list(ctx.admin, ctx.name).items
    assert [c.effective_sync_mode for c in listed] == [SyncMode.OFF]

    moves = [
        (e.details["from"], e.details["to"])
        for e in reversed(ctx.audit("credential.sync_mode", cred.id))
    ]
    assert moves == [("inherit", "off"), ("off", "enforce"), ("enforce", "inherit")]


def test_enforce_needs_directory_setup(ctx):
    tech = ctx.as_role("technician")
    cred = ctx.add("Tech's")

    with pytest.raises(PermissionDenied, match=r"directory\.setup"):
        ctx.vault.credentials.set_sync_mode(tech, cred.id, SyncMode.ENFORCE)
    with pytest.raises(PermissionDenied, match=r"directory\.setup"):
        ctx.vault.credentials.add(
            tech,
            ctx.keys,
            ctx.name,
            make_draft(title="x", password=Secret("Pw-12345!"), sync_mode=SyncMode.ENFORCE),
        )
    assert ctx.vault.credentials.set_sync_mode(tech, cred.id, SyncMode.OFF).sync_mode is (
        SyncMode.OFF
    )
    assert ctx.vault.credentials.get(ctx.admin, cred.id).version == 2


# -- trash -------------------------------------------------------------------------------------
def test_delete_restore_and_purge(ctx):
    cred = ctx.add("Trashable", "trash-Pa55!")

    deleted = ctx.vault.credentials.delete(ctx.admin, cred.id)
    assert deleted.deleted_at is not None
    assert deleted.version == 2
    with pytest.raises(NotFound, match="trash"):
        ctx.vault.credentials.get(ctx.admin, cred.id)
    assert ctx.vault.credentials.get(ctx.admin, cred.id, trashed=True).deleted_by == "alice"
    with pytest.raises(NotFound):  # a deleted credential cannot be deleted again
        ctx.vault.credentials.delete(ctx.admin, cred.id)

    restored = ctx.vault.credentials.restore(ctx.admin, cred.id)
    assert (restored.deleted_at, restored.deleted_by, restored.version) == (None, None, 3)
    assert ctx.vault.credentials.reveal(ctx.admin, ctx.keys, cred.id).password == Secret(
        "trash-Pa55!"
    )
    with pytest.raises(InvalidInput, match="not in the trash"):
        ctx.vault.credentials.restore(ctx.admin, cred.id)
    with pytest.raises(InvalidInput, match="delete it first"):
        ctx.vault.credentials.purge(ctx.admin, cred.id)

    ctx.vault.credentials.delete(ctx.admin, cred.id)
    assert ctx.vault.credentials.purge(ctx.admin, cred.id[:8]) == cred.id
    with pytest.raises(NotFound):
        ctx.vault.credentials.get(ctx.admin, cred.id, trashed=True)
    with ctx.world.db.read() as conn:
        for table in (secret_versions, search_terms):
            left = conn.execute(
                sa.select(sa.func.count()).where(table.c.credential_id == cred.id)
            ).scalar_one()
            assert left == 0, table.name

    actions = [
        e.action
        for e in ctx.vault.audit.list(ctx.admin, target_id=cred.id)
        if e.action != "credential.reveal"
    ]
    assert actions == [
        "credential.purge",
        "credential.delete",
        "credential.restore",
        "credential.delete",
        "credential.add",
    ]


def test_purge_is_for_admins_only(ctx):
    cred = ctx.add("Purge me")
    ctx.vault.credentials.delete(ctx.admin, cred.id)

    for role in ("technician", "directory_manager"):
        with pytest.raises(PermissionDenied, match="admin"):
            ctx.vault.credentials.purge(ctx.as_role(role), cred.id)
    assert ctx.vault.credentials.get(ctx.admin, cred.id, trashed=True).id == cred.id
    assert ctx.audit("credential.purge", cred.id) == []


# -- stale versions ----------------------------------------------------------------------------
@pytest.mark.parametrize("call", ["set_password", "edit", "set_sync_mode", "delete"])
def test_stale_expected_version_is_refused(ctx, call):
    cred = ctx.add("Versioned", "v1-Pa55!")
    ctx.vault.credentials.edit(ctx.admin, ctx.keys, cred.id, url="https://changed")
    credentials_ = ctx.vault.credentials

    def attempt(version):
        if call == "set_password":
            return credentials_.set_password(
                ctx.admin, ctx.keys, cred.id, Secret("v2-Pa55!"), expected_version=version
            )
        if call == "edit":
            return credentials_.edit(
                ctx.admin, ctx.keys, cred.id, title="Edited", expected_version=version
            )
        if call == "set_sync_mode":
            return credentials_.set_sync_mode(
                ctx.admin, cred.id, SyncMode.OFF, expected_version=version
            )
        return credentials_.delete(ctx.admin, cred.id, expected_version=version)

    before = len(ctx.vault.audit.list(ctx.admin, target_id=cred.id))
    with pytest.raises(StaleVersion, match="now version 2, you had version 1"):
        attempt(1)

    now = credentials_.get(ctx.admin, cred.id)
    assert (now.version, now.secret_version, now.title, now.sync_mode) == (
        2,
        1,
        "Versioned",
        None,
    )
    assert credentials_.reveal(ctx.admin, ctx.keys, cred.id).password == Secret("v1-Pa55!")
    assert len(ctx.vault.audit.list(ctx.admin, target_id=cred.id)) == before + 1  # the reveal
    assert attempt(2).version == 3


# -- directory_admin credentials ---------------------------------------------------------------
def test_directory_admin_credentials_are_hidden_without_permission(ctx):
    token = word()
    bind = ctx.add(f"{token} bind", "Bind-Pa55!", type_="directory_admin", tags=["dc"])
    plain = ctx.add(f"{token} plain", tags=["dc"])
    tech = ctx.as_role("technician")
    manager = ctx.as_role("directory_manager")
    creds = ctx.vault.credentials

    # a role without directory_admin.use sees only the plain credential ...
    assert ids(creds.list(tech, ctx.name).items) == [plain.id]
    assert ids(creds.list(tech, ctx.name, tag="dc").items) == [plain.id]
    assert ids(creds.search(tech, token)) == [plain.id]
    calls = {
        "get": lambda: creds.get(tech, bind.id),
        "reveal": lambda: creds.reveal(tech, ctx.keys, bind.id),
        "history": lambda: creds.history(tech, None, bind.id),
        "set_password": lambda: creds.set_password(tech, ctx.keys, bind.id, Secret("x-Pa55!")),
        "edit": lambda: creds.edit(tech, ctx.keys, bind.id, title="mine now"),
        "delete": lambda: creds.delete(tech, bind.id),
    }
    # Its id answers as an id of nothing does (security finding 8: a 403 said it exists).
    for call in calls.values():
        with pytest.raises(NotFound) as hidden:
            call()
        assert str(hidden.value) == f"no credential with id {bind.id}"
    # ... and cannot make one
    with pytest.raises(PermissionDenied):
        ctx.add("sneaky", type_="directory_admin", actor=tech)
    with pytest.raises(PermissionDenied):
        creds.edit(tech, ctx.keys, plain.id, type_="directory_admin")

    # a directory manager sees and uses both
    assert ids(creds.list(manager, ctx.name).items) == [bind.id, plain.id]
    assert ids(creds.search(manager, token)) == [bind.id, plain.id]
    assert creds.reveal(manager, ctx.keys, bind.id).password == Secret("Bind-Pa55!")
    after = creds.get(ctx.admin, bind.id)
    assert (after.title, after.version, after.deleted_at) == (bind.title, 1, None)


# -- PostgreSQL with a linguistic collation ----------------------------------------------------
@pytest.fixture
def icu_world(pg_server):
    """A vault in a PostgreSQL database whose default collation is ICU's en-US (where, unlike
    in "C", punctuation sorts before digits), as many production databases are set up."""
    name = f"icu_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(
        f"host=127.0.0.1 port={pg_server.port} user=postgres dbname=postgres", autocommit=True
    ) as conn:
        conn.execute(
            f"CREATE DATABASE {name} TEMPLATE template0 LOCALE_PROVIDER icu "
            "ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'".encode()
        )
    built = make_world(pg_server.url_for(name))
    try:
        yield built
    finally:
        built.db.dispose()
        pg_server.drop_database(name)


def test_credentials_are_found_under_a_linguistic_collation(icu_world):
    w = icu_world
    w.vault.clients.add(w.admin, w.keys, "Contoso")
    # 40 ids: some end in '9' or 'f' and hold '-', the characters a collation reorders
    made = [add_cred(w, "Contoso", f"Server {i}", f"Pw-{i}-2345!") for i in range(40)]

    for cred in made:
        for length in (6, 8, 9, 13, 35, 36):
            assert w.vault.credentials.get(w.admin, cred.id[:length]).id == cred.id
    assert w.vault.credentials.reveal(w.admin, w.keys, made[-1].id).password == Secret(
        "Pw-39-2345!"
    )
    seen, cursor = [], None
    while True:
        page = w.vault.credentials.list(w.admin, "Contoso", limit=7, cursor=cursor)
        seen += ids(page.items)
        if (cursor := page.next_cursor) is None:
            break
    assert sorted(seen) == sorted(ids(made))
    assert len(seen) == len(made)
    assert len(w.vault.credentials.search(w.admin, "serv", limit=100)) == 40
