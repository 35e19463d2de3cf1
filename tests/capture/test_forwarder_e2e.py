"""End to end on the real parts: a password changed in the real Samba DC, captured by Samba
(encrypted to the vault's capture key), spooled by the forwarder's hook, sent by the real
``credsync capture samba`` process to the real app over HTTP, and held by the vault.

Every wait polls the vault (no timing is asserted)."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from credsync.agent.capture.journal import Record, parse
from credsync.agent.capture.ldif import events_from_ldif
from credsync.agent.capture.spool import Spool
from credsync.storage.tables import capture_ledger
from credsync.testing.samba import TestUser
from credsync.types import SyncMode

from .conftest import SRC, CaptureEnv, wait_for


def _linked(env: CaptureEnv, mode: SyncMode = SyncMode.TWO_WAY) -> tuple[TestUser, Any]:
    user = env.sw.ad.create_user()
    cred = env.sw.add(user, mode=mode)
    assert env.sw.run().state == "done"
    return user, cred


def _ledger(env: CaptureEnv, guid: str) -> list[tuple[int | None, str, str]]:
    """What the vault recorded of this account's captures: (pwd_last_set, kind, outcome)."""
    with env.vault_world.vault.db.read() as conn:
        rows = conn.execute(
            sa.select(capture_ledger.c.pwd_last_set, capture_ledger.c.kind,
                      capture_ledger.c.outcome)
            .where(capture_ledger.c.object_guid == guid)
            .order_by(capture_ledger.c.id)
        ).all()  # fmt: skip
    return [tuple(r) for r in rows]


def _details(env: CaptureEnv, guid: str, stamp: int) -> list[str]:
    with env.vault_world.vault.db.read() as conn:
        return list(
            conn.scalars(
                sa.select(capture_ledger.c.detail).where(
                    capture_ledger.c.object_guid == guid, capture_ledger.c.pwd_last_set == stamp
                )
            )
        )


def _versions(env: CaptureEnv, cred: Any) -> list[tuple[int, str]]:
    history = env.sw.vault.credentials.history(env.sw.admin, None, cred.id)
    return sorted((h.version, h.source) for h in history)


def _holds(env: CaptureEnv, cred: Any, password: str) -> bool:
    return env.sw.reveal(cred) == password


def _stamp(env: CaptureEnv, user: TestUser) -> int:
    return int(env.sw.ad.admin.account_state(user.dn)["pwdLastSet"])


def _spooled_for(spool: Spool, guid: str) -> list[tuple[Record, int]]:
    found = []
    for record in spool.records():
        for event in events_from_ldif(record.data, captured_at=dt.datetime.now(dt.UTC), dc=None):
            if event["object_guid"] == guid and event["kind"] == "password":
                found.append((record, int(event["pwd_last_set"])))
    return found


def test_an_admin_reset_and_a_users_own_change_reach_the_vault(capture_env: CaptureEnv) -> None:
    env = capture_env
    user, cred = _linked(env)
    forwarder = env.forwarder().start()
    try:
        env.sw.ad.admin.reset_password(user.dn, "Helpdesk-Reset-1!")
        wait_for(lambda: _holds(env, cred, "Helpdesk-Reset-1!"), "the admin reset")
        env.sw.ad.admin.change_password_as_user(user.dn, "Helpdesk-Reset-1!", "Own-Chänge-2!")
        wait_for(lambda: _holds(env, cred, "Own-Chänge-2!"), "the user's own change")
    finally:
        assert forwarder.stop() == 0
    newest = max(env.sw.vault.credentials.history(env.sw.admin, None, cred.id),
                 key=lambda v: v.version)  # fmt: skip
    assert newest.source == "directory"
    assert newest.created_by == "forwarder dc1"
    assert ("password", "accepted") in [(k, o) for _, k, o in _ledger(env, user.guid)]


def test_the_server_down_for_a_while_loses_nothing(capture_env: CaptureEnv) -> None:
    env = capture_env
    linked = [_linked(env) for _ in range(3)]
    forwarder = env.forwarder().start()
    spool = Spool(env.state_dir)
    try:
        env.server.stop()
        for n, (user, _) in enumerate(linked):
            env.sw.ad.admin.reset_password(user.dn, f"While-Down-{n}-X!")
        for user, _ in linked:
            wait_for(lambda u=user: _spooled_for(spool, u.guid), "the changes in the spool")
        env.server.start()
        for n, (_, cred) in enumerate(linked):
            wait_for(lambda c=cred, n=n: _holds(env, c, f"While-Down-{n}-X!"), "delivery")
    finally:
        env.server.ensure_started()
        assert forwarder.stop() == 0
    for _, cred in linked:
        assert _versions(env, cred)[-1][1] == "directory"


def test_a_forwarder_killed_before_the_ack_delivers_the_change_once(
    capture_env: CaptureEnv,
) -> None:
    env = capture_env
    user, cred = _linked(env)
    before = len(_versions(env, cred))
    spool = Spool(env.state_dir)
    forwarder = env.forwarder().start()
    try:
        env.server.stop()
        env.sw.ad.admin.reset_password(user.dn, "Killed-Before-Ack-5!")
        wait_for(lambda: _spooled_for(spool, user.guid), "the change in the spool")
        forwarder.kill()  # SIGKILL: no goodbye, nothing acknowledged
    finally:
        env.server.ensure_started()
    forwarder = env.forwarder().start()
    try:
        wait_for(lambda: _holds(env, cred, "Killed-Before-Ack-5!"), "delivery after restart")
    finally:
        assert forwarder.stop() == 0
    assert len(_versions(env, cred)) == before + 1
    stamp = _stamp(env, user)
    assert [o for p, k, o in _ledger(env, user.guid) if p == stamp] == ["accepted"]


def test_out_of_order_captures_keep_the_newest(capture_env: CaptureEnv) -> None:
    env = capture_env
    user, cred = _linked(env)
    spool = Spool(env.state_dir)
    forwarder = env.forwarder().start()
    try:
        env.server.stop()
        # Samba sends an object's current state, not each change: one change at a time.
        env.sw.ad.admin.reset_password(user.dn, "Older-Change-6!")
        older = _stamp(env, user)
        wait_for(lambda: older in {p for _, p in _spooled_for(spool, user.guid)}, "the first")
        env.sw.ad.admin.reset_password(user.dn, "Newer-Change-7!")
        newer = _stamp(env, user)
        wait_for(lambda: newer in {p for _, p in _spooled_for(spool, user.guid)}, "the second")
        assert forwarder.stop() == 0  # the spool as it left it: sealed files and a journal
        # Deliver them the wrong way round (as two DCs might): the newer one first.
        records = {p: record for record, p in _spooled_for(spool, user.guid)}
        others = [r for r in spool.records() if r not in (records[older], records[newer])]
        swapped = [*others, records[newer], records[older]]
        for name in os.listdir(spool.spool_dir):
            os.unlink(spool.spool_dir / name)
        sealed = spool.spool_dir / "sealed-00000000000000000001"
        sealed.write_bytes(b"".join(r.framed() for r in swapped))
        forwarder = env.forwarder().start()
        env.server.start()
        wait_for(
            lambda: {older, newer} <= {p for p, k, _ in _ledger(env, user.guid) if k == "password"},
            "both captures at the vault",
        )
    finally:
        env.server.ensure_started()
        assert forwarder.stop() == 0
    assert env.sw.reveal(cred) == "Newer-Change-7!"
    outcomes = {p: o for p, k, o in _ledger(env, user.guid) if k == "password"}
    assert outcomes[newer] == "accepted"
    assert outcomes[older] == "stale"


def test_the_vaults_own_push_coming_back_is_no_new_version(capture_env: CaptureEnv) -> None:
    env = capture_env
    user, cred = _linked(env)
    forwarder = env.forwarder().start()
    try:
        env.sw.set_password(cred, "Pushed-By-Vault-8!")
        versions = _versions(env, cred)
        # The vault's new secret set in AD, as its push does (the push itself is the modes'
        # tests' business): Samba captures it like any change and the forwarder sends it.
        env.sw.ad.admin.reset_password(user.dn, "Pushed-By-Vault-8!")
        stamp = _stamp(env, user)
        wait_for(lambda: [o for p, _, o in _ledger(env, user.guid) if p == stamp], "the echo")
    finally:
        assert forwarder.stop() == 0
    assert _versions(env, cred) == versions  # only confirmed: no new version
    assert [o for p, _, o in _ledger(env, user.guid) if p == stamp] == ["accepted"]
    assert "confirm" in _details(env, user.guid, stamp)[0]


def test_a_forwarder_that_lost_its_state_resumes_and_samba_redelivering_is_a_no_op(
    capture_env: CaptureEnv, tmp_path: Path
) -> None:
    """A new state dir for the same forwarder: its seq starts again at 1 (the server answers
    capture_sequence with last_seq and it goes on from there), and syncpasswords' first pass
    delivers every account again, with the passwords the vault already has: duplicates."""
    env = capture_env
    user, cred = _linked(env)
    forwarder = env.forwarder().start()
    try:
        env.sw.ad.admin.reset_password(user.dn, "Before-State-Loss-9!")
        wait_for(lambda: _holds(env, cred, "Before-State-Loss-9!"), "the change")
    finally:
        assert forwarder.stop() == 0
    versions = _versions(env, cred)
    stamp = _stamp(env, user)
    fresh = env.forwarder(tmp_path / "new-state")
    assert fresh.run_once() == 0, env.logs.joinpath("forwarder.log").read_text()[-2000:]
    assert Spool(tmp_path / "new-state").last_seq() > 1
    assert _versions(env, cred) == versions
    assert [o for p, _, o in _ledger(env, user.guid) if p == stamp] == ["accepted"]
    assert "going on from" in env.logs.joinpath("forwarder.log").read_text()


def test_samba_setup_installs_the_key_from_the_server_and_checks_the_dc(
    capture_env: CaptureEnv, tmp_path: Path
) -> None:
    env = capture_env
    conf = tmp_path / "smb.conf"
    conf.write_text(env.facts.smb_conf.read_text().replace("password hash gpg key ids", "# was"))
    home = tmp_path / "gnupg"
    token_file = tmp_path / "token"
    token_file.write_text(env.token + "\n")
    token_file.chmod(0o600)
    user = env.sw.ad.create_user()  # a password set while Samba runs with the key

    def setup(*extra: str) -> dict[str, Any]:
        done = subprocess.run(
            [sys.executable, "-m", "credsync", "capture", "samba-setup", "--json",
             "--server", env.server.url, "--smb-conf", str(conf), "--gnupg-home", str(home),
             "--token-file", str(token_file), *extra],
            env={**os.environ, "PYTHONPATH": str(SRC)},
            capture_output=True,
            check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr.decode()[-2000:]
        assert env.token not in (done.stdout + done.stderr).decode()
        result: dict[str, Any] = json.loads(done.stdout)
        return result

    first = setup()
    assert first["fingerprint"] == env.fingerprint.upper()
    assert first["key_imported"] is True
    assert first["smb_conf_changed"] is True
    assert f"password hash gpg key ids = {first['fingerprint']}" in conf.read_text()
    assert Path(first["backup"]).read_text().count("# was") == 1
    again = setup("--check", user.name)
    assert again["key_imported"] is False
    assert again["smb_conf_changed"] is False
    assert "capture works" in again["check"]
    secret = subprocess.run(
        ["gpg", "--homedir", str(home), "--batch", "--list-secret-keys"],
        capture_output=True,
        check=True,
    )
    assert secret.stdout == b""  # the DC side got the public key only


def test_an_unreadable_record_goes_to_the_dead_letters_and_the_rest_goes_on(
    capture_env: CaptureEnv,
) -> None:
    env = capture_env
    user, cred = _linked(env)
    spool = Spool(env.state_dir)
    # A finished record in the earlier one-file-per-object layout (pid 1 never runs our hook),
    # adopted into the journal at start.
    bad = spool.spool_dir / "1.ldif"
    bad.write_text("dn: CN=x\nobjectGUID:: not base64!\nvirtualSambaGPG: x\n# credsync-end\n")
    forwarder = env.forwarder().start()
    try:
        env.sw.ad.admin.reset_password(user.dn, "After-A-Bad-Record-10!")
        wait_for(lambda: _holds(env, cred, "After-A-Bad-Record-10!"), "the good change")
    finally:
        assert forwarder.stop() == 0
    assert not bad.exists()
    (reason,) = [p for p in spool.dead_dir.glob("*.reason") if "unreadable LDIF" in p.read_text()]
    (record,) = parse(reason.with_suffix(".journal").read_bytes()).records
    assert record.data.startswith(b"dn: CN=x\n")


def test_the_dc_side_holds_no_cleartext(capture_env: CaptureEnv, tmp_path: Path) -> None:
    """Last, after the tests above: the forwarder's state dirs (spool, cache, seq, dead letters),
    its log and syncpasswords' log hold none of the passwords, in UTF-8 or UTF-16-LE."""
    env = capture_env
    dc_side = b"".join(
        p.read_bytes()
        for root in (env.state_dir, env.logs, *tmp_path.parent.glob("*/new-state"))
        for p in sorted(root.rglob("*"))
        if p.is_file()
    )
    assert len(dc_side) > 0
    passwords = [
        "Helpdesk-Reset-1!", "Own-Chänge-2!", "Killed-Before-Ack-5!", "Older-Change-6!",
        "Newer-Change-7!", "Pushed-By-Vault-8!", "Before-State-Loss-9!", "After-A-Bad-Record-10!",
        *(f"While-Down-{n}-X!" for n in range(3)),
    ]  # fmt: skip
    for password in passwords:
        for encoding in ("utf-8", "utf-16-le"):
            assert password.encode(encoding) not in dc_side, password
    assert env.token.split(".")[2].encode() not in dc_side  # nor the forwarder's key
