"""Shared fixtures: a real PostgreSQL server for the session, vaults on SQLite and PostgreSQL,
a CLI runner working on a throwaway CREDSYNC_HOME, the Samba AD DC with an OU per test, and an
OpenLDAP server of the session's own with an OU per test."""

from __future__ import annotations

import functools
import itertools
import os
import shutil
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from _pytest.nodeid import NodeId
from argon2 import PasswordHasher

from credsync.crypto import KdfParams, hashing
from credsync.storage import Database
from credsync.testing.postgres import PostgresUnavailable, TempPostgres
from credsync.testing.rwlock import FileRWLock
from credsync.testing.samba import OuWorld, SambaDC, SambaFacts, SambaUnavailable
from credsync.testing.samba_standalone import (
    LocalMachine,
    StandaloneFacts,
    StandaloneServer,
    StandaloneUnavailable,
)
from credsync.testing.slapd import LdapOu, SlapdFacts, SlapdServer, SlapdUnavailable
from credsync.testing.smtp import MailTrap
from credsync.types import Secret
from credsync.vault import Actor, KeyRing, Vault
from secret_output import pytest_assertrepr_compare  # noqa: F401  (a hook: see the module)

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
PASSPHRASE = "correct horse battery staple"
ADMIN_PASSWORD = "admin-password-1234"
# Tests use a cheap Argon2id setting (8 MiB, 1 pass) so that each test's vault opens fast;
# the product's default (64 MiB, 3 passes, 4 lanes) is checked in test_crypto.py.
FAST_KDF = {"time_cost": 1, "memory_kib": 8192, "parallelism": 1}


def fast_kdf() -> KdfParams:
    return KdfParams.new(**FAST_KDF)


# Operator password hashes made in this process use the same cheap setting (the product's
# PasswordHasher, t=3, 64 MiB, p=4, costs ~0.15 s per hash and per sign-in, and most tests sign
# operators in): a hash carries its parameters, so whoever verifies it later (this process or a
# ``credsync`` subprocess) pays what it says. The product's setting is checked in
# test_crypto.py with the ``product_password_hasher`` fixture.
_PRODUCT_HASHER: list[PasswordHasher] = []


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("dist", "no") == "loadgroup":
        # The controller hands units out in the workers' collection order, which
        # ``_longest_first`` sets; xdist's own reorder (by number of tests) would undo it.
        config.option.loadscopereorder = False
        if not hasattr(config, "workerinput"):  # the controller
            config.pluginmanager.register(_WorkerClock(), "credsync-worker-clock")
    _PRODUCT_HASHER.append(hashing._HASHER)
    hashing._HASHER = PasswordHasher(
        time_cost=FAST_KDF["time_cost"],
        memory_cost=FAST_KDF["memory_kib"],
        parallelism=FAST_KDF["parallelism"],
    )
    hashing._dummy_hash.cache_clear()


# --- Running in parallel (pytest-xdist, ./scripts/test: -n 2 --dist loadgroup) -----------------
# Every fixture here is per process (a worker's own PostgreSQL and slapd servers on free ports,
# temporary directories under the worker's basetemp) except the machine's one Samba DC: each
# worker takes a lease on it (``samba_dc``), the first to come starts it if it is down, the last
# to leave stops it if one of them started it (scripts/samba-dc acquire/release). The capture
# tests restart it (two-way capture's key): they share one session fixture (``capture_env``), so
# they all run on one worker (xdist group "samba-capture"), and the restart waits for the DC's
# users lock (``SambaDC.users_lock``) that every test touching the DC holds shared. The tests of
# a module with a module- or class-scoped fixture run on one worker too, in the file's order.
_USES_DC = pytest.StashKey[bool]()


def pytest_itemcollected(item: pytest.Item) -> None:
    # Here, not in pytest_collection_modifyitems: xdist's worker reads the groups there.
    names = getattr(item, "fixturenames", ())
    if "capture_env" in names:
        item.add_marker(pytest.mark.xdist_group("samba-capture"))
    elif _module_scoped(item):
        # Tests sharing a module's (or class's) fixture run on one worker, in order: it is
        # built once, and tests that build on each other's changes to it (tests/cli's parity
        # rows over one pair of vaults) see them.
        item.add_marker(pytest.mark.xdist_group(f"module:{item.nodeid.split('::')[0]}"))


@pytest.hookimpl(trylast=True)  # after -k, --deselect and xdist's own hook
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    def names(item: pytest.Item) -> Any:
        return getattr(item, "fixturenames", ())

    if getattr(config.option, "loadgroup", False):  # an xdist worker, --dist loadgroup
        _name_groups(items)
        items[:] = _longest_first(items)

    # A module whose tests use the DC may set up or tear down a module fixture on it in any of
    # its tests: all of them hold the lock. The capture tests hold none: they restart the DC.
    on_dc = {item.path for item in items if "samba_dc" in names(item)}
    for item in items:
        item.stash[_USES_DC] = item.path in on_dc and "capture_env" not in names(item)


def _name_groups(items: list[pytest.Item]) -> None:
    """Give each grouped test the id xdist's scheduler groups by, ``<id>@<group>``. xdist 3.8
    sets it on ``item._nodeid``, which pytest 9 no longer reads (the id is ``item._id``), so
    with pytest 9 alone every group would be spread over the workers."""
    for item in items:
        groups = sorted(
            str(mark.args[0] if mark.args else mark.kwargs.get("name", "default"))
            for mark in item.iter_markers("xdist_group")
        )
        suffix = "@" + "_".join(dict.fromkeys(groups))
        if groups and not item.nodeid.endswith(suffix):
            item._id = NodeId.parse(item.nodeid + suffix)


def _scope(item: pytest.Item) -> str:
    """The unit xdist's loadgroup scheduler hands out: the group, or the test alone."""
    nodeid = item.nodeid
    return nodeid.split("@")[-1] if nodeid.rfind("@") > nodeid.rfind("]") else nodeid


def _longest_first(items: list[pytest.Item]) -> list[pytest.Item]:
    """The items in the order their work units should go out: the units holding a ``slow``
    test first, then the others by their number of tests (xdist's own order), each unit's
    tests in their order. The controller hands units out in this order
    (``pytest_configure``: ``--no-loadscope-reorder``), so a unit of minutes starts while
    the other worker still has the short ones to do, not last with the other worker idle.
    Among the slow units, those on the Samba DC alternate with the others: the DC answers
    from one busy process, so two of its heavy tests side by side mostly wait on each other
    while the other core idles; the first units go out one to each worker in turn. The
    others alternate the same way, and the two-way capture group goes out after the last
    other unit on the DC: its restart gives the DC a capture key, after which Samba encrypts
    every new password with gpg (each password write about twice as slow), and it waits for
    the DC tests in flight, which are short ones by then."""
    units: dict[str, list[pytest.Item]] = {}
    for item in items:
        units.setdefault(_scope(item), []).append(item)

    def slow(unit: list[pytest.Item]) -> bool:
        return any(item.get_closest_marker("slow") for item in unit)

    def on_dc(unit: list[pytest.Item]) -> bool:
        return any("samba_dc" in getattr(item, "fixturenames", ()) for item in unit)

    slow_units = [unit for unit in units.values() if slow(unit)]
    dc = [unit for unit in slow_units if on_dc(unit)]
    off_dc = [unit for unit in slow_units if not on_dc(unit)]
    first = _alternate(dc, off_dc)
    rest = sorted((unit for unit in units.values() if not slow(unit)), key=lambda u: -len(u))
    capture = [unit for unit in rest if any(_captures(item) for item in unit)]
    rest_dc = [unit for unit in rest if on_dc(unit) and unit not in capture]
    rest_off = [unit for unit in rest if not on_dc(unit)]
    last_dc = len(_alternate(rest_dc, rest_off[: len(rest_dc)]))
    rest = _alternate(rest_dc, rest_off)
    rest[last_dc:last_dc] = capture
    return [item for unit in [*first, *rest] for item in unit]


def _alternate(a: list[list[pytest.Item]], b: list[list[pytest.Item]]) -> list[list[pytest.Item]]:
    return [unit for pair in itertools.zip_longest(a, b) for unit in pair if unit]


def _captures(item: pytest.Item) -> bool:
    return "capture_env" in getattr(item, "fixturenames", ())


class _WorkerClock:
    """On the controller of a parallel run: how long each worker was busy with tests and when
    it reported its last one, printed at the end, so that a run's log shows whether one worker
    idled while the other finished (the units' order: ``_longest_first``)."""

    def __init__(self) -> None:
        self.start = time.monotonic()
        self.busy: dict[str, float] = {}
        self.tests: dict[str, int] = {}
        self.last: dict[str, float] = {}

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        node = getattr(report, "node", None)
        if node is None:
            return
        worker = str(node.gateway.id)
        self.busy[worker] = self.busy.get(worker, 0.0) + report.duration
        self.tests[worker] = self.tests.get(worker, 0) + (report.when == "call")
        self.last[worker] = time.monotonic() - self.start

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if not self.busy:
            return
        terminalreporter.section("workers")
        for worker in sorted(self.busy):
            terminalreporter.write_line(
                f"{worker}: {self.tests[worker]} tests, {self.busy[worker]:.0f} s in tests, "
                f"last one done {self.last[worker]:.0f} s after the start"
            )


def _module_scoped(item: pytest.Item) -> bool:
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return False
    return any(
        fixturedef.scope in ("package", "module", "class")
        for fixturedefs in info.name2fixturedefs.values()
        for fixturedef in fixturedefs
    )


@functools.cache
def _dc_users_lock() -> FileRWLock:
    return SambaDC().users_lock()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Any:
    if not item.stash.get(_USES_DC, False):
        return (yield)
    try:
        lock = _dc_users_lock()
    except SambaUnavailable:  # samba_dc fails the test with the reason
        return (yield)
    with lock.shared():
        return (yield)


@pytest.fixture
def product_password_hasher(monkeypatch: pytest.MonkeyPatch) -> Iterator[PasswordHasher]:
    """The product's operator password hasher, in place for this test."""
    [product] = _PRODUCT_HASHER
    monkeypatch.setattr(hashing, "_HASHER", product)
    hashing._dummy_hash.cache_clear()
    yield product
    hashing._dummy_hash.cache_clear()


@pytest.fixture(scope="session")
def pg_server() -> Iterator[TempPostgres]:
    try:
        server = TempPostgres()
    except PostgresUnavailable as err:
        if IN_CI:
            pytest.fail(f"PostgreSQL is required in CI: {err}")
        pytest.skip(str(err))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'vault.db'}"
        return
    server: TempPostgres = request.getfixturevalue("pg_server")
    name = f"t_{uuid.uuid4().hex[:12]}"
    url = server.create_database(name)
    try:
        yield url
    finally:
        server.drop_database(name)


class SchemaTemplates:
    """An empty database at the newest schema revision, one per backend, made on first use.
    A test's vault database starts as a copy of it (a file copy; PostgreSQL's ``CREATE
    DATABASE ... TEMPLATE``), so Alembic's migrations run once per session, not per test. The
    migrations themselves are tested on empty databases (``db_url``: tests/storage)."""

    def __init__(self, root: Path) -> None:
        self._root = root
        self._sqlite: Path | None = None
        self._postgres: str | None = None

    def sqlite(self, path: Path) -> str:
        if self._sqlite is None:
            template = self._root / "schema.db"
            db = Database(f"sqlite:///{template}")
            try:
                db.upgrade()
            finally:
                db.dispose()
            self._sqlite = template
        shutil.copy(self._sqlite, path)  # with its mode (0600)
        return f"sqlite:///{path}"

    def postgresql(self, server: TempPostgres, name: str) -> str:
        if self._postgres is None:
            template = f"schema_{uuid.uuid4().hex[:12]}"
            db = Database(server.create_database(template))
            try:
                db.upgrade()
            finally:
                db.dispose()
            self._postgres = template
        return server.create_database(name, template=self._postgres)


@pytest.fixture(scope="session")
def schema_templates(tmp_path_factory: pytest.TempPathFactory) -> SchemaTemplates:
    return SchemaTemplates(tmp_path_factory.mktemp("schema-templates"))


@pytest.fixture(params=["sqlite", "postgresql"])
def vault_db_url(
    request: pytest.FixtureRequest, tmp_path: Path, schema_templates: SchemaTemplates
) -> Iterator[str]:
    """An empty database at the newest schema revision on each backend (what
    ``Vault.initialise`` makes of ``db_url`` first, copied from a template)."""
    if request.param == "sqlite":
        yield schema_templates.sqlite(tmp_path / "vault.db")
        return
    server: TempPostgres = request.getfixturevalue("pg_server")
    name = f"t_{uuid.uuid4().hex[:12]}"
    url = schema_templates.postgresql(server, name)
    try:
        yield url
    finally:
        server.drop_database(name)


@dataclass
class VaultWorld:
    db: Database
    vault: Vault
    admin: Actor
    keys: KeyRing
    url: str

    def operator(self, name: str, role: str) -> Actor:
        """Add an operator with ``role`` and return it signed in."""
        password = Secret(f"{name}-password-1234")
        self.vault.operators.add(self.admin, name, password, role)
        return self.vault.access.login_password(name, password)


def make_world(url: str) -> VaultWorld:
    """A new vault in the empty database at ``url`` (no tables, or the newest schema and no
    vault), with admin ``alice`` signed in. The caller disposes ``world.db``."""
    db = Database(url)
    vault, _, kek = Vault.initialise(
        db,
        passphrase=Secret(PASSPHRASE),
        admin_name="alice",
        admin_password=Secret(ADMIN_PASSWORD),
        kdf=fast_kdf(),
    )
    admin = vault.access.login_password("alice", Secret(ADMIN_PASSWORD))
    return VaultWorld(db, vault, admin, KeyRing.of(kek), url)


@pytest.fixture
def world(vault_db_url: str) -> Iterator[VaultWorld]:
    built = make_world(vault_db_url)
    try:
        yield built
    finally:
        built.db.dispose()


@pytest.fixture
def sqlite_world(tmp_path: Path, schema_templates: SchemaTemplates) -> Iterator[VaultWorld]:
    """A vault on SQLite alone (a file from the schema template), for tests that need one
    database kind only."""
    built = make_world(schema_templates.sqlite(tmp_path / "vault.db"))
    try:
        yield built
    finally:
        built.db.dispose()


# --- Samba AD domain controller (shared by every session on this machine) --------------------
@pytest.fixture(scope="session")
def samba_dc() -> Iterator[SambaFacts]:
    """The machine's Samba AD DC, running: started if needed (installing and provisioning it
    on first use) and stopped at the end only if this session started it and no other session
    still uses it. Fails, never skips, when Samba cannot be had."""
    dc = SambaDC()
    try:
        facts = dc.acquire()
    except SambaUnavailable as err:
        pytest.fail(f"the Samba AD DC is required: {err}")
    try:
        yield facts
    finally:
        dc.release()


@pytest.fixture
def ad_ou(samba_dc: SambaFacts) -> Iterator[OuWorld]:
    """A fresh OU of this test's own (unique name) with the admin helper; deleted afterwards."""
    world = OuWorld.create(samba_dc)
    try:
        yield world
    finally:
        world.close()


# --- OpenLDAP (a server of this session's own) -----------------------------------------------
def _own_server(server: Any, unavailable: type[Exception], what: str, how: str) -> Iterator[Any]:
    """A server of this session's own (its ``start()``'s facts), stopped at the end; when it
    can't be had, the test fails in CI and is skipped with the reason elsewhere."""
    try:
        facts = server.start()
    except unavailable as err:
        if IN_CI:
            pytest.fail(f"{what} is required in CI: {err}")
        pytest.skip(f"no {what} ({err}); {how}")
    try:
        yield facts
    finally:
        server.stop()


def _slapd(plain: bool) -> Iterator[SlapdFacts]:
    server = SlapdServer(plain=plain)
    yield from _own_server(server, SlapdUnavailable, "slapd", "scripts/slapd install sets it up")


@pytest.fixture(scope="session")
def slapd() -> Iterator[SlapdFacts]:
    """An OpenLDAP server of this session's own (ppolicy, syncprov, its own CA; see
    scripts/slapd), stopped and removed at the end. Fails in CI when slapd can't be had,
    skips with the reason elsewhere."""
    yield from _slapd(plain=False)


@pytest.fixture(scope="session")
def slapd_plain() -> Iterator[SlapdFacts]:
    """A second server without the ppolicy and syncprov overlays (started on first use)."""
    yield from _slapd(plain=True)


@pytest.fixture
def ldap_ou(slapd: SlapdFacts) -> Iterator[LdapOu]:
    """A fresh OU of this test's own on the session's slapd; deleted afterwards."""
    world = LdapOu.create(slapd)
    try:
        yield world
    finally:
        world.close()


# --- A workgroup machine: Samba standalone (a server of this session's own) -----------------
def _standalone(server: StandaloneServer) -> Iterator[StandaloneFacts]:
    what, how = "Samba standalone server", "scripts/samba-standalone install sets it up"
    yield from _own_server(server, StandaloneUnavailable, what, how)


@pytest.fixture(scope="session")
def samba_standalone() -> Iterator[StandaloneFacts]:
    """A Samba standalone server of this session's own (one machine, FILESRV1, on a free port
    of 127.0.0.1; see scripts/samba-standalone), stopped and removed at the end. Fails in CI
    when it can't be had, skips with the reason elsewhere."""
    yield from _standalone(StandaloneServer())


@pytest.fixture
def local_machine(samba_standalone: StandaloneFacts) -> LocalMachine:
    """The session's machine with the admin helper (each test makes accounts of its own)."""
    return LocalMachine.of(samba_standalone)


@pytest.fixture(scope="session")
def samba_standalone_2() -> Iterator[StandaloneFacts]:
    """A second machine of this session's own, FILESRV2 (another Samba standalone server: a
    client with several machines), started on first use; as :func:`samba_standalone`."""
    yield from _standalone(StandaloneServer(machine="FILESRV2"))


@pytest.fixture
def local_machine_2(samba_standalone_2: StandaloneFacts) -> LocalMachine:
    """The session's second machine (FILESRV2) with the admin helper."""
    return LocalMachine.of(samba_standalone_2)


# --- Mail: a real SMTP server on 127.0.0.1 (aiosmtpd) -----------------------------------------
@pytest.fixture
def mail_trap() -> Iterator[MailTrap]:
    """An SMTP server of this test's own on 127.0.0.1 (no TLS, no sign-in) keeping what it
    receives."""
    trap = MailTrap().start()
    try:
        yield trap
    finally:
        trap.stop()


@pytest.fixture
def mail_trap_tls() -> Iterator[MailTrap]:
    """The same with STARTTLS required (a trustme CA: ``ca_pem``) and a sign-in."""
    trap = MailTrap(starttls=True, login=("mailer", "smtp-pass-Q7")).start()
    try:
        yield trap
    finally:
        trap.stop()
