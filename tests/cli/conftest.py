"""CLI fixtures: a throwaway CREDSYNC_HOME holding a vault made by ``credsync init``, and two
ways to run the command on it.

- ``cli.run(...)`` calls :func:`credsync.cli.main` in this process with its own environment and
  standard input (each call builds a fresh click context, so nothing is cached between calls);
- ``cli.proc(...)`` runs ``python -m credsync`` as a real process with no terminal at all
  (stdin is a pipe or /dev/null, stdout and stderr are pipes, and it is in a new session),
  forked from one that has done the imports (``credsync.testing.prefork``).

Both return a :class:`Result`, whose ``repr`` leaves standard output out so that a failing
assertion never prints a revealed password. The constants are reached through the fixture
(``cli.passphrase``, ...) rather than by importing this module: ``tests/`` is not a package, so
``conftest`` names more than one module here.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from credsync.cli import main
from credsync.testing import prefork

PASSPHRASE = "cli master passphrase: plum-47-kettle"
ADMIN = "alice"
ADMIN_PASSWORD = "alice-cli-password-8831"
KDF_ARGS = ("--kdf-memory-kib", "8192", "--kdf-time-cost", "1", "--kdf-parallelism", "1")
SUBPROCESS_TIMEOUT = 120

Env = Mapping[str, str | None]


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str

    def __repr__(self) -> str:
        # stdout may hold a revealed password: show only its size.
        return f"Result(code={self.code}, err={self.err!r}, out=<{len(self.out)} chars>)"

    def json(self) -> Any:
        return json.loads(self.out)

    @property
    def error(self) -> str:
        """The single error line on stderr (asserting that there is exactly one)."""
        lines = self.err.splitlines()
        assert len(lines) == 1, f"expected one line on stderr, got {len(lines)}: {self.err!r}"
        assert lines[0].startswith("credsync: error: "), lines[0]
        return lines[0]


def _encode(data: str | bytes | None) -> bytes | None:
    return data.encode("utf-8") if isinstance(data, str) else data


def clean_environ() -> dict[str, str]:
    """This process's environment without any CREDSYNC_* variable."""
    return {k: v for k, v in os.environ.items() if not k.startswith("CREDSYNC_")}


def run_credsync(
    args: list[str], env: Mapping[str, str], stdin: str | bytes | None = None
) -> Result:
    """``python -m credsync ARGS`` as :func:`run_subprocess` runs it (stdin a pipe or
    /dev/null, stdout and stderr pipes, a new session), forked from a process that has done
    the imports (``credsync.testing.prefork``)."""
    done = prefork.run(
        args,
        {**clean_environ(), **env},
        data=_encode(stdin),
        timeout=SUBPROCESS_TIMEOUT,
        new_session=True,  # no controlling terminal either
    )
    return Result(
        done.returncode,
        done.stdout.decode("utf-8", "replace"),
        done.stderr.decode("utf-8", "replace"),
    )


def run_subprocess(
    args: list[str], env: Mapping[str, str], stdin: str | bytes | None = None
) -> Result:
    data = _encode(stdin)
    io_args: dict[str, Any] = {"stdin": subprocess.DEVNULL} if data is None else {"input": data}
    completed = subprocess.run(
        args,
        env={**clean_environ(), **env},
        capture_output=True,
        timeout=SUBPROCESS_TIMEOUT,
        check=False,
        start_new_session=True,  # no controlling terminal either
        **io_args,
    )
    return Result(
        completed.returncode,
        completed.stdout.decode("utf-8", "replace"),
        completed.stderr.decode("utf-8", "replace"),
    )


class RemoteEnv(dict[str, str | None]):
    """The environment of a CLI against a server: its repr names only the variables (a failing
    test's traceback shows arguments, and these hold an API token)."""

    def __repr__(self) -> str:
        return f"RemoteEnv({', '.join(self)})"

    def __or__(self, changes: Mapping[str, str | None]) -> RemoteEnv:  # type: ignore[override]
        return RemoteEnv({**self, **changes})


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """``credsync serve --no-agent`` on a free port as a real process, on a CLI's vault (its
    standard error kept in ``log``). No repr of its own worth printing: see RemoteEnv."""

    def __init__(self, environment: Mapping[str, str], log: Path) -> None:
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.log = log
        with log.open("wb") as stderr:
            # forked from a process that has imported the server (credsync.testing.prefork)
            self.proc = prefork.spawn(
                ["serve", "--port", str(port), "--no-agent"],
                {**os.environ, **environment, "PYTHONUNBUFFERED": "1"},
                stderr=stderr.fileno(),
                preload=prefork.SERVE,
            )
        import httpx

        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{self.url}/api/v1/auth/whoami", timeout=5)
                return
            except httpx.TransportError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    self.stop()
                    pytest.fail(f"credsync serve did not start: {log.read_text()[-2000:]}")
                time.sleep(0.1)

    def __repr__(self) -> str:
        return f"Server({self.url!r})"

    def remote(self, token: str) -> RemoteEnv:
        """A CLI's environment against this server: no session, no passphrase (a remote
        command can't open the vault itself), the API token."""
        return RemoteEnv(CREDSYNC_SESSION=None, CREDSYNC_SERVER=self.url, CREDSYNC_TOKEN=token)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Cli:
    """The credsync command on one CREDSYNC_HOME, signed in as the first admin by default."""

    passphrase = PASSPHRASE
    admin = ADMIN
    admin_password = ADMIN_PASSWORD
    kdf_args = KDF_ARGS

    def __init__(self, home: Path, capsys: pytest.CaptureFixture[str]) -> None:
        self.home = home
        self._capsys = capsys
        self.env: dict[str, str] = {
            "CREDSYNC_HOME": str(home),
            "CREDSYNC_PASSPHRASE": PASSPHRASE,
            "CREDSYNC_OPERATOR": ADMIN,
            "CREDSYNC_OPERATOR_PASSWORD": ADMIN_PASSWORD,
        }

    def environment(self, env: Env | None = None, *, only: bool = False) -> dict[str, str]:
        """``self.env`` changed by ``env`` (a None value removes a variable); with ``only``,
        just CREDSYNC_HOME and ``env``."""
        merged = {"CREDSYNC_HOME": str(self.home)} if only else dict(self.env)
        for name, value in (env or {}).items():
            if value is None:
                merged.pop(name, None)
            else:
                merged[name] = value
        return merged

    def run(
        self,
        *args: str,
        stdin: str | bytes | None = None,
        env: Env | None = None,
        only: bool = False,
    ) -> Result:
        """``credsync ARGS`` in this process; standard input is ``stdin`` (empty by default)."""
        environment = self.environment(env, only=only)
        with pytest.MonkeyPatch.context() as mp:
            for name in list(os.environ):
                if name.startswith("CREDSYNC_"):
                    mp.delenv(name)
            for name, value in environment.items():
                mp.setenv(name, value)
            stream = io.TextIOWrapper(io.BytesIO(_encode(stdin) or b""), encoding="utf-8")
            mp.setattr(sys, "stdin", stream)
            self._capsys.readouterr()
            code = main(list(args))
            captured = self._capsys.readouterr()
        return Result(code, captured.out, captured.err)

    def proc(
        self,
        *args: str,
        stdin: str | bytes | None = None,
        env: Env | None = None,
        only: bool = False,
    ) -> Result:
        """``credsync ARGS`` as a process of its own with no terminal."""
        return run_credsync(list(args), self.environment(env, only=only), stdin)

    def python(self, *args: str, env: Env | None = None) -> Result:
        """``python ARGS`` (this interpreter) as a subprocess with only CREDSYNC_HOME set."""
        return run_subprocess([sys.executable, *args], self.environment(env, only=True))

    def ok(self, *args: str, **kwargs: Any) -> Result:
        result = self.run(*args, **kwargs)
        assert result.code == 0, result
        assert result.err == "" or not result.err.startswith("credsync: error"), result
        return result

    def json(self, *args: str, **kwargs: Any) -> Any:
        return self.ok(*args, "--json", **kwargs).json()

    def fails(self, code: int, *args: str, **kwargs: Any) -> str:
        """Run, expect exit status ``code`` and one error line; return that line."""
        result = self.run(*args, **kwargs)
        assert result.code == code, result
        assert result.out == "", result
        return result.error

    def serve(self) -> Server:
        """``credsync serve`` on this vault (signed in as it is now), as a real process."""
        return Server(self.environment(), self.home.parent / f"serve-{self.home.name}.log")

    free_port = staticmethod(free_port)
    RemoteEnv = RemoteEnv

    def copy(self, home: Path, capsys: pytest.CaptureFixture[str]) -> Cli:
        """A Cli on a copy of this one's CREDSYNC_HOME at ``home``, signed in as this one is
        (a session stays valid in the copy: it lives in the vault)."""
        shutil.copytree(self.home, home)
        copied = Cli(home, capsys)
        copied.env = {**self.env, "CREDSYNC_HOME": str(home)}
        return copied

    @contextlib.contextmanager
    def capturing(self) -> Iterator[Cli]:
        """For a fixture wider than a test (no ``capsys``): ``run`` reads what commands print
        from buffers while the block runs; the log handler in-process runs leave open on this
        home is closed at its end."""
        buffers = _Buffers()
        capsys, self._capsys = self._capsys, buffers  # type: ignore[assignment]
        try:
            with contextlib.redirect_stdout(buffers.out), contextlib.redirect_stderr(buffers.err):
                yield self
        finally:
            self._capsys = capsys
            close_cli_log()

    # -- shortcuts --------------------------------------------------------------------------
    def use_session(self) -> str:
        """Sign in once (``credsync unlock --raw``); later calls carry only CREDSYNC_SESSION,
        which skips the password hash and the key derivation and keeps the tests fast."""
        session = self.ok("unlock", "--raw").out.strip()
        self.env = {"CREDSYNC_HOME": str(self.home), "CREDSYNC_SESSION": session}
        return session

    def sign_in_as(self, name: str, password: str) -> None:
        self.env = {
            "CREDSYNC_HOME": str(self.home),
            "CREDSYNC_PASSPHRASE": PASSPHRASE,
            "CREDSYNC_OPERATOR": name,
            "CREDSYNC_OPERATOR_PASSWORD": password,
        }

    def add_client(self, name: str = "Contoso") -> dict[str, Any]:
        data: dict[str, Any] = self.json("client", "add", name)
        return data

    def add_cred(
        self, client: str, title: str, password: str, *extra: str, username: str = "admin"
    ) -> dict[str, Any]:
        data: dict[str, Any] = self.json(
            "cred",
            "add",
            client,
            "--title",
            title,
            "--username",
            username,
            "--password-stdin",
            *extra,
            stdin=password + "\n",
        )
        return data


@pytest.fixture(scope="session")
def vault_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One vault made by a real ``credsync init`` (no terminal), copied for each test."""
    home = tmp_path_factory.mktemp("cli-template") / "home"
    result = run_credsync(
        ["init", "--admin", ADMIN, *KDF_ARGS],
        {
            "CREDSYNC_HOME": str(home),
            "CREDSYNC_PASSPHRASE": PASSPHRASE,
            "CREDSYNC_ADMIN_PASSWORD": ADMIN_PASSWORD,
        },
    )
    assert result.code == 0, result
    _rehash_admin_cheaply(home)
    return home


def _rehash_admin_cheaply(home: Path) -> None:
    """Give the template's admin a password hash made with the tests' cheap Argon2id setting
    (tests/conftest.py): every command signed in with a password verifies it, and the product's
    setting costs ~0.15 s a time. The same password, only the hash's cost changes; tests that
    run ``init`` themselves (test_scripting_contract, tests/security) sign in with its own."""
    from credsync.crypto.hashing import hash_password
    from credsync.storage import Database
    from credsync.storage import operators as store
    from credsync.types import Secret

    db = Database(f"sqlite:///{home / 'vault.db'}")
    try:
        with db.write() as conn:
            [row] = store.list_all(conn)
            assert row.name == ADMIN, row
            store.set_password_hash(
                conn, row.id, hash_password(Secret(ADMIN_PASSWORD)), row.updated_at
            )
    finally:
        db.dispose()


@pytest.fixture
def cli(vault_template: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Cli:
    """A throwaway CREDSYNC_HOME with an initialised vault; env signs in as the admin."""
    home = tmp_path / "home"
    shutil.copytree(vault_template, home)
    return Cli(home, capsys)


@pytest.fixture(scope="module")
def module_cli(vault_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Cli:
    """A copy of the template vault for a whole module, to seed once (``Cli.capturing``) and
    copy for each test (``Cli.copy``) where seeding costs seconds."""
    home = tmp_path_factory.mktemp("cli-module") / "home"
    shutil.copytree(vault_template, home)
    return Cli(home, None)  # type: ignore[arg-type]  # capsys: set by Cli.capturing


@pytest.fixture
def empty_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Cli:
    """A CREDSYNC_HOME with no vault yet."""
    return Cli(tmp_path / "empty-home", capsys)


@pytest.fixture(autouse=True)
def _close_cli_log() -> Iterator[None]:
    """In-process runs leave the credsync log handler open on the test's home: close it."""
    yield
    close_cli_log()


def close_cli_log() -> None:
    log = logging.getLogger("credsync")
    for handler in list(log.handlers):
        log.removeHandler(handler)
        handler.close()


class _Buffers:
    """What ``capsys`` gives ``Cli.run`` (``readouterr``), over two buffers."""

    def __init__(self) -> None:
        self.out, self.err = io.StringIO(), io.StringIO()

    def readouterr(self) -> SimpleNamespace:
        taken = SimpleNamespace(out=self.out.getvalue(), err=self.err.getvalue())
        for buffer in (self.out, self.err):
            buffer.seek(0)
            buffer.truncate()
        return taken
