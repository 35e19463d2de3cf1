"""Scale-out on one PostgreSQL with real processes: the world the scale-out test
(tests/scaleout) and benchmark (bench/scaleout.py) share.

- :class:`ScaleWorld`: a vault on a database URL (a cheap KDF: a throwaway vault) with
  ``directories`` clients, each with directory sync on and one Active Directory directory on
  the machine's Samba DC (an OU of its own, unique names, deleted at the end) holding
  ``accounts`` enabled users, one credential per user, linked by a first run and switched to
  enforce (confirmed). One client per directory: a change of a credential is queued for every
  directory of its client (a link may be made by the push run itself), so with one directory
  each, a change is one queued push. :meth:`ScaleWorld.queue_wave` changes every
  credential's password once: one queued push per credential (see the queue's coalescing in
  docs/scale-out.md).
- :func:`password_versions`: how many times each account's password was written, from the
  directory itself: the version of ``unicodePwd`` and ``pwdLastSet`` in the account's
  ``replPropertyMetaData`` (each write increments it; Samba does not compute
  ``msDS-ReplAttributeMetaData``, so the binary vector is read).
- :class:`Proc`: ``credsync agent`` / ``credsync serve`` as subprocesses of the real CLI on
  that database, signed in as the world's admin.
"""

from __future__ import annotations

import asyncio
import os
import signal
import struct
import subprocess
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from ldap3 import BASE, NONE, Connection, Server

from credsync.connectors._tls import ContextTls, make_context
from credsync.crypto import KdfParams
from credsync.storage import Database, push_queue
from credsync.storage import runs as run_rows
from credsync.storage.audit import entries as audit_entries
from credsync.sync import store
from credsync.sync.enforce import EnforceSwitches
from credsync.sync.engine import Engine
from credsync.testing.samba import SambaFacts
from credsync.testing.samba_admin import OuWorld
from credsync.types import CredentialType, Secret, SyncMode
from credsync.vault import KeyRing, Vault
from credsync.vault._time import utcnow
from credsync.vault.auth import Actor
from credsync.vault.directories import DirectoryInput
from credsync.vault.drafts import make_draft

__all__ = [
    "ADMIN",
    "ADMIN_PASSWORD",
    "PASSPHRASE",
    "Proc",
    "ScaleWorld",
    "password_versions",
]

PASSPHRASE = "scaleout-master-passphrase-0001"  # noqa: S105 - a throwaway vault's
ADMIN = "scaleout"
ADMIN_PASSWORD = "scaleout-admin-password-0001"  # noqa: S105 - a throwaway vault's
CLIENT = "Scaleout {}"  # one client per directory
UNICODE_PWD = 0x9005A  # attribute ids in replPropertyMetaData
PWD_LAST_SET = 0x90060
_ENTRY = 48  # bytes of one PROPERTY_META_DATA_EXT entry


def _quoted(password: str) -> bytes:
    return f'"{password}"'.encode("utf-16-le")


def _password(tag: str) -> str:
    return f"Scale-{tag}-{uuid.uuid4().hex[:10]}-9"


def _server(facts: SambaFacts) -> Server:
    return Server(
        facts.host,
        port=636,
        use_ssl=True,
        tls=ContextTls(make_context(facts.directory_config()), facts.tls_server_name),
        get_info=NONE,
        connect_timeout=10,
    )


def _versions(blob: bytes) -> dict[int, int]:
    """attribute id -> version, from a replPropertyMetaData vector (version 1)."""
    _, _, count, _ = struct.unpack_from("<IIII", blob, 0)
    found = {}
    for i in range(count):
        attid, version = struct.unpack_from("<II", blob, 16 + _ENTRY * i)
        found[attid] = version
    return found


def password_versions(conn: Connection, dns: Sequence[str]) -> dict[str, tuple[int, int]]:
    """dn -> (unicodePwd version, pwdLastSet version): how many times each password was
    written, as the directory's replication metadata counts it."""
    found = {}
    for dn in dns:
        conn.search(dn, "(objectClass=*)", BASE, attributes=["replPropertyMetaData"])
        [blob] = conn.response[0]["raw_attributes"]["replPropertyMetaData"]
        versions = _versions(blob)
        found[dn] = (versions.get(UNICODE_PWD, 0), versions.get(PWD_LAST_SET, 0))
    return found


def bind_works(facts: SambaFacts, dn: str, password: str) -> bool:
    conn = Connection(_server(facts), dn, password, receive_timeout=30)
    try:
        return bool(conn.bind())
    finally:
        conn.unbind()


@dataclass
class Account:
    dn: str
    credential_id: str
    directory: str
    password: str


@dataclass
class ScaleWorld:
    url: str
    facts: SambaFacts
    vault: Vault
    admin: Actor
    keys: KeyRing
    ous: list[OuWorld] = field(default_factory=list)
    directories: list[str] = field(default_factory=list)  # names
    accounts: list[Account] = field(default_factory=list)
    waves: int = 0

    @classmethod
    def create(
        cls, url: str, facts: SambaFacts, *, directories: int, accounts: int, interval: int = 600
    ) -> ScaleWorld:
        """The world (see the module); ``interval``: the directories' periodic runs."""
        vault, _, kek = Vault.initialise(
            Database(url),
            passphrase=Secret(PASSPHRASE),
            admin_name=ADMIN,
            admin_password=Secret(ADMIN_PASSWORD),
            kdf=KdfParams.new(time_cost=1, memory_kib=8192, parallelism=1),
        )
        admin = vault.access.login_password(ADMIN, Secret(ADMIN_PASSWORD))
        world = cls(url, facts, vault, admin, KeyRing.of(kek))
        try:
            for d in range(directories):
                world._add_directory(d, accounts, interval)
            world._link()
        except BaseException:
            world.close()
            raise
        return world

    def _add_directory(self, d: int, count: int, interval: int) -> None:
        client = CLIENT.format(d)
        self.vault.clients.add(self.admin, self.keys, client, directory_sync=True)
        bind = self.vault.credentials.add(
            self.admin, self.keys, client,
            make_draft(
                title="Domain admin", username=self.facts.admin_upn,
                password=Secret(self.facts.admin_password),
                type_=CredentialType.DIRECTORY_ADMIN, sync_mode=SyncMode.OFF,
            ),
        )  # fmt: skip
        ou = OuWorld.create(self.facts, prefix="scale")
        self.ous.append(ou)
        name = f"scale-{d}"
        settings: dict[str, Any] = {
            "url": self.facts.ldaps_url,
            "base_dn": ou.dn,
            "bind_credential": bind.id,
            "ca_pem": self.facts.ca_file.read_text(),
            "tls_server_name": self.facts.tls_server_name,
            "options": {"push_cap": 1_000_000, "interval": interval, "jitter": 0},
        }
        self.vault.directories.add(
            self.admin, client, name, "active-directory", DirectoryInput.of(settings)
        )
        self.directories.append(name)
        for i in range(count):  # one connection, the password set in the add itself
            sam = f"s{d}x{i:04d}{uuid.uuid4().hex[:5]}"
            dn, password = f"CN={sam},{ou.dn}", _password("0")
            attributes = {
                "sAMAccountName": sam,
                "unicodePwd": _quoted(password),
                "userAccountControl": "512",
            }
            if not ou.admin.conn.add(dn, ["user"], attributes):
                raise RuntimeError(f"adding {dn} failed: {ou.admin.conn.result}")
            draft = make_draft(title=f"AD {sam}", username=sam, password=Secret(password))
            cred = self.vault.credentials.add(self.admin, self.keys, client, draft)
            self.accounts.append(Account(dn, cred.id, name, password))

    def _link(self) -> None:
        """A first run links every credential (one bind each: in sync); the clients' default
        switched to enforce, confirmed (which confirms the links); a second run settles."""
        self.run_all()
        for d in range(len(self.directories)):
            EnforceSwitches(self.vault).configure_client(
                self.admin, CLIENT.format(d), default_sync_mode=SyncMode.ENFORCE, confirmed=True
            )
        self.run_all()

    def run_all(self) -> list[Any]:
        """One run of each directory here (in this process); their reports."""
        engine = Engine(self.vault, self.keys, self.admin)

        async def go() -> list[Any]:
            return [await engine.run(name, trigger="cli") for name in self.directories]

        reports = asyncio.run(go())
        for report in reports:
            if report.state != "done":
                raise RuntimeError(f"run {report.id} ended {report.state}: {report.message}")
        return reports

    def point_at(self, url: str) -> None:
        """Every directory's address changed to ``url`` (a proxy in front of the DC)."""
        for name in self.directories:
            self.vault.directories.update(self.admin, name, DirectoryInput.of({"url": url}))

    def queue_wave(self) -> None:
        """Every credential's password changed once (its push queued with it)."""
        self.waves += 1
        for account in self.accounts:
            account.password = _password(str(self.waves))
            self.vault.credentials.set_password(
                self.admin, self.keys, account.credential_id, Secret(account.password)
            )

    def backlog(self) -> push_queue.Backlog:
        with self.vault.db.read() as conn:
            return push_queue.backlog(conn, utcnow())

    def wait_drained(self, timeout: float, procs: Sequence[Proc] = ()) -> float:
        """Seconds until the queue is empty (none waiting); raises after ``timeout``."""
        started = time.monotonic()
        while self.backlog().waiting:
            if time.monotonic() - started > timeout:
                left = len(self.backlog().waiting)
                raise TimeoutError(f"the queue was not drained in {timeout:.0f} s: {left} left")
            for proc in procs:
                proc.check()
            time.sleep(0.1)
        return time.monotonic() - started

    def versions(self) -> dict[str, tuple[int, int]]:
        """See :func:`password_versions`; over a connection of its own (the DC ends one idle
        for 15 minutes, as the OUs' admin connections are while the processes work)."""
        conn = Connection(
            _server(self.facts),
            self.facts.admin_upn,
            self.facts.admin_password,
            raise_exceptions=True,
            receive_timeout=60,
        )
        conn.bind()
        try:
            return password_versions(conn, [a.dn for a in self.accounts])
        finally:
            conn.unbind()

    def confirmed_versions(self) -> dict[str, tuple[int | None, int]]:
        """credential id -> (the version its link says the directory has, the vault's)."""
        found: dict[str, tuple[int | None, int]] = {}
        with self.vault.db.read() as conn:
            for d, name in enumerate(self.directories):
                client_id = self.vault.clients.get(self.admin, CLIENT.format(d)).id
                creds = store.sync_credentials(conn, client_id)
                current = {c.id: c.secret_version for c in creds}
                directory = self.vault.directories.get(self.admin, name)
                for cred_id, link in store.load_links(conn, directory.id).items():
                    found[cred_id] = (link.confirmed_secret_version, current[cred_id])
        return found

    def runs(self) -> list[run_rows.RunRow]:
        with self.vault.db.read() as conn:
            return run_rows.newest(conn, client_id=None, directory_id=None, limit=1_000_000)

    def audited_runs(self) -> list[str]:
        """The run id of every ``sync.run`` audit entry, in order."""
        import json

        with self.vault.db.read() as conn:
            return [
                str(json.loads(e.details)["run_id"])
                for e in audit_entries(conn)
                if e.action == "sync.run"
            ]

    def environment(self, home: Path) -> dict[str, str]:
        """The environment of a credsync process on this vault (its own CREDSYNC_HOME)."""
        home.mkdir(parents=True, exist_ok=True)
        base = {k: v for k, v in os.environ.items() if not k.startswith("CREDSYNC_")}
        return base | {
            "CREDSYNC_HOME": str(home),
            "CREDSYNC_DATABASE_URL": self.url,
            "CREDSYNC_PASSPHRASE": PASSPHRASE,
            "CREDSYNC_OPERATOR": ADMIN,
            "CREDSYNC_OPERATOR_PASSWORD": ADMIN_PASSWORD,
            "PYTHONUNBUFFERED": "1",
        }

    def close(self) -> None:
        try:
            for ou in self.ous:
                ou.close()
        finally:
            self.vault.db.dispose()


class Proc:
    """One ``credsync ARGS`` process (its output in ``log``); :meth:`check` raises when it
    died unasked."""

    def __init__(self, name: str, args: Sequence[str], env: dict[str, str], log: Path) -> None:
        self.name = name
        self.args = list(args)
        self.env = env
        self.log = log
        self._out: IO[bytes] | None = None
        self.popen: subprocess.Popen[bytes] | None = None
        self.start()

    def start(self) -> None:
        self._out = self.log.open("ab")
        self.popen = subprocess.Popen(  # noqa: S603 - this interpreter, the project's CLI
            [sys.executable, "-m", "credsync", *self.args],
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=self._out,
            stderr=subprocess.STDOUT,
        )

    @property
    def pid(self) -> int:
        if self.popen is None:
            raise RuntimeError(f"{self.name} is not running")
        return self.popen.pid

    def check(self) -> None:
        if self.popen is not None and self.popen.poll() is not None:
            raise RuntimeError(f"{self.name} exited {self.popen.returncode}: {self.tail()}")

    def tail(self, lines: int = 30) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def kill9(self) -> None:
        if self.popen is None:
            raise RuntimeError(f"{self.name} is not running")
        self.popen.send_signal(signal.SIGKILL)
        self.popen.wait(timeout=30)
        self.popen = None
        self._close_log()

    def stop(self, timeout: float = 60.0) -> int:
        """SIGTERM, and the exit status (killed after ``timeout``)."""
        if self.popen is None:
            return 0
        self.popen.send_signal(signal.SIGTERM)
        try:
            code = self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            code = self.popen.wait(timeout=30)
        self.popen = None
        self._close_log()
        return code

    def _close_log(self) -> None:
        if self._out is not None:
            self._out.close()
            self._out = None
