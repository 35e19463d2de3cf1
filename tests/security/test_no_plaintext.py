"""No secret in plaintext on disk, in the logs, or in command output it was not asked for.

A realistic session is driven through the real ``credsync`` command (a process per command,
forked from one that did the imports: ``credsync.testing.prefork``; nothing mocked): init, an
operator, a client, credentials with notes, new passwords, a CSV import with rejected rows, a
generated password, reveals, history, a session, an API token, an export, failing commands, a
key rotation, and an MFA enrolment (its TOTP seed and recovery codes) with a sign-in by
recovery code. Then the *bytes* of every file the vault wrote (the SQLite
database with its WAL and shared-memory files, and the logs; for PostgreSQL the whole data
directory after a CHECKPOINT, and the server's log) are searched for every secret in UTF-8,
UTF-16 and hex, and for the raw key material (master keys, data keys, the session key).
"""

from __future__ import annotations

import base64
import json
import os
import sqlite3
import stat
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyotp
import pytest
import sqlalchemy as sa
from argon2.low_level import Type, hash_secret_raw
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from credsync.testing.postgres import TempPostgres

from ._cli import Cli, Result
from ._safe import check_absent, check_present, check_secret, check_secrets, guard
from ._top import FAST_KDF

pytestmark = pytest.mark.slow

# Caseless (digits and punctuation), so it survives case-folding; it occurs only in secrets.
MARK = "%7#31!9@"
TEXT_ENCODINGS = ("utf-8", "utf-16-le", "utf-16-be")
SESSION_PREFIX_LEN = len("css_") + 36 + 1  # css_<session id>_<key>


def _text_forms(value: str) -> dict[str, bytes]:
    forms = {enc: value.encode(enc) for enc in TEXT_ENCODINGS}
    forms["hex"] = value.encode("utf-8").hex().encode()
    return forms


def _raw_forms(value: bytes) -> dict[str, bytes]:
    return {
        "raw": value,
        "hex": value.hex().encode(),
        "base64": base64.b64encode(value).rstrip(b"="),
        "base64url": base64.urlsafe_b64encode(value).rstrip(b"="),
    }


@dataclass(repr=False)
class Workflow:
    cli: Cli
    secrets: dict[str, str] = field(default_factory=dict)  # label -> value
    keys: dict[str, bytes] = field(default_factory=dict)  # label -> raw key material
    allowed: list[set[str]] = field(default_factory=list)  # per command: labels it may print
    ids: dict[str, str] = field(default_factory=dict)

    def __repr__(self) -> str:
        return f"Workflow({len(self.cli.results)} commands, secrets {sorted(self.secrets)})"

    def new(self, label: str, extra: str = "") -> str:
        """A new secret: the marker, the label, ``extra`` and randomness."""
        return self.learn(label, f"{MARK}{label}{extra}-{uuid.uuid4().hex[:12]}")

    def learn(self, label: str, value: str) -> str:
        self.secrets[label] = value
        self.cli.redact.append(value)
        return value

    def all_values(self) -> list[str]:
        return list(self.secrets.values())

    def run(
        self,
        *args: str,
        stdin: str | None = None,
        env: dict[str, str | None] | None = None,
        expect: int = 0,
        may_print: Iterable[str] = (),
    ) -> Result:
        result = self.cli.run(*args, stdin=stdin, env=env, expect=expect)
        self.allowed.append(set(may_print))
        return result

    def json(self, *args: str, **kwargs: Any) -> Any:
        return json.loads(self.run(*args, "--json", **kwargs).stdout)


def _as(name: str, password: str) -> dict[str, str | None]:
    return {
        "CREDSYNC_OPERATOR": name,
        "CREDSYNC_OPERATOR_PASSWORD": password,
        "CREDSYNC_TOKEN": None,
        "CREDSYNC_SESSION": None,
    }


def run_workflow(
    flow: Workflow, database_url: str | None, after_init: Callable[[], None] = lambda: None
) -> None:
    outside = flow.cli.home.parent / "outside"  # files a user handles: not the vault's
    outside.mkdir()
    s = flow.secrets
    passphrase = flow.new("master-passphrase")
    admin_pw = flow.new("admin-password")
    bob_pw = flow.new("bob-password")
    flow.cli.env.update({"CREDSYNC_PASSPHRASE": passphrase, "CREDSYNC_LOG_LEVEL": "DEBUG"})
    if database_url:
        flow.cli.env["CREDSYNC_DATABASE_URL"] = database_url
    alice, bob = _as("alice", admin_pw), _as("bob", bob_pw)

    flow.run(
        "init",
        "--admin",
        "alice",
        "--kdf-memory-kib",
        str(FAST_KDF["memory_kib"]),
        "--kdf-time-cost",
        str(FAST_KDF["time_cost"]),
        "--kdf-parallelism",
        str(FAST_KDF["parallelism"]),
        env={"CREDSYNC_ADMIN_PASSWORD": admin_pw},
    )
    after_init()
    flow.run(
        "operator", "add", "bob", "--role", "technician", "--password-stdin",
        stdin=bob_pw, env=alice,
    )  # fmt: skip
    flow.run("client", "add", "Contoso", env=alice)

    # bob opens a session: printed once, then the only thing most of his commands need
    session = flow.run(
        "unlock", "--raw", "--ttl", "10m", env=bob, may_print={"session"}
    ).stdout.strip()
    flow.learn("session", session)
    encoded = session[SESSION_PREFIX_LEN:]
    flow.keys["session key"] = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
    by_session: dict[str, str | None] = {
        "CREDSYNC_SESSION": session,
        "CREDSYNC_PASSPHRASE": None,
        "CREDSYNC_OPERATOR": None,
        "CREDSYNC_OPERATOR_PASSWORD": None,
    }

    # a credential with notes, then two new passwords (one not ASCII) and new notes
    pw1, notes1 = flow.new("pw-one"), flow.new("notes-one")
    cred = flow.json(
        "cred", "add", "Contoso", "--title", "DC admin", "--username", "CONTOSO\\admin",
        "--password-stdin", "--notes", notes1, stdin=pw1, env=by_session,
    )  # fmt: skip
    cred_id = flow.ids["dc"] = cred["id"]
    pw2 = flow.new("pw-two")
    flow.run(
        "cred", "set-password", cred_id, "--password-stdin", "--reason", "rotation",
        stdin=pw2, env=bob,
    )  # fmt: skip
    pw3 = flow.new("pw-three", "-p\u00e4ssw\u00f6rd-\u00fc\u00df-\u20ac")
    flow.run("cred", "set-password", cred_id, "--password-stdin", stdin=pw3, env=by_session)
    notes2 = flow.new("notes-two", "-\u00e9t\u00e9")
    flow.run("cred", "edit", cred_id, "--notes", notes2, env=by_session)

    # a CSV import with passwords; two rows are rejected (a duplicate, a too-long password)
    csv_pw1, csv_notes = flow.new("csv-pw-one"), flow.new("csv-notes")
    csv_pw2, csv_dup = flow.new("csv-pw-two"), flow.new("csv-duplicate")
    csv_long = flow.new("csv-too-long", "x" * 1100)
    csv_path = outside / "passwords.csv"
    csv_path.write_text(
        "title,username,password,url,notes\r\n"
        f"Web portal,webadmin,{csv_pw1},https://portal.example,{csv_notes}\r\n"
        f"VPN,vpnuser,{csv_pw2},,\r\n"
        f"VPN,vpnuser,{csv_dup},,\r\n"
        f"Too long,someone,{csv_long},,\r\n",
        encoding="utf-8",
    )
    report = flow.json("import", "Contoso", str(csv_path), env=by_session, expect=10)
    assert (report["imported"], report["rejected_count"]) == (2, 2)
    assert [r["line"] for r in report["rejected"]] == [4, 5]
    csv_path.unlink()

    # a generated password: learnt from its reveal, then searched for like the others
    gen = flow.json(
        "cred", "add", "Contoso", "--title", "Backup", "--username", "svc-backup", "--generate",
        env=by_session,
    )  # fmt: skip
    shown = flow.json("cred", "show", gen["id"], "--reveal", env=bob, may_print={"generated"})
    flow.learn("generated", shown["password"])

    # reveals print exactly the secrets asked for
    shown = flow.json(
        "cred", "show", cred_id, "--reveal", env=by_session, may_print={"pw-three", "notes-two"}
    )
    check_secrets([shown["password"], shown["notes"]], [pw3, notes2], "cred show --reveal")
    history = flow.json(
        "cred", "history", cred_id, "--reveal", env=by_session,
        may_print={"pw-one", "pw-two", "pw-three"},
    )  # fmt: skip
    check_secrets([h["password"] for h in history], [pw3, pw2, pw1], "history --reveal")
    flow.run("lock", env=by_session)
    ended = flow.run("cred", "list", "Contoso", env=by_session, expect=3)
    assert "the session has ended" in ended.stderr

    # an API token: printed once, then used by a script
    token = flow.json("token", "create", "ci-job", env=alice, may_print={"token"})["token"]
    flow.learn("token", token)
    by_token: dict[str, str | None] = {
        "CREDSYNC_TOKEN": token,
        "CREDSYNC_OPERATOR": None,
        "CREDSYNC_OPERATOR_PASSWORD": None,
    }
    [web] = flow.json("cred", "search", "portal", "--client", "Contoso", env=by_token)
    shown = flow.json(
        "cred", "show", web["id"], "--reveal", env=by_token, may_print={"csv-pw-one", "csv-notes"}
    )
    check_secrets([shown["password"], shown["notes"]], [csv_pw1, csv_notes], "reveal by token")

    # an export to a file (0600): it holds the current secrets, and is deleted
    export = outside / "export.csv"
    flow.run("export", "Contoso", "-o", str(export), "--yes", env=alice)
    assert stat.S_IMODE(export.stat().st_mode) == 0o600
    exported = export.read_text(encoding="utf-8")
    current = ("pw-three", "notes-two", "csv-pw-one", "csv-notes", "csv-pw-two", "generated")
    check_present({k: s[k] for k in current}, exported, "the export")
    earlier = ("pw-one", "pw-two", "csv-duplicate", "csv-too-long")
    check_absent({k: s[k] for k in earlier}, exported, "the export")
    export.unlink()

    # failing commands: each fails clearly and leaks nothing
    too_long = flow.new("too-long", "y" * 1100)
    failed = flow.run(
        "cred", "set-password", cred_id, "--password-stdin", stdin=too_long, env=bob, expect=2
    )
    assert "password is too long (at most 1024 characters)" in failed.stderr
    wrong_passphrase = flow.new("wrong-passphrase")
    failed = flow.run(
        "cred", "show", cred_id, "--reveal",
        env={**bob, "CREDSYNC_PASSPHRASE": wrong_passphrase}, expect=3,
    )  # fmt: skip
    assert failed.stderr == "credsync: error: the master passphrase does not open this vault\n"
    failed = flow.run("whoami", env=_as("bob", flow.new("wrong-operator-password")), expect=3)
    assert "wrong operator name or password" in failed.stderr
    flow.run("whoami", env=_as(flow.new("password-typed-as-name"), bob_pw), expect=3)

    # the master key is rotated; the new passphrase opens the vault
    new_passphrase = flow.new("new-master-passphrase")
    flow.run("key", "rotate", "--new-passphrase-stdin", stdin=new_passphrase + "\n", env=alice)
    flow.cli.env["CREDSYNC_PASSPHRASE"] = new_passphrase
    shown = flow.json(
        "cred", "show", cred_id, "--reveal", env=bob, may_print={"pw-three", "notes-two"}
    )
    check_secret(shown["password"], pw3, "reveal after key rotation")

    # bob sets up MFA: the TOTP seed (with its URI) and the recovery codes are printed once,
    # then signs in with a recovery code (from CREDSYNC_OPERATOR_OTP) that works only once
    started = flow.json("operator", "mfa", "enroll", env=bob, may_print={"totp-seed", "totp-uri"})
    flow.learn("totp-seed", started["secret"])
    flow.learn("totp-uri", started["uri"])
    recovery = {f"recovery-{n}" for n in range(10)}
    first = pyotp.TOTP(started["secret"]).now()
    codes = flow.json("operator", "mfa", "confirm", first, env=bob, may_print=recovery)
    for n, value in enumerate(codes["recovery_codes"]):
        flow.learn(f"recovery-{n}", value)
    with_code = {**bob, "CREDSYNC_OPERATOR_OTP": codes["recovery_codes"][0]}
    flow.run("whoami", env=with_code)
    used = flow.run("whoami", env=with_code, expect=3)
    assert "wrong or was already used" in used.stderr

    entries = flow.json("audit", "--limit", "1000", env=alice)
    actions = {e["action"] for e in entries}
    assert {
        "credential.reveal", "credential.history_reveal", "export", "import", "key.rotate",
        "token.create", "session.create", "session.end", "auth.failed", "mfa.enrol",
        "mfa.recovery_code_used",
    } <= actions  # fmt: skip
    flow.run("audit", "verify", env=alice)
    # a backup of it all, where a user keeps files (scanned by _check_backup)
    flow.run("backup", str(_backup_of(flow)), env=alice)


def _backup_of(flow: Workflow) -> Path:
    return flow.cli.home.parent / "outside" / "vault.backup"


def _check_backup(flow: Workflow) -> None:
    """The backup holds no secret and no key, and not even the vault's names in the clear."""
    archive = _backup_of(flow)
    assert _mode(archive) == 0o600
    findings, count = _leaks(flow, [archive])
    assert (findings, count) == ([], 1)
    for name in (b"Web portal", b"CONTOSO\\admin", b"credential.reveal"):
        assert not _contains([archive], name)


# -- key material, recomputed from what the vault stores -----------------------------------------


def _add_key_material(flow: Workflow, url: str, passphrase_label: str) -> None:
    """Derive the master key as credsync does (Argon2id over the stored salt and costs) and open
    every wrapped data key with it (``b"\\x01" + nonce + AES-256-GCM``), so that the raw keys are
    searched for as well."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            meta = conn.execute(
                sa.text(
                    "SELECT kdf_salt, kdf_time_cost, kdf_memory_kib, kdf_parallelism "
                    "FROM vault_meta"
                )
            ).one()
            wrapped = conn.execute(sa.text("SELECT id, wrapped_data_key FROM clients")).all()
    finally:
        engine.dispose()
    kek = hash_secret_raw(
        secret=flow.secrets[passphrase_label].encode(),
        salt=bytes(meta.kdf_salt),
        time_cost=meta.kdf_time_cost,
        memory_cost=meta.kdf_memory_kib,
        parallelism=meta.kdf_parallelism,
        hash_len=32,
        type=Type.ID,
    )
    flow.keys["master key"] = kek
    assert wrapped
    for client_id, blob in wrapped:
        blob = bytes(blob)
        aad = f"credsync/data-key/v1|{client_id}".encode()
        flow.keys[f"data key of {client_id}"] = AESGCM(kek).decrypt(blob[1:13], blob[13:], aad)


# -- checks ----------------------------------------------------------------------------------------


def _files(*roots: Path) -> Iterator[Path]:
    for root in roots:
        if root.is_file():
            yield root
            continue
        for dirpath, _dirs, names in os.walk(root):
            for name in names:
                path = Path(dirpath) / name
                if path.is_file() and not path.is_symlink():
                    yield path


def _needles(flow: Workflow) -> dict[str, bytes]:
    """What to search for besides the marker: secrets without it, and key material."""
    needles: dict[str, bytes] = {}
    unmarked = {k: v for k, v in flow.secrets.items() if MARK not in v}
    unmarked["session key text"] = flow.secrets["session"][SESSION_PREFIX_LEN:]
    unmarked["token random part"] = flow.secrets["token"].removeprefix("cst_")
    for label, value in unmarked.items():
        for form, data in _text_forms(value).items():
            needles[f"{label} ({form})"] = data
    for label, raw in flow.keys.items():
        for form, data in _raw_forms(raw).items():
            needles[f"{label} ({form})"] = data
    return needles


def _leaks(flow: Workflow, files: Iterable[Path]) -> tuple[list[str], int]:
    """(findings, number of files read): which secret, in which form, in which file."""
    needles = _needles(flow)
    marked = {k: v for k, v in flow.secrets.items() if MARK in v}
    findings: list[str] = []
    count = 0
    for path in files:
        try:
            data = path.read_bytes()
        except FileNotFoundError:  # a temporary file of the database server, gone meanwhile
            continue
        count += 1
        # every marked secret holds the marker, so one search per encoding covers all of them,
        # and also a secret that was cut short or case-folded
        for form, mark in _text_forms(MARK).items():
            if mark in data:
                which = [k for k, v in marked.items() if _text_forms(v)[form] in data]
                findings.append(f"{path}: marker ({form}) of {which or 'a partial secret'}")
        findings += [f"{path}: {label}" for label, needle in needles.items() if needle in data]
    return findings, count


def _check_outputs(flow: Workflow) -> None:
    """Each command printed only the secrets it was meant to print."""
    assert len(flow.allowed) == len(flow.cli.results)
    keys = {
        f"{label} ({form})": data.decode("ascii")
        for label, raw in flow.keys.items()
        for form, data in _raw_forms(raw).items()
        if form != "raw"
    }
    for result, allowed in zip(flow.cli.results, flow.allowed, strict=True):
        where = result.describe()
        check_absent(
            {k: v for k, v in flow.secrets.items() if k not in allowed}, result.output, where
        )
        if not allowed and MARK in result.output:
            pytest.fail(f"{where} printed part of a secret", pytrace=False)
        if "session" not in allowed:
            check_absent(keys, result.output, where)
    printed = {label for allowed in flow.allowed for label in allowed}
    assert {"session", "token", "generated", "pw-three", "pw-one"} <= printed


def _check_log(home: Path) -> list[Path]:
    logs = sorted((home / "logs").iterdir())
    log = home / "logs" / "credsync.log"
    assert logs == [log]
    text = log.read_text(encoding="utf-8")
    # the scan means something only if the log records what commands did and how they failed
    assert "as operator bob (via session)" in text
    assert "as operator alice (via password)" in text
    for error in ("WrongPassphrase", "InvalidInput", "AuthenticationFailed"):
        assert f"failed: {error}:" in text
    return logs


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _check_modes(home: Path, files: Iterable[Path]) -> None:
    dirs = {"home": _mode(home), "logs": _mode(home / "logs")}
    assert dirs == {"home": 0o700, "logs": 0o700}
    modes = {path.name: oct(_mode(path)) for path in files}
    assert modes == dict.fromkeys(modes, oct(0o600))


def _contains(files: Iterable[Path], needle: bytes) -> bool:
    return any(needle in path.read_bytes() for path in files if path.exists())


# -- the tests -----------------------------------------------------------------------------------


def test_sqlite_files_and_logs_hold_no_secret(tmp_path: Path) -> None:
    home = tmp_path / "home"
    db_path = home / "vault.db"
    flow = Workflow(Cli(home))
    held: list[sqlite3.Connection] = []

    def keep_open() -> None:
        # A connection held open from the start keeps SQLite's -wal and -shm files (SQLite
        # removes them when the last connection closes), so that they are scanned as they are.
        conn = sqlite3.connect(db_path)
        conn.execute("SELECT count(*) FROM audit_log").fetchall()
        held.append(conn)

    with guard(flow.all_values):
        try:
            run_workflow(flow, None, keep_open)
            _add_key_material(flow, f"sqlite:///{db_path}", "new-master-passphrase")
            _check_outputs(flow)
            logs = _check_log(home)
            wal, shm = home / "vault.db-wal", home / "vault.db-shm"
            files = sorted(_files(home))
            assert files == sorted([db_path, wal, shm, *logs])
            _check_modes(home, files)
            findings, count = _leaks(flow, files)
            assert findings == []
            assert count == len(files)
            _check_backup(flow)
            # the scan sees what the vault stored: a ciphertext, and metadata in the clear
            [conn] = held
            newest = conn.execute(
                "SELECT ciphertext FROM secret_versions ORDER BY created_at DESC LIMIT 1"
            ).fetchone()[0]
            assert _contains(files, newest)
            assert _contains(files, b"CONTOSO\\admin")
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        finally:
            for conn in held:
                conn.close()

        # with the last connection closed, SQLite folds the WAL into the database: scan again
        files = list(_files(home))
        assert db_path in files
        findings, _ = _leaks(flow, files)
        assert findings == []
        assert _contains([db_path], b"Web portal")


def test_postgresql_files_and_logs_hold_no_secret(tmp_path: Path, pg_server: TempPostgres) -> None:
    name = f"t_plain_{uuid.uuid4().hex[:10]}"
    url = pg_server.create_database(name)
    home = tmp_path / "home"
    flow = Workflow(Cli(home))
    try:
        with guard(flow.all_values):
            run_workflow(flow, url)
            assert not (home / "vault.db").exists()
            _add_key_material(flow, url, "new-master-passphrase")
            _check_outputs(flow)
            logs = _check_log(home)
            _check_modes(home, logs)
            findings, _ = _leaks(flow, _files(home))
            assert findings == []
            _check_backup(flow)

            engine = sa.create_engine(url)
            try:
                with engine.connect() as conn:
                    newest = conn.execute(
                        sa.text(
                            "SELECT ciphertext FROM secret_versions "
                            "ORDER BY created_at DESC LIMIT 1"
                        )
                    ).scalar_one()
                with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                    conn.execute(sa.text("CHECKPOINT"))
            finally:
                engine.dispose()
            files = list(_files(pg_server.datadir, pg_server.root / "server.log"))
            findings, count = _leaks(flow, files)
            assert findings == []
            assert count > 100
            # the data directory holds the vault's rows: the scan looks in the right place
            assert _contains(files, bytes(newest))
            assert _contains(files, b"CONTOSO\\admin")
    finally:
        pg_server.drop_database(name)
