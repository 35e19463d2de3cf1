"""Auto-create on the real Samba DC: the scope (OUs, nested groups, disabled users, the name
filter, the default exclusions), the dry run, first_seen creation through a real run,
idempotency (two runs, a rename), the threshold, and creation from a captured password."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import pytest

from credsync.errors import InvalidInput
from credsync.storage import auto_create as auto_create_rows
from credsync.sync import auto_create
from credsync.testing.samba import TestUser
from credsync.types import Secret, SyncMode

from .helpers import SyncWorld


@dataclass
class Scope:
    """Users in the test's OU: ``inner`` in a group nested in ``outer``'s group, ``direct`` in
    the outer group, ``outside`` in no group, ``disabled`` in the inner group but disabled,
    ``staff_ou`` a sub-OU holding ``deep`` (no group)."""

    outer: str
    inner_group: str
    inner: TestUser
    direct: TestUser
    outside: TestUser
    disabled: TestUser
    staff_ou: str
    deep: TestUser


def make_scope(sw: SyncWorld) -> Scope:
    admin, ou = sw.ad.admin, sw.ad.dn
    outer = admin.create_group(ou)
    inner_group = admin.create_group(ou)
    admin.add_member(outer, inner_group)  # nested: inner_group is a member of outer
    inner = sw.ad.create_user(display_name="Inner Person")
    direct = sw.ad.create_user(display_name="Direct Person")
    outside = sw.ad.create_user()
    disabled = sw.ad.create_user(enabled=False)
    admin.add_member(inner_group, inner.dn)
    admin.add_member(inner_group, disabled.dn)
    admin.add_member(outer, direct.dn)
    staff_ou = f"OU=staff,{ou}"
    admin.conn.add(staff_ou, ["organizationalUnit"])
    deep = admin.create_user(staff_ou)
    return Scope(outer, inner_group, inner, direct, outside, disabled, staff_ou, deep)


def settings(sw: SyncWorld, **given: object) -> None:
    sw.vault.auto_create.update(sw.admin, sw.directory, {"enabled": True, **given})


def preview(sw: SyncWorld) -> set[str]:
    shown = asyncio.run(auto_create.preview(sw.vault, sw.keys, sw.admin, sw.directory))
    return {c.account.username for c in shown.candidates}


def created(sw: SyncWorld) -> dict[str, str]:
    """Account id -> credential id of what auto-create made in the directory."""
    directory = sw.vault.directories.get(sw.admin, sw.directory)
    with sw.vault.db.read() as conn:
        return {
            r.account_id: r.credential_id for r in auto_create_rows.of_directory(conn, directory.id)
        }


def test_the_dry_run_follows_nested_groups_ous_disabled_users_and_the_name_filter(
    sw: SyncWorld,
) -> None:
    s = make_scope(sw)
    settings(sw)
    everyone = {s.inner.name, s.direct.name, s.outside.name, s.deep.name}
    assert preview(sw) == everyone
    settings(sw, groups=[s.outer])
    assert preview(sw) == {s.inner.name, s.direct.name}  # inner only through the nesting
    settings(sw, include_disabled=True)
    assert preview(sw) == {s.inner.name, s.direct.name, s.disabled.name}
    settings(sw, groups=[], include_disabled=False, ous=[s.staff_ou])
    assert preview(sw) == {s.deep.name}
    settings(sw, ous=[], name_filter=s.inner.name[:5] + "*")
    assert s.inner.name in preview(sw)
    assert all(name.startswith(s.inner.name[:5]) for name in preview(sw))
    assert created(sw) == {}  # a dry run makes nothing


def test_a_credential_that_answers_to_the_name_is_left_to_linking(sw: SyncWorld) -> None:
    user = sw.ad.create_user()
    other = sw.ad.create_user()
    sw.add(user, mode=SyncMode.REPORT)
    settings(sw)
    assert preview(sw) == {other.name}


def test_a_first_seen_run_makes_shells_that_are_never_bound_nor_pushed(sw: SyncWorld) -> None:
    s = make_scope(sw)
    settings(
        sw,
        trigger="first_seen",
        groups=[s.outer],
        folder="Staff/AD",
        tags=["from-ad"],
        sync_mode="enforce",
        title="{displayName} ({sAMAccountName})",
    )
    before = sw.ad.admin.account_state(s.inner.dn)["badPwdCount"]
    report = sw.run()
    made = created(sw)
    assert set(made) == {s.inner.guid, s.direct.guid}
    items = sw.items(report)
    for cid in made.values():
        assert items[cid] == ("password_unknown", "create")
    cred = sw.vault.credentials.get(sw.admin, made[s.inner.guid])
    assert cred.title == f"Inner Person ({s.inner.name})"
    assert cred.username == s.inner.name
    assert cred.folder == "Staff/AD"
    assert cred.tags == ("from-ad",)
    assert cred.sync_mode == SyncMode.REPORT  # never enforce without a known password
    assert cred.password_unknown_in == (sw.directory,)
    assert sw.flags() == {}
    # The next runs: no second credential, no bind (badPwdCount unchanged), no flag.
    sw.ad.admin.reset_password(s.inner.dn, "Changed-In-AD-1!")
    again = sw.run(full=True)
    assert created(sw) == made
    assert sw.items(again)[made[s.inner.guid]] == ("password_unknown", "none")
    assert sw.ad.admin.account_state(s.inner.dn)["badPwdCount"] == before
    assert sw.flags() == {}
    client_creds = sw.vault.credentials.list(sw.admin, sw.client).items
    assert len([c for c in client_creds if c.username == s.inner.name]) == 1


def test_a_renamed_account_is_not_made_twice(sw: SyncWorld) -> None:
    user = sw.ad.create_user()
    settings(sw, trigger="first_seen")
    sw.run()
    made = created(sw)
    assert set(made) == {user.guid}
    sw.ad.admin.rename(user.dn, user.name + "x")
    sw.run(full=True)
    assert created(sw) == made
    assert preview(sw) == set()


def test_over_the_threshold_a_run_makes_none_and_says_so(sw: SyncWorld) -> None:
    users = [sw.ad.create_user() for _ in range(3)]
    settings(sw, trigger="first_seen", max_per_run=2)
    report = sw.run()
    assert created(sw) == {}
    assert "over this directory's limit of 2 per run" in report.message
    held = [i for i in report.items if i.credential_id is None]
    assert {i.account for i in held} == {u.name for u in users}
    assert {(i.status, i.action) for i in held} == {("skipped", "skip")}
    settings(sw, max_per_run=3)
    sw.run()
    assert set(created(sw)) == {u.guid for u in users}


def test_a_dry_run_lists_what_the_run_would_make(sw: SyncWorld) -> None:
    user = sw.ad.create_user()
    settings(sw, trigger="first_seen")
    report = sw.run(dry_run=True)
    assert created(sw) == {}
    [item] = [i for i in report.items if i.credential_id is None]
    assert (item.account, item.status, item.action) == (user.name, "pending", "create")


def test_a_capture_makes_a_credential_with_the_password_once(sw: SyncWorld) -> None:
    s = make_scope(sw)
    settings(sw, groups=[s.inner_group], sync_mode="enforce")
    stamp = str(sw.ad.admin.account_state(s.inner.dn)["pwdLastSet"])
    directory = sw.vault.directories.get(sw.admin, sw.directory)

    def capture(user: TestUser, password: str) -> str | None:
        return asyncio.run(
            auto_create.create_for_capture(
                sw.vault, sw.keys, sw.admin, directory.id, user.guid, Secret(password),
                stamp=stamp, why="changed in Active Directory (test)",
            )
        )  # fmt: skip

    cid = capture(s.inner, s.inner.password)
    assert cid is not None
    assert capture(s.inner, s.inner.password) is None  # delivered twice: one credential
    assert capture(s.direct, s.direct.password) is None  # not in the inner group
    assert capture(s.disabled, s.disabled.password) is None  # disabled
    cred = sw.vault.credentials.get(sw.admin, cid)
    assert cred.sync_mode == SyncMode.ENFORCE
    assert sw.reveal(cred) == s.inner.password
    [first] = sw.vault.credentials.history(sw.admin, None, cid)
    assert first.source == "directory"
    # Linked, confirmed and in step: the run binds nothing and pushes nothing.
    report = sw.run()
    assert sw.in_step(report, cid)


def test_the_settings_refuse_bad_input_naming_the_field(sw: SyncWorld) -> None:
    cases = {
        "title": {"title": "{displayName} {mail}"},
        "trigger": {"trigger": "sometimes"},
        "max_per_run": {"max_per_run": 0},
        "ous": {"ous": ["not a dn"]},
        "sync_mode": {"sync_mode": "off"},
        "tags": {"tags": ["bad tag!"]},
    }
    for name, given in cases.items():
        with pytest.raises(InvalidInput) as refused:
            sw.vault.auto_create.update(sw.admin, sw.directory, given)
        assert refused.value.field == name, name
    with pytest.raises(InvalidInput, match=r"unknown placeholder \{mail\}"):
        sw.vault.auto_create.update(sw.admin, sw.directory, cases["title"])


def test_kinds_that_cannot_select_by_scope_are_refused_clearly(
    ew: SyncWorld, lw: SyncWorld
) -> None:
    for world in (ew, lw):
        with pytest.raises(InvalidInput, match="not supported for this directory kind yet") as no:
            world.vault.auto_create.update(world.admin, world.directory, {"enabled": True})
        assert no.value.field == "enabled"
        # Off, its settings may still be kept (for when the kind learns it).
        world.vault.auto_create.update(world.admin, world.directory, {"max_per_run": 5})


def test_removing_the_directory_forgets_its_auto_create(sw: SyncWorld) -> None:
    sw.ad.create_user()
    settings(sw, trigger="first_seen")
    sw.run()
    assert created(sw)
    directory = sw.vault.directories.get(sw.admin, sw.directory)
    sw.vault.directories.remove(sw.admin, sw.directory)
    with sw.vault.db.read() as conn:
        assert auto_create_rows.of_directory(conn, directory.id) == []
        assert auto_create_rows.settings_of(conn, directory.id) is None


def test_auto_create_on_sqlite_and_postgresql(sw_both: SyncWorld) -> None:
    sw = sw_both
    seen = sw.ad.create_user()
    captured = sw.ad.create_user()
    settings(sw, trigger="first_seen", name_filter=seen.name)
    sw.run()
    assert set(created(sw)) == {seen.guid}
    sw.run(full=True)
    assert set(created(sw)) == {seen.guid}
    settings(sw, name_filter=None, trigger="capture")
    directory = sw.vault.directories.get(sw.admin, sw.directory)

    def capture() -> str | None:
        return asyncio.run(
            auto_create.create_for_capture(
                sw.vault, sw.keys, sw.admin, directory.id, captured.guid,
                Secret(captured.password), stamp=None,
            )
        )  # fmt: skip

    cid = capture()
    assert cid is not None
    assert capture() is None
    assert created(sw) == {seen.guid: created(sw)[seen.guid], captured.guid: cid}
    filled = auto_create.fill_shell(
        sw.vault, sw.keys, sw.admin, directory.id, seen.guid, Secret(seen.password),
        stamp=None, why="test",
    )  # fmt: skip
    assert filled == created(sw)[seen.guid]
    assert sw.reveal(sw.vault.credentials.get(sw.admin, filled)) == seen.password
    report = sw.run()
    assert sw.status_in(report, filled) == "in_sync"
    assert sw.status_in(report, cid) == "in_sync"


def test_incremental_runs_make_new_accounts_and_a_settings_change_rescans(sw: SyncWorld) -> None:
    old = sw.ad.create_user()
    assert sw.run().kind == "full"  # auto-create off: nothing made, the cursor stored
    assert sw.run().kind == "incremental"
    settings(sw, trigger="first_seen")  # other accounts in scope: the next run is a full pass
    report = sw.run()
    assert report.kind == "full"
    assert set(created(sw)) == {old.guid}
    assert sw.run().kind == "incremental"  # the shell made by the full pass: checked once
    new = sw.ad.create_user()
    report = sw.run()
    assert report.kind == "incremental"
    assert set(created(sw)) == {old.guid, new.guid}
    assert sw.items(report)[created(sw)[new.guid]] == ("password_unknown", "create")
    # The older shell changed on neither side: not re-checked, its link as it was.
    assert created(sw)[old.guid] not in sw.items(report)
    assert report.summary["unchanged"] == 1
    assert sw.links()[created(sw)[old.guid]] == "password_unknown"
