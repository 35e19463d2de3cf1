"""The forwarder (windows/forwarder, under Wine, console test mode) against the real
``credsync serve`` command: a process of its own over HTTPS with a test CA's certificate
(``--tls-cert``/``--tls-key``; the CA in the Wine prefix's machine Root store), on a SQLite
vault. One server and one vault for the module; each test has a client whose directory is an
OU of its own on the shared Samba AD DC (read only) and a forwarder of its own (its own
sequence). Not one directory for the module: the intake's inbound threshold counts a
directory's captured changes over five minutes (from 5 changes on, a share of its links),
and the tests' changes together would cross it."""

from __future__ import annotations

import os
import shutil
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from credsync.testing.samba import OuWorld
from intake.conftest import build_capture_world
from server_thread import free_port
from vault.helpers import ADMIN_PASSWORD, PASSPHRASE, VaultWorld, make_world

from .conftest import Wine, windows_path
from .test_filter_dll import scan
from .test_forwarder import World, _tls_files, forwarder_settings

pytestmark = [pytest.mark.xdist_group("wine"), pytest.mark.samba]

START_TIMEOUT = 90  # seconds for ``credsync serve`` to answer /healthz (imports, under load)


@dataclass
class Served:
    """``credsync serve`` on 127.0.0.1:``port`` (HTTPS, its certificate names localhost)."""

    wine: Wine
    vault: VaultWorld
    port: int
    proc: subprocess.Popen[bytes]
    log: Path

    def __repr__(self) -> str:
        return f"Served(port={self.port})"


@pytest.fixture(scope="module")
def served(
    wine: Wine,
    schema_templates: Any,  # tests/conftest.py's SchemaTemplates
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Served]:
    base = tmp_path_factory.mktemp("serve")
    vault = make_world(schema_templates.sqlite(base / "vault.db"))
    proc: subprocess.Popen[bytes] | None = None
    try:
        ca, cert, key = _tls_files(base)
        assert "trusted" in wine.run(wine.bin_dir / "trustca.exe", windows_path(ca))
        home = base / "home"
        home.mkdir(mode=0o700)
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("CREDSYNC_")},
            "CREDSYNC_HOME": str(home),
            "CREDSYNC_DATABASE_URL": vault.url,
            "CREDSYNC_PASSPHRASE": PASSPHRASE,
            "CREDSYNC_OPERATOR": "alice",
            "CREDSYNC_OPERATOR_PASSWORD": ADMIN_PASSWORD,
            "PYTHONUNBUFFERED": "1",
        }
        port = free_port()
        log = base / "serve.log"
        with log.open("wb") as out:
            # --no-agent: nothing but the forwarder's batches reaches this server
            proc = subprocess.Popen(
                [sys.executable, "-m", "credsync", "serve", "--port", str(port), "--no-agent",
                 "--tls-cert", str(cert), "--tls-key", str(key)],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        trust = ssl.create_default_context(cadata=ca.read_bytes())
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            assert proc.poll() is None, f"credsync serve exited: {log.read_text()[-4000:]}"
            try:
                health = httpx.get(f"https://localhost:{port}/healthz", verify=trust, timeout=5)
                if health.is_success:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, f"no answer in {START_TIMEOUT} s: {log.read_text()}"
            time.sleep(0.2)
        yield Served(wine, vault, port, proc, log)
    finally:
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=30)
        vault.db.dispose()


@pytest.fixture
def fws(served: Served, ad_ou: OuWorld, tmp_path: Path) -> World:
    """This test's client and directory (its own OU), a forwarder of its own (enrolled now:
    its sequence starts at 1) with its own spool, sending to the module's ``credsync serve``."""
    cw = build_capture_world(served.vault, ad_ou)
    forwarder = cw.enroll(name="windows-dc1")
    settings = forwarder_settings(served.port, forwarder, tmp_path / "spool", ad_ou)
    world = World(
        served.wine, cw, None, tmp_path / "spool", tmp_path / "forwarder.conf", tmp_path,
        settings,
    )  # fmt: skip
    world.configure()
    return world


def test_a_notified_change_reaches_the_vault_through_the_forwarder(
    fws: World, served: Served
) -> None:
    """The DLL notified -> the forwarder (console test mode, ``--once``) -> ``credsync serve``
    -> the vault holds the new password as a new version of the linked credential."""
    password = "Fórwarded-Pässwörd-9!"
    _, cred, line = fws.linked_user(password)
    fws.notify([line])
    assert len(list(fws.spool.glob("*.cap"))) == 1
    out = fws.forward()
    assert "sent 1 events seq 1" in out
    assert fws.cw.sw.reveal(cred) == password
    assert fws.versions(cred) == [(1, "created"), (2, "directory")]
    assert not list(fws.spool.glob("*.cap"))  # deleted after the server's answer
    assert "sent" not in fws.forward()  # nothing left to send
    assert served.proc.poll() is None
    scan([*fws.spool.iterdir(), served.log], [out], [password])


def test_a_forwarder_whose_sequence_was_rolled_back_resumes_after_the_servers(
    fws: World, served: Served
) -> None:
    """The spool restored from a backup after the server accepted more (as after a reinstall
    from an image): the sequence file says 1 where the server's last is 2, and an accepted
    record is back. The forwarder's first batch (seq 2) gets 409 ``capture_sequence`` with
    the server's ``last_seq``; it sends again after it (seq 3), at once. Nothing is lost (the
    new change arrives), nothing counts twice (the record sent again is a duplicate: no new
    version)."""
    first, second, third = "Rolled-Back-1!", "Rolled-Back-2!", "Rolled-Back-3!"
    forwarder_id = next(s for s in fws.settings if s.startswith("forwarder_id=")).split("=", 1)[1]
    _, cred1, line1 = fws.linked_user(first)
    _, cred2, line2 = fws.linked_user(second)
    _, cred3, line3 = fws.linked_user(third)
    fws.notify([line1])
    backup = fws.base / "backup"
    shutil.copytree(fws.spool, backup)  # the first record, not sent yet
    sent1 = fws.forward()
    assert "sent 1 events seq 1" in sent1
    shutil.copy2(fws.spool / "forwarder.seq", backup / "forwarder.seq")  # "1"
    fws.notify([line2])
    sent2 = fws.forward()
    assert "sent 1 events seq 2" in sent2
    assert (fws.spool / "forwarder.seq").read_text().strip() == "2"

    # the backup comes back: the sequence at 1, the first record again; then a new change
    shutil.rmtree(fws.spool)
    shutil.copytree(backup, fws.spool)
    assert (fws.spool / "forwarder.seq").read_text().strip() == "1"
    assert len(list(fws.spool.glob("*.cap"))) == 1
    fws.notify([line3])
    resumed = fws.forward()
    assert "sent 2 events seq 3" in resumed  # seq 2 refused (409), sent again as 3
    assert "not delivered" not in resumed
    assert (fws.spool / "forwarder.seq").read_text().strip() == "3"
    # the server's side: that one refusal, audited as a sequence refusal of seq 2
    audit = fws.cw.sw.vault.audit
    refusals = audit.list(fws.cw.sw.admin, action="capture.denied", target_id=forwarder_id)
    details = [entry.to_json()["details"] for entry in refusals]
    assert [(d["check"], d["seq"]) for d in details] == [("seq", 2)]  # type: ignore[index]
    assert not list(fws.spool.glob("*.cap"))
    assert [fws.cw.sw.reveal(c) for c in (cred1, cred2, cred3)] == [first, second, third]
    for cred in (cred1, cred2, cred3):
        assert fws.versions(cred) == [(1, "created"), (2, "directory")]
    assert "sent" not in fws.forward()  # and nothing is left

    # the sequence file gone altogether (a fresh install on the same spool): seq 1 refused,
    # the change sent after the server's last (seq 4), once
    fourth = "Rolled-Back-4!"
    _, cred4, line4 = fws.linked_user(fourth)
    (fws.spool / "forwarder.seq").unlink()
    fws.notify([line4])
    fresh = fws.forward()
    assert "sent 1 events seq 4" in fresh
    assert fws.cw.sw.reveal(cred4) == fourth
    assert fws.versions(cred4) == [(1, "created"), (2, "directory")]
    assert served.proc.poll() is None
    scan(
        [*fws.spool.iterdir(), *backup.iterdir(), served.log],
        [sent1, sent2, resumed, fresh],
        [first, second, third, fourth],
    )
