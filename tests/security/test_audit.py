"""The audit log: every operation leaves exactly one entry, the database refuses UPDATE and
DELETE, and an attacker who gets past the database's refusal is caught by ``verify`` (and by
``credsync audit verify``, exit 6)."""

from __future__ import annotations

import datetime as dt
import io
import itertools
import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from credsync.crypto.hashing import chain_hash
from credsync.errors import AuthenticationFailed
from credsync.storage.tables import audit_log, vault_meta
from credsync.types import Secret
from credsync.vault import KeyRing
from credsync.vault.audit import GENESIS_HASH, _canonical
from credsync.vault.drafts import make_draft
from credsync.vault.generator import PasswordPolicy

from ._cli import Cli
from ._safe import check_absent
from ._top import FAST_KDF, VaultWorld, fast_kdf

# -- every operation is audited once; the chain holds -----------------------------------------


def test_chain_verifies_after_many_mixed_operations(world: VaultWorld) -> None:
    v, admin, keys = world.vault, world.admin, world.keys
    start = v.audit.verify(admin)
    assert start.ok
    state: dict[str, Any] = {}

    def add_cred(title: str) -> None:
        draft = make_draft(title=title, password=Secret(f"audit-{title}-pw"), username="u")
        state[title] = v.credentials.add(admin, keys, "Contoso", draft).id

    def failed_login() -> None:
        with pytest.raises(AuthenticationFailed):
            v.access.login_password("alice", Secret("not alice's password"))

    def session() -> None:
        state["session"] = v.access.create_session(admin, keys.kek(), dt.timedelta(minutes=5))

    def token() -> None:
        state["token"] = v.access.create_token(admin, "script")[0]

    def operator() -> None:
        v.operators.add(admin, "olga", Secret("olga-password-1234"), "viewer")

    csv = b"title,username,password,notes\nImported one,u1,imp-pw-1,n1\nImported two,u2,imp-pw-2,\n"
    steps: list[tuple[str, Callable[[], object]]] = [
        ("client.add", lambda: v.clients.add(admin, keys, "Contoso")),
        ("client.add", lambda: v.clients.add(admin, keys, "Fabrikam")),
        ("client.rename", lambda: v.clients.rename(admin, "Fabrikam", "Fabrikam Ltd")),
        ("client.configure", lambda: v.clients.configure(admin, "Contoso", directory_sync=True)),
        ("client.archive", lambda: v.clients.set_archived(admin, "Fabrikam Ltd", True)),
        ("client.unarchive", lambda: v.clients.set_archived(admin, "Fabrikam Ltd", False)),
        ("folder.add", lambda: v.clients.add_folder(admin, "Contoso", "Servers/DCs")),
        ("folder.delete", lambda: v.clients.delete_folder(admin, "Contoso", "Servers/DCs")),
        ("credential.add", lambda: add_cred("one")),
        ("credential.add", lambda: add_cred("two")),
        (
            "credential.password_set",
            lambda: v.credentials.set_password(admin, keys, state["one"], Secret("audit-v2")),
        ),
        ("credential.reveal", lambda: v.credentials.reveal(admin, keys, state["one"])),
        (
            "credential.history_reveal",
            lambda: v.credentials.history(admin, keys, state["one"], reveal=True),
        ),
        ("credential.edit", lambda: v.credentials.edit(admin, keys, state["one"], notes="n")),
        ("credential.sync_mode", lambda: v.credentials.set_sync_mode(admin, state["one"], None)),
        ("credential.delete", lambda: v.credentials.delete(admin, state["two"])),
        ("credential.restore", lambda: v.credentials.restore(admin, state["two"])),
        ("credential.delete", lambda: v.credentials.delete(admin, state["two"])),
        ("credential.purge", lambda: v.credentials.purge(admin, state["two"])),
        (
            "import",
            lambda: v.csv.import_csv(admin, keys, "Contoso", io.BytesIO(csv), source_name="a.csv"),
        ),
        ("export", lambda: v.csv.export_csv(admin, keys, "Contoso", io.StringIO())),
        ("auth.failed", failed_login),
        ("operator.add", operator),
        ("operator.role", lambda: v.operators.set_role(admin, "olga", "auditor")),
        ("operator.disable", lambda: v.operators.set_disabled(admin, "olga", True)),
        ("operator.enable", lambda: v.operators.set_disabled(admin, "olga", False)),
        (
            "operator.password",
            lambda: v.operators.set_password(admin, "olga", Secret("olga-new-password-99")),
        ),
        ("role.add", lambda: v.operators.add_role(admin, "readers", ["vault.read"])),
        ("role.delete", lambda: v.operators.delete_role(admin, "readers")),
        ("policy.add", lambda: v.policies.add(admin, "long", PasswordPolicy(length=32))),
        ("policy.delete", lambda: v.policies.delete(admin, "long")),
        ("token.create", token),
        ("token.revoke", lambda: v.access.revoke_token(admin, state["token"].id)),
        ("session.create", session),
        ("session.end", lambda: v.access.end_session(admin, state["session"].token)),
        (
            "key.rotate",
            lambda: v.rotate_key(admin, keys, Secret("rotated master passphrase"), kdf=fast_kdf()),
        ),
    ]
    for action, step in steps:
        before = v.audit.verify(admin).head_seq
        step()
        report = v.audit.verify(admin)
        assert report.ok, (action, report.problem)
        assert report.head_seq == before + 1, f"{action} wrote {report.head_seq - before} entries"

    end = v.audit.verify(admin)
    assert end.ok
    assert end.entries == end.head_seq == start.entries + len(steps)
    entries = v.audit.list(admin, limit=len(steps))
    assert [e.action for e in reversed(entries)] == [action for action, _ in steps]
    assert [e.seq for e in reversed(entries)] == list(range(start.head_seq + 1, end.head_seq + 1))
    # the head anchors the chain: it is the hash of the newest entry
    assert entries[0].hash == end.head_hash
    with world.db.engine.connect() as conn:
        rows = conn.execute(sa.select(audit_log).order_by(audit_log.c.seq)).all()
    assert rows[0].prev_hash == GENESIS_HASH
    for previous, row in itertools.pairwise(rows):
        assert row.prev_hash == previous.hash
    # no secret reached the log
    text = json.dumps([list(map(str, r)) for r in rows], ensure_ascii=False)
    secrets = [
        "audit-one-pw", "audit-v2", "imp-pw-1", "olga-password-1234", "olga-new-password-99",
        "not alice's password", "rotated master passphrase",
    ]  # fmt: skip
    check_absent({f"secret {i}": s for i, s in enumerate(secrets)}, text, "the audit log")
    # with the new passphrase the vault still opens
    KeyRing.of(v.unlock(Secret("rotated master passphrase")))


# -- the database refuses to change or remove entries ------------------------------------------


def _statements(world: VaultWorld) -> list[str]:
    statements = [
        "UPDATE audit_log SET details = '{}' WHERE seq = 1",
        "UPDATE audit_log SET actor = 'mallory'",
        "DELETE FROM audit_log WHERE seq = 1",
        "DELETE FROM audit_log",
    ]
    if not world.db.is_sqlite:
        statements.append("TRUNCATE audit_log")
    return statements


def _rows(world: VaultWorld) -> list[Any]:
    with world.db.engine.connect() as conn:
        return list(conn.execute(sa.select(audit_log).order_by(audit_log.c.seq)).all())


def test_database_refuses_update_and_delete(world: VaultWorld) -> None:
    world.vault.clients.add(world.admin, world.keys, "Contoso")
    before = _rows(world)
    assert len(before) >= 3
    for statement in _statements(world):
        with (
            pytest.raises(sa.exc.DBAPIError, match="audit_log is append-only"),
            world.db.engine.begin() as conn,
        ):
            conn.execute(sa.text(statement))
    assert _rows(world) == before
    assert world.vault.audit.verify(world.admin).ok


# -- an attacker who gets past the triggers -----------------------------------------------------


def _bypass_triggers(world: VaultWorld) -> None:
    with world.db.engine.begin() as conn:
        if world.db.is_sqlite:
            conn.execute(sa.text("DROP TRIGGER audit_log_no_update"))
            conn.execute(sa.text("DROP TRIGGER audit_log_no_delete"))
        else:  # the world's database user is a superuser
            conn.execute(sa.text("ALTER TABLE audit_log DISABLE TRIGGER ALL"))


def _execute(world: VaultWorld, statement: Any) -> None:
    with world.db.engine.begin() as conn:
        conn.execute(statement)


def _restore(world: VaultWorld, rows: list[Any]) -> None:
    """Put the original entries back (the attacker's view of "undo")."""
    with world.db.engine.begin() as conn:
        conn.execute(audit_log.delete())
        conn.execute(audit_log.insert(), [dict(r._mapping) for r in rows])
    assert world.vault.audit.verify(world.admin).ok


def _forged(prev: Any, seq: int, base: Any = None, **overrides: Any) -> dict[str, Any]:
    """An entry as an attacker who read the source would write it: chained onto ``prev`` with
    a correct hash (unless ``hash`` is overridden), copied from ``base`` when given."""
    if base is not None:
        values = {k: v for k, v in base._mapping.items() if k not in ("hash", "prev_hash")}
    else:
        values = {
            "seq": seq,
            "at": dt.datetime.now(dt.UTC).replace(microsecond=0),
            "actor": "alice",
            "action": "credential.reveal",
            "target_type": "credential",
            "target_id": "forged",
            "client_id": None,
            "details": "{}",
        }
    values["prev_hash"] = prev.hash
    values.update(overrides)
    payload = _canonical(
        seq,
        values["at"],
        values["actor"],
        values["action"],
        values["target_type"],
        values["target_id"],
        values["client_id"],
        values["details"],
    )
    values.setdefault("hash", chain_hash(values["prev_hash"], payload))
    return values


def _check_broken(world: VaultWorld, bad_seq: int, *phrases: str) -> None:
    report = world.vault.audit.verify(world.admin)
    assert not report.ok
    assert report.bad_seq == bad_seq, report.problem
    assert report.problem is not None
    assert report.problem.startswith(f"entry {bad_seq}:")
    for phrase in phrases:
        assert phrase in report.problem


def test_tampering_past_the_triggers_is_detected(world: VaultWorld) -> None:
    world.vault.clients.add(world.admin, world.keys, "Contoso")
    for n in range(6):
        draft = make_draft(title=f"t{n}", password=Secret(f"tamper-pw-{n}"))
        world.vault.credentials.add(world.admin, world.keys, "Contoso", draft)
    rows = _rows(world)
    last = len(rows)
    assert last >= 8
    middle = last // 2
    _bypass_triggers(world)
    where = audit_log.c.seq == middle

    # an edited entry no longer matches its own hash
    for column, value in {
        "details": '{"title":"innocent"}',
        "actor": "mallory",
        "action": "client.add",
        "target_id": "elsewhere",
        "at": rows[middle - 1].at - dt.timedelta(days=1),
    }.items():
        _execute(world, audit_log.update().where(where).values({column: value}))
        _check_broken(world, middle, "does not match its hash")
        _restore(world, rows)

    # an edited entry with a recomputed hash breaks the link from the next one
    edited = _forged(rows[middle - 2], middle, rows[middle - 1], details='{"title":"innocent"}')
    _execute(
        world,
        audit_log.update().where(where).values(details=edited["details"], hash=edited["hash"]),
    )
    _check_broken(world, middle + 1, "link to the previous entry is broken")
    _restore(world, rows)

    # a deleted middle entry leaves a gap
    _execute(world, audit_log.delete().where(where))
    _check_broken(world, middle + 1, f"entry {middle} is missing")
    _restore(world, rows)

    # the first entry deleted
    _execute(world, audit_log.delete().where(audit_log.c.seq == 1))
    _check_broken(world, 2, "entry 1 is missing")
    _restore(world, rows)

    # truncation: the newest entry, or the newest three, removed
    _execute(world, audit_log.delete().where(audit_log.c.seq == last))
    _check_broken(world, last, f"the log ends at entry {last - 1}")
    _restore(world, rows)
    _execute(world, audit_log.delete().where(audit_log.c.seq > last - 3))
    _check_broken(world, last - 2, f"the log ends at entry {last - 3}")
    _restore(world, rows)

    # a forged entry appended with a correct chain hash, but the head not moved
    _execute(world, audit_log.insert().values(_forged(rows[-1], last + 1)))
    _check_broken(world, last + 1, f"records entry {last}")
    _restore(world, rows)

    # a forged entry appended with a made-up hash
    _execute(world, audit_log.insert().values(_forged(rows[-1], last + 1, hash="f" * 64)))
    _check_broken(world, last + 1, "does not match its hash")
    _restore(world, rows)

    # a forged entry that claims to follow the genesis
    _execute(world, audit_log.insert().values(_forged(rows[-1], last + 1, prev_hash=GENESIS_HASH)))
    _check_broken(world, last + 1, "link to the previous entry is broken")
    _restore(world, rows)

    # the newest entry replaced by a consistent forgery: it no longer matches the head
    _execute(world, audit_log.delete().where(audit_log.c.seq == last))
    _execute(world, audit_log.insert().values(_forged(rows[-2], last)))
    _check_broken(world, last, "is not the vault head")
    _restore(world, rows)


def test_a_rewrite_that_also_moves_the_head_needs_an_anchored_head(world: VaultWorld) -> None:
    """The documented limit: whoever rewrites the whole tail *and* the head makes a chain that
    verifies, but every rewritten entry gets a new hash, so a head kept elsewhere exposes it."""
    world.vault.clients.add(world.admin, world.keys, "Contoso")
    anchored = world.vault.audit.verify(world.admin)
    rows = _rows(world)
    _bypass_triggers(world)
    forged = _forged(rows[-2], len(rows), details='{"rewritten":true}')
    _execute(world, audit_log.delete().where(audit_log.c.seq == len(rows)))
    _execute(world, audit_log.insert().values(forged))
    _execute(world, vault_meta.update().values(audit_head_hash=forged["hash"]))
    report = world.vault.audit.verify(world.admin)
    assert report.ok
    assert report.head_seq == anchored.head_seq
    assert report.head_hash != anchored.head_hash


# -- credsync audit verify ------------------------------------------------------------------------


def test_cli_audit_verify_exits_0_when_intact_and_6_when_broken(tmp_path: Path) -> None:
    home = tmp_path / "home"
    admin_password = "cli-audit-admin-pw-1"
    cli = Cli(
        home,
        env={
            "CREDSYNC_PASSPHRASE": "cli audit master passphrase",
            "CREDSYNC_ADMIN_PASSWORD": admin_password,
            "CREDSYNC_OPERATOR": "alice",
            "CREDSYNC_OPERATOR_PASSWORD": admin_password,
        },
    )
    cli.run(
        "init",
        "--admin",
        "alice",
        "--kdf-memory-kib",
        str(FAST_KDF["memory_kib"]),
        "--kdf-time-cost",
        str(FAST_KDF["time_cost"]),
        "--kdf-parallelism",
        str(FAST_KDF["parallelism"]),
    )
    cli.run("client", "add", "Contoso")
    cli.run("client", "add", "Fabrikam")

    intact = cli.run("audit", "verify")
    assert intact.stdout.startswith("Audit log intact:")
    report = json.loads(cli.run("audit", "verify", "--json").stdout)
    assert report["ok"] is True
    assert report["bad_seq"] is None
    assert report["entries"] == report["head_seq"] >= 4
    assert report["head_hash"] in intact.stdout

    # the database refuses the edit ...
    db = sqlite3.connect(home / "vault.db")
    try:
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            db.execute("UPDATE audit_log SET details = '{}' WHERE seq = 2")
        # ... until the attacker drops the trigger
        db.execute("DROP TRIGGER audit_log_no_update")
        db.execute("UPDATE audit_log SET actor = 'mallory' WHERE seq = 2")
        db.commit()
    finally:
        db.close()

    broken = cli.run("audit", "verify", expect=6)
    assert broken.stdout.startswith("AUDIT LOG BROKEN at entry 2:")
    report = json.loads(cli.run("audit", "verify", "--json", expect=6).stdout)
    assert report["ok"] is False
    assert report["bad_seq"] == 2
    assert "does not match its hash" in report["problem"]
