"""Scenario 3: the vault's database going away under writes: PostgreSQL restarted mid-run
(a server of the test's own, stopped with ``pg_ctl stop -m fast`` and started again), the
SQLite file's disk full (a small tmpfs filled up), the SQLite file read-only (that tmpfs
remounted read-only: the tests run as root, whom chmod does not stop). Each writes password
changes through the vault's service (what every surface calls) while the fault comes and
goes. A write refused while the database is away must say why (a StorageError naming the
database and its own message); every change that was acknowledged must be there at the end
(``lost``: a credential whose secret is not its last acknowledged one), and none twice
(``duplicates``: secret versions beyond the acknowledged changes). Mounting needs root: where
it is impossible the test fails, it never skips."""

from __future__ import annotations

import contextlib
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from credsync.errors import CredsyncError, StorageError
from credsync.testing.postgres import TempPostgres
from credsync.types import Secret
from credsync.vault.drafts import make_draft
from vault.helpers import VaultWorld, make_world

from .figures import Figure, Stopwatch, record

CREDS = 20


class Writer:
    """Password changes of CREDS credentials, one after another, remembering what was
    acknowledged and what was refused (and why)."""

    def __init__(self, world: VaultWorld) -> None:
        self.world = world
        self.client = f"Client {uuid.uuid4().hex[:8]}"
        vault, admin, keys = world.vault, world.admin, world.keys
        vault.clients.add(admin, keys, self.client)
        self.creds = [
            vault.credentials.add(
                admin, keys, self.client,
                make_draft(title=f"c{n}", username=f"u{n}", password=Secret(f"Start-{n}-Pw9!")),
            ).id
            for n in range(CREDS)
        ]  # fmt: skip
        self.acked = {c: 1 for c in self.creds}  # acknowledged changes (the first version)
        self.newest = {c: f"Start-{n}-Pw9!" for n, c in enumerate(self.creds)}
        self.attempted = 0
        self.errors: list[str] = []
        self.step = 0

    def write(self) -> bool:
        n = self.step % CREDS
        cred = self.creds[n]
        password = f"Chaos-Db-{self.step}-Pw9!"
        self.step += 1
        self.attempted += 1
        try:
            self.world.vault.credentials.set_password(
                self.world.admin, self.world.keys, cred, Secret(password)
            )
        except CredsyncError as err:
            self.errors.append(f"{type(err).__name__}: {err}")
            return False
        self.acked[cred] += 1
        self.newest[cred] = password
        return True

    def until_refused(self, limit: int = 500) -> None:
        for _ in range(limit):
            if not self.write():
                return
        pytest.fail(f"no write was refused in {limit} tries")

    def until_accepted(self, limit: float = 60.0) -> float:
        clock = Stopwatch()
        while not self.write():
            if clock.seconds() > limit:
                pytest.fail(f"writes never came back: {self.errors[-1]}")
            time.sleep(0.05)
        return clock.seconds()

    def figure(self, scenario: str, recover: float) -> Figure:
        vault, admin, keys = self.world.vault, self.world.admin, self.world.keys
        lost = 0
        duplicates = 0
        for cred in self.creds:
            if vault.credentials.reveal(admin, keys, cred).password.reveal() != self.newest[cred]:
                lost += 1
            version = vault.credentials.get(admin, cred).secret_version
            duplicates += max(0, version - self.acked[cred])
            lost += max(0, self.acked[cred] - version)
        refused = sorted({e.split(": ", 1)[1][:160] for e in self.errors})
        return Figure(
            scenario,
            operations=self.attempted,
            lost=lost,
            duplicates=duplicates,
            recover_seconds=recover,
            detail=f"{len(self.errors)} writes refused: {refused[0]!r}" if refused else "",
        )


def _storage_errors(writer: Writer) -> None:
    assert writer.errors, "nothing was refused"
    assert all(
        e.startswith(f"{StorageError.__name__}: database error at ") for e in writer.errors
    ), writer.errors[:3]


def test_postgresql_restarted_mid_run(tmp_path: Path) -> None:
    server = TempPostgres()
    server.start()
    try:
        url = server.create_database("chaos")
        world = make_world(url)
        try:
            writer = Writer(world)
            for _ in range(100):
                assert writer.write(), writer.errors
            server.halt()
            writer.until_refused()
            for _ in range(20):  # more writes while it is down: each refused, clearly
                assert not writer.write()
            server.resume()
            recover = writer.until_accepted()
            for _ in range(100):
                assert writer.write(), writer.errors[-1:]
            figure = writer.figure("PostgreSQL restarted mid-run", recover)
        finally:
            world.db.dispose()
    finally:
        server.stop()
    record(figure)
    _storage_errors(writer)
    assert figure.lost == 0
    assert figure.duplicates == 0


def _mount(*args: str) -> None:
    done = subprocess.run(["mount", *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.fail(f"mount {' '.join(args)} failed (the chaos tests need root): {done.stderr}")


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 32 MiB tmpfs of the test's own, unmounted afterwards."""
    where = tmp_path / "disk"
    where.mkdir()
    _mount("-t", "tmpfs", "-o", "size=32m,mode=0700", "tmpfs", str(where))
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def _sqlite_world(disk: Path, schema_templates: Any) -> VaultWorld:
    return make_world(schema_templates.sqlite(disk / "vault.db"))


def _read_only(world: VaultWorld, disk: Path) -> None:
    """The file system remounted read-only. Linux refuses that while a file on it is open
    for writing (EBUSY), so the vault's pooled connections are closed first, as a process
    that starts after the disk went read-only finds it."""
    world.db.dispose()
    _mount("-o", "remount,ro", str(disk))


def _fill(disk: Path) -> Path:
    filler = disk / "filler"
    with filler.open("wb") as out, contextlib.suppress(OSError):
        while True:
            out.write(b"\0" * 65536)
            out.flush()
    return filler


def _exercise(
    disk: Path,
    schema_templates: Any,
    scenario: str,
    fault: Callable[[VaultWorld], Any],
    mend: Callable[[Any], None],
) -> tuple[Figure, Writer]:
    world = _sqlite_world(disk, schema_templates)
    try:
        writer = Writer(world)
        for _ in range(100):
            assert writer.write(), writer.errors
        token = fault(world)
        writer.until_refused()
        for _ in range(20):
            assert not writer.write()
        mend(token)
        recover = writer.until_accepted()
        for _ in range(100):
            assert writer.write(), writer.errors[-1:]
        return writer.figure(scenario, recover), writer
    finally:
        world.db.dispose()


def test_sqlite_disk_full(small_disk: Path, schema_templates: Any) -> None:
    figure, writer = _exercise(
        small_disk, schema_templates, "SQLite disk full (32 MiB tmpfs)",
        lambda _: _fill(small_disk), lambda filler: filler.unlink(),
    )  # fmt: skip
    record(figure)
    _storage_errors(writer)
    assert any("full" in e for e in writer.errors), writer.errors[:3]
    assert figure.lost == 0
    assert figure.duplicates == 0


def test_sqlite_file_read_only(small_disk: Path, schema_templates: Any) -> None:
    figure, writer = _exercise(
        small_disk, schema_templates, "SQLite database read-only (remount ro)",
        lambda world: _read_only(world, small_disk),
        lambda _: _mount("-o", "remount,rw", str(small_disk)),
    )  # fmt: skip
    record(figure)
    _storage_errors(writer)
    assert all("vault.db is read-only" in e for e in writer.errors), writer.errors[:3]
    assert figure.lost == 0
    assert figure.duplicates == 0
