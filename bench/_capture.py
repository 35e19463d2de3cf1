"""What the capture benchmarks share: a vault whose directory (an OU of its own on the shared
Samba DC) has its capture key installed on the DC, the real app on 127.0.0.1, an enrolled
forwarder run as the real ``credsync capture samba`` process, and N linked two-way credentials.

Not a benchmark itself (the leading underscore). The DC is restarted once (``scripts/samba-dc
capture``) with the vault's public key.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import uvicorn
from ldap3 import MODIFY_REPLACE

import _common as c
import ad_connector as adc
from credsync.agent.capture.samba import initialise, samba_tool, sync_once
from credsync.agent.capture.spool import Spool
from credsync.api.state import ServerState
from credsync.server.app import create_app
from credsync.storage.tables import capture_ledger
from credsync.sync.engine import Engine
from credsync.testing.samba import OuWorld, SambaAdmin, SambaDC
from credsync.types import Secret, SyncMode
from credsync.vault.drafts import make_draft

# The baseline's per-object script: Samba's protocol with nothing done. It must read its
# stdin: Samba asserts that the script is still running right after starting it.
DO_NOTHING = "#!/bin/sh\ncat >/dev/null\necho 'DONE-EXIT: nothing'\n"
# The bare handover's per-object script: Samba's LDIF of the object appended to a file.
RECORD = "#!/bin/sh\ncat >> {path}\necho 'DONE-EXIT: recorded'\n"


class Server:
    """The app served by uvicorn in a thread (as ``credsync serve`` serves it); over HTTPS
    with ``pem`` (its certificate and key)."""

    def __init__(self, app: Any, pem: Path | None = None) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = port = int(sock.getsockname()[1])
        self.url = f"{'http' if pem is None else 'https'}://127.0.0.1:{port}"
        key = None if pem is None else str(pem)
        config = uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off",
                                log_level="warning", access_log=False, log_config=None,
                                ssl_certfile=key, ssl_keyfile=key)  # fmt: skip
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=lambda: asyncio.run(self._server.serve()), daemon=True
        )
        self._thread.start()
        while not self._server.started:
            time.sleep(0.01)

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=15)


@dataclass
class World:
    ou: OuWorld
    vault: Any
    admin: Any
    keys: Any
    directory_id: str
    users: list[tuple[str, str]]  # (dn, password)
    guids: dict[str, str]  # dn -> objectGUID
    creds: list[Any]
    server: Server
    token: str = field(repr=False)
    home: Path = field(default_factory=Path)
    forwarder: subprocess.Popen[bytes] | None = None

    @property
    def state_dir(self) -> Path:
        return self.home / "forwarder-state"

    def start_forwarder(self) -> None:
        env = {**os.environ, "CREDSYNC_CAPTURE_TOKEN": self.token}
        src = str(c.REPO / "src")
        env["PYTHONPATH"] = src + os.pathsep + env.get("PYTHONPATH", "")
        with open(self.home / "forwarder.log", "ab") as log:
            self.forwarder = subprocess.Popen(
                [sys.executable, "-m", "credsync", "capture", "samba", "--server", self.server.url,
                 "--smb-conf", str(self.ou.facts.smb_conf), "--state-dir", str(self.state_dir)],
                env=env, stdout=log, stderr=log, stdin=subprocess.DEVNULL,
            )  # fmt: skip

    def stop_forwarder(self) -> None:
        if self.forwarder is not None:
            self.forwarder.send_signal(signal.SIGTERM)
            self.forwarder.wait(timeout=60)
            self.forwarder = None

    def drain_forwarder(self) -> None:
        """One ``--once`` pass: syncpasswords' first pass (every account) behind us."""
        env = {**os.environ, "CREDSYNC_CAPTURE_TOKEN": self.token,
               "PYTHONPATH": str(c.REPO / "src")}  # fmt: skip
        done = subprocess.run(
            [sys.executable, "-m", "credsync", "capture", "samba", "--once", "--server",
             self.server.url, "--smb-conf", str(self.ou.facts.smb_conf), "--state-dir",
             str(self.state_dir)],
            env=env, capture_output=True, check=False,
        )  # fmt: skip
        if done.returncode != 0:
            raise SystemExit(f"the forwarder's first pass failed: {done.stderr[-2000:]!r}")

    def ledger_max(self) -> int:
        with self.vault.db.read() as conn:
            return int(conn.scalar(sa.select(sa.func.max(capture_ledger.c.id))) or 0)

    def accepted_since(self, after: int) -> list[tuple[str, int | None]]:
        """(object_guid, pwd_last_set) of the captures accepted after ledger row ``after``."""
        with self.vault.db.read() as conn:
            rows = conn.execute(
                sa.select(capture_ledger.c.object_guid, capture_ledger.c.pwd_last_set).where(
                    capture_ledger.c.id > after,
                    capture_ledger.c.outcome == "accepted",
                    capture_ledger.c.directory_id == self.directory_id,
                )
            ).all()
        return [(str(g), p) for g, p in rows]

    def accepted_count_since(self, after: int) -> int:
        """How many accounts have a capture accepted after ledger row ``after`` (one cheap
        query: what the burst polls while the server works in the same process)."""
        with self.vault.db.read() as conn:
            return int(
                conn.scalar(
                    sa.select(sa.func.count(sa.distinct(capture_ledger.c.object_guid))).where(
                        capture_ledger.c.id > after,
                        capture_ledger.c.outcome == "accepted",
                        capture_ledger.c.directory_id == self.directory_id,
                    )
                )
                or 0
            )

    def last_captured_since(self, after: int) -> float:
        """When the newest capture after ledger row ``after`` was spooled (epoch seconds)."""
        with self.vault.db.read() as conn:
            newest = conn.scalar(
                sa.select(sa.func.max(capture_ledger.c.captured_at)).where(
                    capture_ledger.c.id > after
                )
            )
        if newest is None:
            return 0.0
        if newest.tzinfo is None:
            newest = newest.replace(tzinfo=dt.UTC)
        return float(newest.timestamp())

    def close(self) -> None:
        """Stop everything and delete the bench accounts."""
        try:
            self.stop_forwarder()
            self.server.stop()
            self.vault.db.dispose()
        finally:
            print("deleting the bench accounts ...")
            self.ou.close()


def build(facts: Any, accounts: int, home: Path) -> World:
    """The world: N accounts, their two-way credentials linked by a first run, the capture
    key on the DC, the server up, the forwarder's first pass done."""
    ou = OuWorld.create(facts, prefix="benchcap")
    users = list(adc.make_users(ou, accounts).items())
    vault, admin, keys = c.make_vault(f"sqlite:///{home / 'vault.db'}")
    vault.clients.add(admin, keys, "Bench", directory_sync=True)
    # a burst is what is measured, not the quarantine's rail
    directory = c.add_ad_directory(vault, admin, keys, "Bench", facts, ou.dn, options={
        "push_cap": 1_000_000, "inbound_cap": 1_000_000, "inbound_cap_percent": 0})  # fmt: skip
    creds = []
    for dn, password in users:
        name = dn.split(",", 1)[0][3:]
        draft = make_draft(title=f"AD {name}", username=name, password=Secret(password),
                           sync_mode=SyncMode.TWO_WAY)  # fmt: skip
        creds.append(vault.credentials.add(admin, keys, "Bench", draft))
    started = time.perf_counter()
    report = asyncio.run(Engine(vault, keys, admin).run("bench-ad"))
    assert report.state == "done", report.message
    print(f"linked {len(creds)} credentials in {time.perf_counter() - started:.1f} s")
    key = vault.capture.key(admin, "bench-ad", keys)
    started = time.perf_counter()
    SambaDC().capture(key.public_key)
    print(f"capture key on the DC (restart) in {time.perf_counter() - started:.1f} s")
    ou.admin.close()
    ou.admin = SambaAdmin(facts)
    enrolment = vault.capture.enroll(admin, "bench-ad", "dc1")
    server = Server(create_app(ServerState(vault, keys)))
    guids = {dn: ou.admin.guid(dn) for dn, _ in users}
    world = World(ou, vault, admin, keys, directory.id, users, guids, creds, server,
                  enrolment.token.reveal(), home)  # fmt: skip
    started = time.perf_counter()
    world.drain_forwarder()
    print(f"forwarder's first pass (every account of the domain) in "
          f"{time.perf_counter() - started:.1f} s")  # fmt: skip
    return world


def baseline_state(world: World) -> Spool:
    """A syncpasswords cache of its own whose script does nothing, past its first pass."""
    spool = Spool(world.home / "baseline-state")
    spool.prepare()
    spool.hook.write_text(DO_NOTHING)
    initialise(spool, world.ou.facts.smb_conf)
    sync_once(spool, world.ou.facts.smb_conf)
    return spool


class BareHandover:
    """``samba-tool user syncpasswords`` alone in its waiting loop, its script appending each
    object's LDIF to a file: how long Samba itself takes to hand a change over, with the same
    attributes as the forwarder's (the GPG blob included). The capture paths' bare baseline."""

    def __init__(self, world: World) -> None:
        spool = Spool(world.home / "bare-handover")
        spool.prepare()
        self.out = world.home / "bare-handover.ldif"
        self.out.touch()
        spool.hook.write_text(RECORD.format(path=shlex.quote(str(self.out))))
        smb_conf = world.ou.facts.smb_conf
        initialise(spool, smb_conf)
        sync_once(spool, smb_conf)  # its first pass (every account of the domain) behind us
        self._seen = self.out.stat().st_size
        with open(world.home / "bare-handover.log", "ab") as log:
            self.proc = subprocess.Popen(
                [samba_tool(), "user", "syncpasswords", f"--cache-ldb={spool.cache}", "-s",
                 str(smb_conf)],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log,
            )  # fmt: skip
        time.sleep(3)  # Samba's loop mode sleeps a second before it connects

    def wait_for(self, name: str, start: float, timeout: float = 30.0) -> float:
        """Seconds from ``start`` (perf_counter) until the object ``name`` (sAMAccountName)
        was handed to the script after the last call; polled every 2 ms (as the product's
        ledger is)."""
        needle = f"\nsAMAccountName: {name}\n".encode()
        while True:
            with open(self.out, "rb") as fh:
                fh.seek(self._seen)
                data = fh.read()
            at = data.find(needle)
            if at >= 0:
                self._seen += at + len(needle)
                return time.perf_counter() - start
            if time.perf_counter() - start > timeout:
                raise SystemExit(f"syncpasswords did not hand {name!r} over within {timeout} s")
            time.sleep(0.002)

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def bare_handovers(world: World, admin: Any, changes: int, last: dict[str, str]) -> list[float]:
    """``changes`` resets one after another, each timed until bare syncpasswords hands it over
    (:class:`BareHandover`); ``last`` gets each account's new password."""
    bare = BareHandover(world)
    try:
        samples = []
        for n in range(changes):
            dn = world.users[n % len(world.users)][0]
            start = time.perf_counter()
            last[dn] = reset(admin, dn)
            samples.append(bare.wait_for(dn.split(",", 1)[0][3:], start))
        return samples
    finally:
        bare.close()


def new_password() -> str:
    return f"Capt-{uuid.uuid4().hex[:12]}-7!"


def reset(admin: Any, dn: str) -> str:
    """Set a new password on ``dn`` as the DC's administrator (over ``admin``, a bare ldap3
    connection) and return it."""
    password = new_password()
    ok = admin.modify(dn, {"unicodePwd": [(MODIFY_REPLACE, [adc.quoted(password)])]})
    assert ok, admin.result
    return password


def run(accounts: int, verdicts: c.Verdicts, measure: Callable[[World, Any], None]) -> int:
    """Acquire the shared DC, build a world of ``accounts`` linked credentials in a temporary
    home, ``measure(world, admin)`` (``admin``: a bare ldap3 connection as the administrator),
    and tear it all down whatever happens; a deadline is a failed verdict. The verdicts'
    report is the exit status."""
    dc = SambaDC()
    facts = dc.acquire()
    world = None
    try:
        with tempfile.TemporaryDirectory() as tmp:
            world = build(facts, accounts, Path(tmp))
            measure(world, adc.bare_connection(facts, facts.admin_upn, facts.admin_password))
            world.close()
            world = None
    except c.Deadline as err:
        verdicts.check(False, str(err))
    finally:
        if world is not None:
            world.close()
        dc.release()
    return verdicts.report()
