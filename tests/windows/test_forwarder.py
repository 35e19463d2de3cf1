"""The forwarder (windows/forwarder, under Wine) between the filter's spool and a real server:
the app served over HTTPS by uvicorn in the test's process, for the tests that stop it, start
it again or serve a second, untrusted one (its CA added to the Wine prefix's machine Root
store, as an operator's CA would be on a DC), the account read by LDAPS from this test's OU on
the shared Samba DC (read only), batches signed as an enrolled forwarder. The end-to-end test
against the ``credsync serve`` command itself is in test_forwarder_serve.py."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from credsync.api.state import ServerState
from credsync.server.app import create_app
from credsync.testing.samba import OuWorld
from credsync.types import SyncMode
from intake.conftest import CaptureWorld, build_capture_world
from server_thread import ServerThread
from vault.helpers import VaultWorld

from .conftest import ROOT, Wine, windows_path
from .test_filter_dll import notify, scan
from .test_filter_to_vault import sid_text

pytestmark = [pytest.mark.xdist_group("wine"), pytest.mark.samba]


def _tls_files(base: Path) -> tuple[Path, Path, Path]:
    """A throwaway CA (DER, for the prefix's Root store) and a server certificate for
    localhost signed by it (PEM chain and key, for uvicorn)."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "credsync windows-test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    (base / "ca.der").write_bytes(ca.public_bytes(serialization.Encoding.DER))
    (base / "server.pem").write_bytes(cert.public_bytes(pem) + ca.public_bytes(pem))
    (base / "server.key").write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return base / "ca.der", base / "server.pem", base / "server.key"


@dataclass
class World:
    wine: Wine
    cw: CaptureWorld
    server: ServerThread | None  # the in-process server; None: a ``credsync serve`` process
    spool: Path
    config: Path
    base: Path
    settings: list[str]

    def notify(self, lines: list[str]) -> None:
        script = self.base / "notify.txt"
        script.write_text("\n".join([*lines, "drain 30000"]) + "\n", encoding="ascii")
        recipient = self.cw.http.get(
            f"/api/v1/directories/{self.cw.sw.directory}/capture/key"
        ).json()["x25519_public_hex"]
        out = self.wine.run(
            self.wine.bin_dir / "harness.exe",
            windows_path(self.wine.dll),
            windows_path(self.spool),
            recipient,
            "EXAMPLE",
            "100000",
            windows_path(script),
        )
        assert "drain ok" in out

    def forward(self, *, expect_ok: bool = True, event_log: bool = False) -> str:
        """One ``--once`` pass; its stdout. With ``event_log``, its stderr too, with what it
        reported through ReportEventW: Wine writes an event's strings to its ``eventlog``
        debug channel (``err:eventlog`` for errors, ``warn:eventlog`` for warnings)."""
        exe = self.wine.bin_dir / "credsync-forwarder.exe"
        env = {"WINEDEBUG": "-all,err+eventlog,warn+eventlog"} if event_log else None
        if expect_ok:
            return self.wine.run(
                exe, windows_path(self.config), "--once", timeout=180, stderr=event_log, env=env
            )
        with pytest.raises(AssertionError, match="exited 3") as exc:
            self.wine.run(exe, windows_path(self.config), "--once", timeout=180)
        return str(exc.value)

    def configure(self, **extra: object) -> None:
        """The forwarder's configuration file, with ``extra`` settings added."""
        lines = [*self.settings, *(f"{name}={value}" for name, value in extra.items())]
        self.config.write_text("\n".join(lines) + "\n", encoding="utf-8")

    def linked_user(self, password: str) -> tuple[Any, Any, str]:
        """A linked two-way credential whose account's password was just reset in AD to
        ``password``; the notify line the DC's LSA would give the filter for it."""
        ad = self.cw.sw.ad
        user = ad.create_user()
        cred = self.cw.sw.add(user, mode=SyncMode.TWO_WAY)
        assert self.cw.sw.run().state == "done"
        ad.admin.reset_password(user.dn, password)
        ad.admin.conn.search(user.dn, "(objectClass=*)", "BASE", attributes=["objectSid"])
        sid = sid_text(ad.admin.conn.response[0]["raw_attributes"]["objectSid"][0])
        return user, cred, notify(int(sid.rsplit("-", 1)[1]), user.name, password)

    def versions(self, cred: Any) -> list[tuple[int, str]]:
        history = self.cw.sw.vault.credentials.history(self.cw.sw.admin, None, cred.id)
        return sorted((h.version, h.source) for h in history)


def forwarder_settings(port: int, forwarder: Any, spool: Path, ad_ou: OuWorld) -> list[str]:
    """forwarder.conf's lines for ``forwarder`` (enrolled) sending to localhost:``port``,
    reading its directory facts from the test DC's ``ad_ou``."""
    facts = ad_ou.facts
    return [
        "server_host=localhost",
        f"server_port={port}",
        f"forwarder_id={forwarder.forwarder_id}",
        f"token={forwarder.token}",
        f"spool={windows_path(spool)}",
        f"ldap_host={facts.host}",
        "ldap_port=636",
        f"ldap_bind_dn={facts.admin_dn}",
        f"ldap_bind_password={facts.admin_password}",
        f"base_dn={ad_ou.dn}",
        "dc=dc1",
    ]


@pytest.fixture
def fw(wine: Wine, sqlite_world: VaultWorld, ad_ou: OuWorld, tmp_path: Path) -> Iterator[World]:
    cw = build_capture_world(sqlite_world, ad_ou)
    ca, cert, key = _tls_files(tmp_path)
    assert "trusted" in wine.run(wine.bin_dir / "trustca.exe", windows_path(ca))
    server = ServerThread(
        create_app(ServerState(sqlite_world.vault, sqlite_world.keys)), cert=cert, key=key
    )
    server.start()
    forwarder = cw.enroll(name="windows-dc1")
    spool = tmp_path / "spool"
    settings = forwarder_settings(server.port, forwarder, spool, ad_ou)
    world = World(wine, cw, server, spool, tmp_path / "forwarder.conf", tmp_path, settings)
    world.configure()
    try:
        yield world
    finally:
        server.stop()


def test_server_down_then_up_nothing_lost_nothing_twice(fw: World) -> None:
    first, second = "Down-Then-Up-1!", "Down-Then-Up-2!"
    _, cred1, line1 = fw.linked_user(first)
    _, cred2, line2 = fw.linked_user(second)
    server = fw.server
    assert server is not None
    server.stop()
    fw.notify([line1, line2])
    refused = fw.forward(expect_ok=False)
    assert "not delivered" in refused
    assert len(list(fw.spool.glob("*.cap"))) == 2  # kept while the server is down
    server.start()
    out = fw.forward()
    assert "sent 2 events" in out
    assert (fw.cw.sw.reveal(cred1), fw.cw.sw.reveal(cred2)) == (first, second)
    assert fw.versions(cred1) == fw.versions(cred2) == [(1, "created"), (2, "directory")]
    assert not list(fw.spool.glob("*.cap"))
    scan(list(fw.spool.iterdir()), [refused, out], [first, second])


def test_a_burst_of_1000_notifications_is_delivered_in_one_batch(fw: World) -> None:
    password = "Burst-Through-Forwarder-3!"
    _, cred, line = fw.linked_user(password)
    fw.notify([line.rsplit(" ", 1)[0] + " 1000"])  # the same notification 1,000 times
    assert len(list(fw.spool.glob("*.cap"))) == 1000
    out = fw.forward()
    assert "sent 1000 events seq 1" in out
    assert not list(fw.spool.glob("*.cap"))
    # one change of one account notified 1,000 times: one new version, the rest duplicates
    assert fw.cw.sw.reveal(cred) == password
    assert fw.versions(cred) == [(1, "created"), (2, "directory")]


def test_the_running_forwarder_delivers_a_change_as_soon_as_it_is_spooled(fw: World) -> None:
    """The loop (console mode; the service runs the same loop): woken by the spool
    directory's change notification, not by a timer. Prints how long notify -> new version took (not
    asserted: timings are the benchmark's business)."""
    import subprocess

    password = "Running-Forwarder-5!"
    _, cred, line = fw.linked_user(password)
    fw.spool.mkdir(exist_ok=True)
    log = fw.base / "forwarder.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            ["wine", str(fw.wine.bin_dir / "credsync-forwarder.exe"), windows_path(fw.config)],
            env=fw.wine.env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60  # its LDAPS bind made, its first (empty) pass done
        while "started: waiting for spooled changes" not in log.read_text(errors="replace"):
            assert proc.poll() is None, log.read_text(errors="replace")
            assert time.monotonic() < deadline, "the forwarder did not start within 60 s"
            time.sleep(0.02)
        started = time.monotonic()
        fw.notify([line])
        spooled = time.monotonic()
        while fw.cw.sw.reveal(cred) != password:
            assert proc.poll() is None, log.read_text(errors="replace")
            assert time.monotonic() - started < 30, "not delivered within 30 s"
            time.sleep(0.02)
        done = time.monotonic()
        while "sent 1 events seq 1" not in log.read_text(errors="replace"):  # printed after
            assert time.monotonic() - done < 15, "the forwarder did not report its batch"
            time.sleep(0.02)
        print(
            f"a harness process notifying: {spooled - started:.2f} s, "
            f"spooled -> new version: {done - spooled:.2f} s"
        )
    finally:
        proc.kill()
        proc.wait(timeout=30)
    assert fw.versions(cred) == [(1, "created"), (2, "directory")]
    scan([log, *fw.spool.iterdir()], [], [password])


def test_a_record_of_an_account_gone_from_the_directory_is_moved_to_rejected(fw: World) -> None:
    """Deleted from the directory after its change: the record can never be delivered. Young,
    it waits (``reject_after``, 300 s by default); older, it is moved, unchanged (ciphertext
    only), to the spool's ``rejected`` folder, with a count in the event log. So is a file
    that is not a record. What can be delivered still is."""
    password, gone_password = "Still-Here-8!", "Gone-Away-8!"
    _, cred, line = fw.linked_user(password)
    ad = fw.cw.sw.ad
    gone = ad.create_user()
    ad.admin.conn.search(gone.dn, "(objectClass=*)", "BASE", attributes=["objectSid"])
    gone_rid = int(
        sid_text(ad.admin.conn.response[0]["raw_attributes"]["objectSid"][0]).rsplit("-", 1)[1]
    )
    fw.notify([line, notify(gone_rid, gone.name, gone_password)])
    ad.admin.delete(gone.dn)  # gone before the forwarder reads it
    junk = fw.spool / "0-junk.cap"
    junk.write_bytes(b"not a record\n")
    (orphan,) = [
        p for p in fw.spool.glob("*.cap") if p != junk and gone.name.encode() in p.read_bytes()
    ]
    kept = {orphan.name: orphan.read_bytes(), junk.name: junk.read_bytes()}

    first = fw.forward(event_log=True)  # reject_after 300: the orphan is young, it waits
    assert "sent 1 events seq 1" in first
    assert fw.cw.sw.reveal(cred) == password
    assert orphan.exists()
    assert not junk.exists()  # not a record: moved at once
    assert "1 spool records moved to the spool's rejected folder (1 not records" in first

    fw.configure(reject_after=0)
    second = fw.forward(event_log=True)
    assert "sent" not in second  # nothing else to send, nothing sent twice
    assert "warn:eventlog" in second  # through ReportEventW
    assert "1 spool records moved to the spool's rejected folder (0 not records" in second
    rejected = fw.spool / "rejected"
    assert {p.name: p.read_bytes() for p in rejected.iterdir()} == kept  # nothing changed or lost
    assert not list(fw.spool.glob("*.cap"))
    assert "sent" not in fw.forward()  # and it stays out of the passes
    assert fw.versions(cred) == [(1, "created"), (2, "directory")]
    scan(
        [p for p in fw.spool.rglob("*") if p.is_file()], [first, second], [password, gone_password]
    )


def test_the_servers_certificate_is_always_verified(
    fw: World, sqlite_world: VaultWorld, tmp_path: Path
) -> None:
    """A server whose certificate a CA the machine does not trust signed, and the trusted
    server reached by a name its certificate does not carry: nothing is sent, the record stays;
    the same record goes to the right server afterwards. No setting turns the check off."""
    password = "Verified-Certificate-6!"
    _, cred, line = fw.linked_user(password)
    fw.notify([line])
    (record,) = fw.spool.glob("*.cap")
    kept = record.read_bytes()
    untrusted_dir = tmp_path / "untrusted"
    untrusted_dir.mkdir()
    _, cert, key = _tls_files(untrusted_dir)  # its CA never added to the prefix's Root store
    untrusted = ServerThread(
        create_app(ServerState(sqlite_world.vault, sqlite_world.keys)), cert=cert, key=key
    )
    untrusted.start()
    try:
        fw.configure(server_port=untrusted.port)
        refused = fw.forward(expect_ok=False)
    finally:
        untrusted.stop(drop_connections=True)
    assert "not delivered (HTTP status 0)" in refused  # no answer: the handshake was refused
    fw.configure(server_host="127.0.0.1")  # the trusted server; its certificate says localhost
    wrong_name = fw.forward(expect_ok=False)
    assert "not delivered (HTTP status 0)" in wrong_name
    assert record.read_bytes() == kept
    assert fw.cw.sw.reveal(cred) != password
    fw.configure()  # localhost, the trusted server
    delivered = fw.forward()
    assert "sent 1 events seq 1" in delivered  # nothing had reached a server before
    assert fw.cw.sw.reveal(cred) == password
    scan(list(fw.spool.iterdir()), [refused, wrong_name, delivered], [password])
    source = "".join(
        p.read_text() for p in (ROOT / "windows" / "forwarder").glob("*.c")
    )  # no switch that turns the check off
    for off in ("SECURITY_FLAG_IGNORE", "WINHTTP_OPTION_SECURITY_FLAGS", "insecure", "verify="):
        assert off not in source.replace("no WINHTTP_OPTION_SECURITY_FLAGS anywhere", "")
