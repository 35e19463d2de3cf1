"""A full pass over an Entra tenant, read page by page into the account cache (the connector's
``streamed_reads``; :mod:`credsync.sync.streamed`): the cache ends as the tenant is, a dry run
and a pass a safety rail stops leave it as it was, and the run plans as a whole read would."""

from __future__ import annotations

import gc
import threading

import pytest
import sqlalchemy as sa

from credsync.errors import StorageError
from credsync.storage import accounts as account_rows
from credsync.storage.tables import directory_accounts
from credsync.sync import streamed

from .entra import EntraWorld, strong
from .helpers import update_directory


@pytest.fixture(autouse=True)
def _small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    """A few accounts a transaction, so that a small tenant's pass takes several."""
    monkeypatch.setattr(streamed, "BATCH", 3)


def _cached(ew: EntraWorld) -> dict[str, tuple[str, str | None]]:
    """The cache of the world's directory: account id -> (UPN, password stamp)."""
    directory = ew.vault.directories.get(ew.admin, ew.directory)
    table = directory_accounts
    with ew.vault.db.read() as conn:
        rows = conn.execute(
            sa.select(table.c.account_id, table.c.upn, table.c.password_stamp).where(
                table.c.directory_id == directory.id
            )
        )
        return {r.account_id: (r.upn, r.password_stamp) for r in rows}


def _tenant(ew: EntraWorld) -> set[str]:
    return {u["id"] for u in ew.tenant.store.users.live.values()}


def test_a_full_pass_leaves_the_cache_as_the_tenant_is(ew: EntraWorld) -> None:
    users = [ew.add_user() for _ in range(8)]
    creds = [ew.add(u) for u in users[:2]]
    first = ew.run(full=True)
    assert first.state == "done", first.message
    assert first.accounts_read == len(_tenant(ew))
    assert set(_cached(ew)) == _tenant(ew)
    # Two users leave, one changes its password, one arrives: the next full pass says so.
    ew.later()
    ew.tenant.hard_delete(users[5].id)
    ew.tenant.soft_delete(users[6].id)
    ew.tenant.set_password(users[0].id, strong())
    newcomer = ew.add_user()
    again = ew.run(full=True)
    assert again.kind == "full"
    assert again.accounts_read == len(_tenant(ew))
    cached = _cached(ew)
    assert set(cached) == _tenant(ew)
    assert newcomer.id in cached
    assert users[5].id not in cached
    assert users[6].id not in cached
    stamp = ew.tenant.store.users.live[users[0].id]["lastPasswordChangeDateTime"]
    assert cached[users[0].id][1] == stamp
    # The plan saw every linked account: one changed, one in step.
    assert ew.items(again)[creds[0].id] == ("changed_in_directory", "flag")
    assert ew.in_step(again, creds[1].id)
    # Incremental runs plan over that cache: a credential edited in the vault (its account
    # unchanged) is checked against its cached account; the other is left as it was.
    ew.vault.credentials.edit(ew.admin, ew.keys, creds[1].id, title="edited in the vault")
    quiet = ew.run()
    assert quiet.kind == "incremental"
    assert ew.in_step(quiet, creds[1].id)  # checked, in step as before: counted, not listed
    assert quiet.summary["unchanged"] == 1


def test_an_unlinked_credential_links_by_name_in_a_streamed_pass(ew: EntraWorld) -> None:
    users = [ew.add_user() for _ in range(7)]
    ew.run(full=True)
    late = ew.add(users[4], username=users[4].upn.upper())
    report = ew.run(full=True)
    assert ew.items(report)[late.id][0] == "in_sync"
    item = next(i for i in report.items if i.credential_id == late.id)
    assert item.account_id == users[4].id


def test_a_dry_run_full_pass_writes_no_account(ew: EntraWorld) -> None:
    users = [ew.add_user() for _ in range(5)]
    cred = ew.add(users[1])
    report = ew.run(full=True, dry_run=True)
    assert report.state == "done", report.message
    assert ew.items(report)[cred.id][0] == "in_sync"
    assert _cached(ew) == {}


def test_a_pass_the_safety_rail_stops_keeps_the_cached_accounts(ew: EntraWorld) -> None:
    users = [ew.add_user() for _ in range(12)]
    cred = ew.add(users[0])
    ew.run(full=True)
    before = set(_cached(ew))
    for user in users[2:]:
        ew.tenant.soft_delete(user.id)
    stopped = ew.run(full=True)
    assert stopped.state == "aborted"
    assert "far fewer" in stopped.message
    assert set(_cached(ew)) == before  # nothing dropped: the rail's doubt is the operator's
    # Accepted (the ratio lowered), the next pass drops them.
    update_directory(ew.vault, ew.admin, ew.directory, options={"min_account_ratio": 0})
    done = ew.run(full=True)
    assert done.state == "done", done.message
    assert set(_cached(ew)) == _tenant(ew)
    assert ew.in_step(done, cred.id)


def test_a_full_pass_writes_only_the_accounts_that_changed(ew: EntraWorld) -> None:
    users = [ew.add_user() for _ in range(6)]
    ew.run(full=True)
    directory = ew.vault.directories.get(ew.admin, ew.directory)
    table = directory_accounts
    with ew.vault.db.read() as conn:
        seen = dict(
            conn.execute(
                sa.select(table.c.account_id, table.c.seen_at).where(
                    table.c.directory_id == directory.id
                )
            ).all()
        )
    ew.later()
    ew.tenant.set_password(users[3].id, strong())
    ew.run(full=True)
    with ew.vault.db.read() as conn:
        after = dict(
            conn.execute(
                sa.select(table.c.account_id, table.c.seen_at).where(
                    table.c.directory_id == directory.id
                )
            ).all()
        )
        assert account_rows.count(conn, directory.id) == len(_tenant(ew))
    rewritten = {k for k, v in after.items() if seen.get(k) != v}
    assert rewritten <= {users[3].id}


def test_the_collector_is_as_it_was_after_a_pass_even_a_failed_one(ew: EntraWorld) -> None:
    """A streamed pass freezes the process's older objects out of the cyclic collector while
    its pages come (streamed's docstring), and lets them go when the read ends, however."""
    cred = ew.add(ew.add_user())
    before = gc.get_freeze_count()
    done = ew.run(full=True)
    assert done.state == "done", done.message
    assert gc.get_freeze_count() == before
    ew.tenant.inject_fault(method="GET", path_prefix="/v1.0/users", status=0, times=50)
    failed = ew.run(full=True)
    assert failed.state == "failed"
    assert ew.flags() == {cred.id: "unreachable"}
    assert gc.get_freeze_count() == before


def test_a_pass_leaves_a_heap_the_process_froze_itself_frozen(ew: EntraWorld) -> None:
    """A process that froze its own heap (a fork server's child) keeps it frozen."""
    ew.add(ew.add_user())
    gc.freeze()
    try:
        assert ew.run(full=True).state == "done"
        assert gc.get_freeze_count() > 0  # not let go (some frozen objects died meanwhile)
    finally:
        gc.unfreeze()


def test_only_a_full_read_freezes_the_heap(ew: EntraWorld, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """An incremental run (a delta read) leaves the collector alone: an agent makes hundreds
    a minute, and each freeze walks the whole heap (issue 20)."""
    ew.add(ew.add_user())
    freezes: list[int] = []
    real = gc.freeze
    monkeypatch.setattr(gc, "freeze", lambda: (freezes.append(1), real())[1])
    assert ew.run(full=True).state == "done"
    assert len(freezes) == 1
    ew.add_user()
    delta = ew.run()
    assert (delta.state, delta.kind) == ("done", "incremental")
    assert len(freezes) == 1


def test_a_batch_the_cache_refuses_is_the_pass_s_error(
    ew: EntraWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The batches are written in a worker thread while the read goes on (streamed's
    docstring), never in the event loop's; a write that fails is the run's error, as it was
    when written in the loop, and the collector is as it was; the next pass fills the cache."""
    for _ in range(8):
        ew.add_user()
    writers: list[str] = []
    real = account_rows.replace

    def replace(*args, **kw):  # type: ignore[no-untyped-def]
        writers.append(threading.current_thread().name)
        if len(writers) == 1:
            raise StorageError("the disk is full (a test)")
        return real(*args, **kw)

    monkeypatch.setattr(account_rows, "replace", replace)
    before = gc.get_freeze_count()
    with pytest.raises(StorageError, match="the disk is full"):
        ew.run(full=True)
    assert writers
    assert threading.main_thread().name not in writers  # the event loop's thread
    assert gc.get_freeze_count() == before
    monkeypatch.setattr(account_rows, "replace", real)
    again = ew.run(full=True)
    assert again.state == "done", again.message
    assert set(_cached(ew)) == _tenant(ew)
