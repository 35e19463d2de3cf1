"""The account cache: an incremental run reads only the cached accounts its credentials can
touch, and the plan over them is the plan over the whole cache."""

from __future__ import annotations

import datetime as dt
import uuid

import sqlalchemy as sa

from credsync.connectors.base import Account
from credsync.storage import Database
from credsync.storage import accounts as account_rows
from credsync.storage.tables import directory_accounts
from credsync.sync import store
from credsync.sync.model import CredentialState, LinkState
from credsync.sync.planner import plan
from credsync.types import CredentialType, Secret, SyncMode
from credsync.vault.drafts import make_draft
from vault.helpers import VaultWorld

from .helpers import add_directory

NOW = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)


def _directory(w: VaultWorld) -> str:
    client = f"Client {uuid.uuid4().hex[:8]}"
    w.vault.clients.add(w.admin, w.keys, client, directory_sync=True)
    bind = w.vault.credentials.add(
        w.admin,
        w.keys,
        client,
        make_draft(
            title="Domain admin",
            username="admin",
            password=Secret("Bind-password-1!"),
            type_=CredentialType.DIRECTORY_ADMIN,
            sync_mode=SyncMode.OFF,
        ),
    )
    return add_directory(
        w.vault,
        w.admin,
        client,
        "dc",
        kind="active-directory",
        url="ldaps://127.0.0.1:1",
        base_dn="DC=example,DC=test",
        bind_credential=bind.id,
    ).id


def _account(n: int, username: str, upn: str | None = None, domain: str | None = "EX") -> Account:
    return Account(id=f"guid-{n}", username=username, upn=upn, domain=domain, password_stamp="1")


ACCOUNTS = [
    _account(1, "bob", "bob@example.test"),
    _account(2, "Straße", "strasse@example.test"),  # casefold: "strasse"
    _account(3, "ÖLAF", None, None),
    _account(4, "twin", "twin@example.test"),
    _account(5, "twin2", "TWIN", None),  # a second account answering to "twin"
    _account(6, "carol", "carol@example.test"),
    _account(7, "dave", "dave@example.test"),  # linked below
    _account(8, "erin", None),  # linked below
    *(_account(100 + n, f"user{n}", f"user{n}@example.test") for n in range(300)),
]

CREDS = [
    CredentialState("c1", "t", "BOB", SyncMode.REPORT, 1),
    CredentialState("c2", "t", "EX\\strasse", SyncMode.REPORT, 1),
    CredentialState("c3", "t", "ölaf", SyncMode.REPORT, 1),
    CredentialState("c4", "t", " twin ", SyncMode.REPORT, 1),
    CredentialState("c5", "t", "OTHER\\carol", SyncMode.REPORT, 1),
    CredentialState("c6", "t", "nobody", SyncMode.REPORT, 1),
    CredentialState("c7", "t", "dave", SyncMode.ENFORCE, 1),
    CredentialState("c8", "t", "renamed-erin", SyncMode.REPORT, 1),
    CredentialState("c9", "t", "gone", SyncMode.REPORT, 1),
    CredentialState("c10", "t", "user7@EXAMPLE.test", SyncMode.REPORT, 1),
    CredentialState("c11", "t", "", SyncMode.REPORT, 1),
    CredentialState("c12", "t", "dave", SyncMode.REPORT, 1),  # dave is linked to c7: conflict
]

LINKS = {
    "c7": LinkState("guid-7", confirmed_stamp="1", confirmed_secret_version=1),
    "c8": LinkState("guid-8", confirmed_stamp="1", confirmed_secret_version=1),
    "c9": LinkState("guid-missing"),
}


def test_the_plan_over_the_loaded_accounts_is_the_plan_over_the_whole_cache(
    world: VaultWorld,
) -> None:
    directory_id = _directory(world)
    with world.db.write() as conn:
        account_rows.replace(conn, directory_id, ACCOUNTS, (), NOW, full=True)
    with world.db.read() as conn:
        loaded = store.load_accounts_for(conn, directory_id, CREDS, LINKS)
    everything = {a.id: a for a in ACCOUNTS}
    assert plan(CREDS, LINKS, loaded) == plan(CREDS, LINKS, everything)
    # Only what the credentials can touch was read: 9 of 308 accounts.
    assert set(loaded) == {f"guid-{n}" for n in (1, 2, 3, 4, 5, 6, 7, 8, 107)}
    assert loaded["guid-2"] == everything["guid-2"]


def test_a_cache_written_before_revision_0004_gets_its_name_keys(world: VaultWorld) -> None:
    """Rows without keys (as revision 0003 left them) are keyed by the migration."""
    from alembic import command

    from credsync.storage.migrate import alembic_config

    directory_id = _directory(world)
    with world.db.write() as conn:
        account_rows.replace(conn, directory_id, ACCOUNTS[:3], (), NOW, full=True)
    db: Database = world.db
    with db.engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0003")
        assert "username_key" not in {
            c["name"] for c in sa.inspect(conn).get_columns("directory_accounts")
        }
    db.upgrade()
    with db.read() as conn:
        keys = {
            r.account_id: (r.username_key, r.upn_key)
            for r in conn.execute(sa.select(directory_accounts))
        }
        loaded = store.load_accounts_for(
            conn, directory_id, [CredentialState("c", "t", "EX\\STRASSE", SyncMode.REPORT, 1)], {}
        )
    assert keys == {
        "guid-1": ("bob", "bob@example.test"),
        "guid-2": ("strasse", "strasse@example.test"),
        "guid-3": ("ölaf", None),
    }
    assert set(loaded) == {"guid-2"}


def test_keep_only_drops_the_accounts_a_full_read_did_not_see(world: VaultWorld) -> None:
    directory_id = _directory(world)
    with world.db.write() as conn:
        account_rows.replace(conn, directory_id, ACCOUNTS[:8], (), NOW, full=True)
        dropped = account_rows.keep_only(conn, directory_id, {"guid-1", "guid-4", "guid-9"})
    with world.db.read() as conn:
        left = {r.account_id for r in account_rows.load(conn, directory_id, ["guid-1"], ())}
        assert account_rows.count(conn, directory_id) == 2
    assert dropped == 6
    assert left == {"guid-1"}


def test_authors_of_some_accounts_only(world: VaultWorld) -> None:
    directory_id = _directory(world)
    named = [
        Account(id=f"guid-a{n}", username=f"a{n}", password_stamp=f"s{n}",
                password_changed_by=f"reset by admin{n}")
        for n in range(3)
    ]  # fmt: skip
    with world.db.write() as conn:
        account_rows.replace(conn, directory_id, named, (), NOW, full=True)
    with world.db.read() as conn:
        assert set(account_rows.authors(conn, directory_id)) == {a.id for a in named}
        assert account_rows.authors(conn, directory_id, ["guid-a1", "guid-x"]) == {
            "guid-a1": ("s1", "reset by admin1")
        }
        # A cached author stays with the same stamp only; a new stamp has none yet.
        same = Account(id="guid-a0", username="a0", password_stamp="s0")
        newer = Account(id="guid-a2", username="a2", password_stamp="s9")
        kept = store.keep_authors(conn, directory_id, [same, newer])
    assert [a.password_changed_by for a in kept] == ["reset by admin0", None]
    # Stored as a streamed pass stores a page: only the changed account is written again.
    later = NOW + dt.timedelta(hours=1)
    with world.db.write() as conn:
        account_rows.replace(conn, directory_id, kept, (), later, full=False)
    seen = _seen(world, directory_id)
    changed = [i for i, at in seen.items() if at.replace(tzinfo=dt.UTC) == later]
    assert changed == ["guid-a2"]


def _seen(world: VaultWorld, directory_id: str) -> dict[str, dt.datetime]:
    with world.db.read() as conn:
        rows = conn.execute(
            sa.select(directory_accounts.c.account_id, directory_accounts.c.seen_at).where(
                directory_accounts.c.directory_id == directory_id
            )
        )
        return {r.account_id: r.seen_at for r in rows}


def test_a_full_read_rewrites_only_the_accounts_that_changed(world: VaultWorld) -> None:
    """A periodic full pass over unchanged accounts writes no cache row: the rows of the
    unchanged ones keep the time they were written; a changed one is written again, a new one
    added, one the directory no longer has dropped."""
    directory_id = _directory(world)
    first = ACCOUNTS[:6]
    with world.db.write() as conn:
        account_rows.replace(conn, directory_id, first, (), NOW, full=True)
    later = NOW + dt.timedelta(hours=1)
    changed = Account(id="guid-2", username="Straße", upn="strasse@example.test", domain="EX",
                      password_stamp="2")  # fmt: skip
    again = [first[0], changed, *first[2:5], ACCOUNTS[6]]  # guid-6 gone, guid-7 new
    with world.db.write() as conn:
        account_rows.replace(conn, directory_id, again, (), later, full=True)
    seen = _seen(world, directory_id)
    assert set(seen) == {"guid-1", "guid-2", "guid-3", "guid-4", "guid-5", "guid-7"}
    written_later = {i for i, at in seen.items() if at.replace(tzinfo=dt.UTC) == later}
    assert written_later == {"guid-2", "guid-7"}
    with world.db.read() as conn:
        rows = account_rows.load(conn, directory_id, ["guid-2", "guid-7"], [])
    loaded = {r.account_id: store.account_from_row(r) for r in rows}
    assert loaded == {"guid-2": changed, "guid-7": ACCOUNTS[6]}


def test_an_incremental_read_rewrites_only_changed_accounts_and_drops_the_removed(
    world: VaultWorld,
) -> None:
    directory_id = _directory(world)
    with world.db.write() as conn:
        account_rows.replace(conn, directory_id, ACCOUNTS[:4], (), NOW, full=True)
    later = NOW + dt.timedelta(hours=1)
    same = ACCOUNTS[0]  # DirSync names it (another attribute changed), its facts did not
    moved = Account(id="guid-3", username="ÖLAF", dn="CN=olaf,OU=elsewhere", password_stamp="1")
    with world.db.write() as conn:
        account_rows.replace(conn, directory_id, [same, moved], ["guid-4"], later, full=False)
    seen = _seen(world, directory_id)
    assert set(seen) == {"guid-1", "guid-2", "guid-3"}
    assert {i for i, at in seen.items() if at.replace(tzinfo=dt.UTC) == later} == {"guid-3"}


def test_a_upn_that_is_the_username_is_keyed_once_and_found_by_name(world: VaultWorld) -> None:
    """Revision 0043: an Entra user's username is its UPN; its ``upn_key`` is left empty
    (the partial UPN index holds nothing for it) and the name lookup finds it by its
    ``username_key``; an account whose UPN is another name keeps both keys."""
    directory_id = _directory(world)
    cloud = Account(id="guid-c", username="Ana@Contoso.test", upn="Ana@Contoso.test",
                    password_stamp="2026-12-01T08:00:00Z")  # fmt: skip
    with world.db.write() as conn:
        account_rows.replace(conn, directory_id, [cloud, ACCOUNTS[0]], (), NOW, full=True)
    with world.db.read() as conn:
        keys = {
            r.account_id: (r.username_key, r.upn_key)
            for r in conn.execute(sa.select(directory_accounts))
        }
        by_upn = account_rows.load(conn, directory_id, [], ["ana@contoso.test", "bob@example.test"])
    assert keys == {"guid-c": ("ana@contoso.test", None), "guid-1": ("bob", "bob@example.test")}
    loaded = {r.account_id: store.account_from_row(r) for r in by_upn}
    assert loaded == {"guid-c": cloud, "guid-1": ACCOUNTS[0]}


def test_an_incremental_write_adds_new_accounts_and_rewrites_changed_ones_whole(
    world: VaultWorld,
) -> None:
    """The few accounts of a push or a delta go through one upsert: a new account is added,
    a changed one comes back with every fact it was given (a NULL made a value and back, the
    one datetime), an unchanged one keeps its row."""
    directory_id = _directory(world)
    pushed = Account(id="guid-p", username="pat", upn=None, domain="EX", password_stamp="1")
    with world.db.write() as conn:
        account_rows.replace(conn, directory_id, [pushed, ACCOUNTS[0]], (), NOW, full=True)
    later = NOW + dt.timedelta(hours=1)
    after = Account(id="guid-p", username="pat", upn="pat@example.test", domain=None,
                    dn="CN=pat,OU=x", password_stamp="2", password_changed_at=later,
                    locked_out=True)  # fmt: skip
    with world.db.write() as conn:
        account_rows.replace(conn, directory_id, [after, ACCOUNTS[0], ACCOUNTS[1]], (), later,
                             full=False)  # fmt: skip
    seen = _seen(world, directory_id)
    assert {i for i, at in seen.items() if at.replace(tzinfo=dt.UTC) == later} == {
        "guid-p",
        "guid-2",
    }
    with world.db.read() as conn:
        rows = account_rows.load(conn, directory_id, ["guid-p", "guid-1", "guid-2"], ["pat"])
    loaded = {r.account_id: store.account_from_row(r) for r in rows}
    assert loaded == {"guid-p": after, "guid-1": ACCOUNTS[0], "guid-2": ACCOUNTS[1]}
