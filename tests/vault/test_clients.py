"""Clients and their folders: add, list, show, rename, archive, configure."""

from __future__ import annotations

import io

import pytest

from credsync.errors import AlreadyExists, InvalidInput, NotFound, StaleVersion
from credsync.types import SyncMode

from .helpers import add_cred, audit_of


# -- tests on a vault of their own (they look at the whole client list) ------------------------
def test_add_sets_defaults_and_is_audited(world):
    client = world.vault.clients.add(world.admin, world.keys, "  Contoso Ltd  ")

    assert client.name == "Contoso Ltd"
    assert client.directory_sync is False
    assert client.default_sync_mode is SyncMode.REPORT
    assert client.version == 1
    assert client.archived_at is None
    [entry] = audit_of(world, "client.add", client.id)
    assert entry.actor == "alice"
    assert entry.client_id == client.id
    assert entry.details == {
        "name": "Contoso Ltd",
        "directory_sync": False,
        "default_sync_mode": "report",
    }


def test_bad_names_and_duplicates_are_refused_and_nothing_is_written(world):
    world.vault.clients.add(world.admin, world.keys, "Contoso")

    for name in ("", "   ", "bad\x07name", "x" * 201, "tab\tinside"):
        with pytest.raises(InvalidInput):
            world.vault.clients.add(world.admin, world.keys, name)
    for name in ("Contoso", "CONTOSO", "contoso", " contoso "):
        with pytest.raises(AlreadyExists, match="already exists"):
            world.vault.clients.add(world.admin, world.keys, name)

    assert [c.name for c in world.vault.clients.list(world.admin, include_archived=True)] == [
        "Contoso"
    ]
    assert len(audit_of(world, "client.add")) == 1


def test_list_is_sorted_by_name_and_counts_live_credentials(world):
    for name in ("beta", "Alpha", "gamma", "delta"):
        world.vault.clients.add(world.admin, world.keys, name)
    add_cred(world, "Alpha", "one")
    add_cred(world, "Alpha", "two")
    trashed = add_cred(world, "Alpha", "three")
    world.vault.credentials.delete(world.admin, trashed.id)
    add_cred(world, "gamma", "only")
    world.vault.clients.set_archived(world.admin, "delta", True)

    listed = world.vault.clients.list(world.admin)

    assert [(c.name, c.credential_count) for c in listed] == [
        ("Alpha", 2),
        ("beta", 0),
        ("gamma", 1),
    ]
    everything = world.vault.clients.list(world.admin, include_archived=True)
    assert [c.name for c in everything] == ["Alpha", "beta", "delta", "gamma"]
    assert world.vault.clients.get(world.admin, "alpha").credential_count == 2


# -- tests on a client of their own in a shared vault ------------------------------------------
def test_add_with_directory_settings(ctx):
    client = ctx.vault.clients.add(
        ctx.admin,
        ctx.keys,
        ctx.name + " DS",
        directory_sync=True,
        default_sync_mode=SyncMode.ENFORCE,
    )

    shown = ctx.vault.clients.get(ctx.admin, (ctx.name + " ds").upper())
    assert shown.id == client.id
    assert shown.directory_sync is True
    assert shown.default_sync_mode is SyncMode.ENFORCE


def test_show_by_name_any_case_or_by_id(ctx):
    assert ctx.vault.clients.get(ctx.admin, ctx.name.upper()).id == ctx.client.id
    assert ctx.vault.clients.get(ctx.admin, ctx.name.lower()).id == ctx.client.id
    shown = ctx.vault.clients.get(ctx.admin, ctx.client.id)
    assert shown.name == ctx.name
    assert shown.credential_count == 0


def test_unknown_client_is_not_found_everywhere(ctx):
    v, a = ctx.vault, ctx.admin
    calls = {
        "get": lambda: v.clients.get(a, "Nobody"),
        "rename": lambda: v.clients.rename(a, "Nobody", "Somebody"),
        "archive": lambda: v.clients.set_archived(a, "Nobody", True),
        "configure": lambda: v.clients.configure(a, "Nobody", directory_sync=True),
        "add_folder": lambda: v.clients.add_folder(a, "Nobody", "Servers"),
        "folders": lambda: v.clients.folders(a, "Nobody"),
        "delete_folder": lambda: v.clients.delete_folder(a, "Nobody", "Servers"),
        "cred list": lambda: v.credentials.list(a, "Nobody"),
        "cred search": lambda: v.credentials.search(a, "x", client_ref="Nobody"),
        "cred add": lambda: add_cred(ctx.world, "Nobody", "t"),
        "import": lambda: v.csv.import_csv(
            a, ctx.keys, "Nobody", io.BytesIO(b"title,password\nx,Pw-123456!\n")
        ),
        "export": lambda: v.csv.export_csv(a, ctx.keys, "Nobody", io.StringIO()),
    }
    for call in calls.values():
        with pytest.raises(NotFound, match="Nobody"):
            call()


def test_rename_keeps_the_id_and_frees_the_old_name(ctx):
    old = ctx.name
    renamed = ctx.vault.clients.rename(ctx.admin, old.lower(), old + " Group")

    assert renamed.id == ctx.client.id
    assert renamed.name == old + " Group"
    assert renamed.version == ctx.client.version + 1
    with pytest.raises(NotFound):
        ctx.vault.clients.get(ctx.admin, old)
    # the old name is free again
    assert ctx.vault.clients.add(ctx.admin, ctx.keys, old).id != ctx.client.id
    [entry] = ctx.audit("client.rename", ctx.client.id)
    assert entry.details == {"name": old, "new_name": old + " Group"}


def test_rename_may_change_only_the_case(ctx):
    renamed = ctx.vault.clients.rename(ctx.admin, ctx.client.id, ctx.name.upper())
    assert renamed.name == ctx.name.upper()


def test_rename_refuses_a_taken_or_bad_name(ctx):
    other = ctx.other_client()

    with pytest.raises(AlreadyExists):
        ctx.vault.clients.rename(ctx.admin, ctx.name, other.name.lower())
    for bad in ("", "  ", "a\x00b", "y" * 201):
        with pytest.raises(InvalidInput):
            ctx.vault.clients.rename(ctx.admin, ctx.name, bad)
    current = ctx.vault.clients.get(ctx.admin, ctx.client.id)
    assert (current.name, current.version) == (ctx.name, 1)


def test_archive_hides_from_list_and_unarchive_brings_back(ctx):
    def listed(include_archived=False):
        clients = ctx.vault.clients.list(ctx.admin, include_archived=include_archived)
        return {c.id for c in clients}

    archived = ctx.vault.clients.set_archived(ctx.admin, ctx.name, True)

    assert archived.archived_at is not None
    assert ctx.client.id not in listed()
    assert ctx.client.id in listed(include_archived=True)
    # an archived client can still be shown by name
    assert ctx.vault.clients.get(ctx.admin, ctx.name.lower()).archived_at is not None

    restored = ctx.vault.clients.set_archived(ctx.admin, ctx.name, False)
    assert restored.archived_at is None
    assert restored.version == 3
    assert ctx.client.id in listed()
    assert len(ctx.audit("client.archive", ctx.client.id)) == 1
    assert len(ctx.audit("client.unarchive", ctx.client.id)) == 1


def test_archived_client_refuses_new_credentials_and_imports(ctx):
    ctx.vault.clients.set_archived(ctx.admin, ctx.name, True)

    with pytest.raises(InvalidInput, match="archived"):
        ctx.add("New one")
    with pytest.raises(InvalidInput, match="archived"):
        ctx.vault.csv.import_csv(
            ctx.admin, ctx.keys, ctx.name, io.BytesIO(b"title,password\nx,Pw-123456!\n")
        )
    assert ctx.vault.clients.get(ctx.admin, ctx.name).credential_count == 0

    ctx.vault.clients.set_archived(ctx.admin, ctx.name, False)
    assert ctx.add("New one").client_id == ctx.client.id


def test_configure_changes_only_what_is_given(ctx):
    step1 = ctx.vault.clients.configure(ctx.admin, ctx.name, directory_sync=True)
    assert step1.directory_sync is True
    assert step1.default_sync_mode is SyncMode.REPORT

    step2 = ctx.vault.clients.configure(ctx.admin, ctx.name, default_sync_mode=SyncMode.ENFORCE)
    assert step2.directory_sync is True
    assert step2.default_sync_mode is SyncMode.ENFORCE

    step3 = ctx.vault.clients.configure(
        ctx.admin, ctx.name, directory_sync=False, default_sync_mode=SyncMode.OFF
    )
    assert (step3.directory_sync, step3.default_sync_mode) == (False, SyncMode.OFF)
    assert step3.version == 4
    details = [e.details for e in reversed(ctx.audit("client.configure", ctx.client.id))]
    assert details == [
        {"name": ctx.name, "directory_sync": True},
        {"name": ctx.name, "default_sync_mode": "enforce"},
        {"name": ctx.name, "directory_sync": False, "default_sync_mode": "off"},
    ]


def test_configure_with_nothing_to_change_is_refused(ctx):
    with pytest.raises(InvalidInput, match="nothing to change"):
        ctx.vault.clients.configure(ctx.admin, ctx.name)
    assert ctx.vault.clients.get(ctx.admin, ctx.name).version == 1
    assert ctx.audit("client.configure", ctx.client.id) == []


def test_client_default_mode_flows_into_inheriting_credentials(ctx):
    inherits = ctx.add("inherits")
    own = ctx.add("own", sync_mode=SyncMode.OFF)
    assert inherits.effective_sync_mode is SyncMode.REPORT

    ctx.vault.clients.configure(ctx.admin, ctx.name, default_sync_mode=SyncMode.ENFORCE)

    now_inherits = ctx.vault.credentials.get(ctx.admin, inherits.id)
    now_own = ctx.vault.credentials.get(ctx.admin, own.id)
    assert (now_inherits.sync_mode, now_inherits.effective_sync_mode) == (None, SyncMode.ENFORCE)
    assert (now_own.sync_mode, now_own.effective_sync_mode) == (SyncMode.OFF, SyncMode.OFF)


@pytest.mark.parametrize("what", ["rename", "archive", "configure"])
def test_stale_expected_version_is_refused(ctx, what):
    def change(version):
        if what == "rename":
            return ctx.vault.clients.rename(
                ctx.admin, ctx.client.id, ctx.name + " new", expected_version=version
            )
        if what == "archive":
            return ctx.vault.clients.set_archived(
                ctx.admin, ctx.client.id, True, expected_version=version
            )
        return ctx.vault.clients.configure(
            ctx.admin, ctx.client.id, directory_sync=True, expected_version=version
        )

    ctx.vault.clients.configure(ctx.admin, ctx.name, default_sync_mode=SyncMode.OFF)

    with pytest.raises(StaleVersion, match=r"now version 2, you had version 1"):
        change(1)
    current = ctx.vault.clients.get(ctx.admin, ctx.client.id)
    assert (current.version, current.name, current.archived_at, current.directory_sync) == (
        2,
        ctx.name,
        None,
        False,
    )
    # the current version is accepted
    assert change(2).version == 3


# -- folders -----------------------------------------------------------------------------------
def test_folders_add_list_and_delete(ctx):
    dcs = ctx.vault.clients.add_folder(ctx.admin, ctx.name, " Servers / DCs ")
    ctx.vault.clients.add_folder(ctx.admin, ctx.name, "Accounts")

    assert dcs.path == "Servers/DCs"
    assert dcs.client_id == ctx.client.id
    assert [f.path for f in ctx.vault.clients.folders(ctx.admin, ctx.name)] == [
        "Accounts",
        "Servers/DCs",
    ]
    with pytest.raises(AlreadyExists):
        ctx.vault.clients.add_folder(ctx.admin, ctx.name, "servers/dcs")

    gone = ctx.vault.clients.delete_folder(ctx.admin, ctx.name, "SERVERS/DCS")
    assert gone.id == dcs.id
    assert [f.path for f in ctx.vault.clients.folders(ctx.admin, ctx.name)] == ["Accounts"]
    with pytest.raises(NotFound):
        ctx.vault.clients.delete_folder(ctx.admin, ctx.name, "Servers/DCs")
    added = [e for e in ctx.audit("folder.add") if e.client_id == ctx.client.id]
    assert sorted(e.details["path"] for e in added) == ["Accounts", "Servers/DCs"]
    assert len(ctx.audit("folder.delete", dcs.id)) == 1


def test_bad_folder_paths_are_refused(ctx):
    for path in ("", " / ", "a/../b", "./a", "a\x01b", "f" * 501):
        with pytest.raises(InvalidInput):
            ctx.vault.clients.add_folder(ctx.admin, ctx.name, path)
    assert ctx.vault.clients.folders(ctx.admin, ctx.name) == []


def test_folders_belong_to_their_client(ctx):
    other = ctx.other_client()
    mine = ctx.vault.clients.add_folder(ctx.admin, ctx.name, "Servers")

    assert ctx.vault.clients.folders(ctx.admin, other.name) == []
    # the same path in another client is a different folder
    theirs = ctx.vault.clients.add_folder(ctx.admin, other.name, "Servers")
    assert theirs.id != mine.id
    assert theirs.client_id == other.id


def test_delete_folder_refuses_while_it_holds_credentials_even_in_trash(ctx):
    cred = ctx.add("DC admin", folder_path="Servers")

    with pytest.raises(InvalidInput, match="still holds 1 credential"):
        ctx.vault.clients.delete_folder(ctx.admin, ctx.name, "Servers")
    ctx.vault.credentials.delete(ctx.admin, cred.id)
    with pytest.raises(InvalidInput, match="counting the trash"):
        ctx.vault.clients.delete_folder(ctx.admin, ctx.name, "Servers")
    ctx.vault.credentials.purge(ctx.admin, cred.id)

    ctx.vault.clients.delete_folder(ctx.admin, ctx.name, "Servers")
    assert ctx.vault.clients.folders(ctx.admin, ctx.name) == []


def test_client_operations_are_audited_in_order_and_keep_the_chain(ctx):
    ctx.vault.clients.rename(ctx.admin, ctx.name, ctx.name + " 2")
    ctx.vault.clients.configure(ctx.admin, ctx.client.id, directory_sync=True)
    ctx.vault.clients.add_folder(ctx.admin, ctx.client.id, "A")
    ctx.vault.clients.set_archived(ctx.admin, ctx.client.id, True)

    report = ctx.vault.audit.verify(ctx.admin)
    assert report.ok, report.problem
    actions = [e.action for e in ctx.vault.audit.list(ctx.admin, client_id=ctx.client.id)]
    assert actions == [
        "client.archive",
        "folder.add",
        "client.configure",
        "client.rename",
        "client.add",
    ]
