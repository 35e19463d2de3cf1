"""The Windows pieces under Wine: built once and run in ONE Wine prefix per test session.

``wine`` (session) starts a fresh 64-bit prefix's wineserver persistently with stdio detached
(a wine process's children inherit its stdio, and a captured run would wait for them: the
reference's pitfall 1), makes the prefix (Wine's first-run ``wineboot --init``, most of
the set-up, started by ``wine cmd /c exit``: a second, explicit one made a second
services.exe) while ``scripts/build-windows`` builds ``windows/`` (Debian's mingw-w64) beside
it, so every later run is warm (~0.1 s). It stops the wineserver at the end
(``wineserver -k``). Every wine call has a timeout.

Missing mingw-w64 or Wine FAILS the tests, never skips them: ``scripts/test`` installs both
(gcc-mingw-w64-x86-64, wine, wine64), so a machine without them is a broken CI machine.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PureWindowsPath
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
WINE_TIMEOUT = 60  # seconds, any one wine call (a warm harness run takes ~0.1 s)


def windows_path(path: Path) -> str:
    """``path`` as Wine's programs see it (drive Z: is the Unix root)."""
    return str(PureWindowsPath("Z:\\", *path.resolve().parts[1:]))


@dataclass
class Wine:
    prefix: Path
    bin_dir: Path
    env: dict[str, str]
    services_log: Path

    @property
    def dll(self) -> Path:
        return self.bin_dir / "credsyncfilter.dll"

    def run(
        self,
        exe: Path,
        *args: str,
        timeout: float = WINE_TIMEOUT,
        stderr: bool = False,
        env: dict[str, str] | None = None,
    ) -> str:
        """Run a Windows program to its end; its stdout (and its stderr after it, with
        ``stderr``); it must exit 0. ``env`` is added to the prefix's environment."""
        proc = subprocess.run(
            ["wine", str(exe), *args],
            env={**self.env, **(env or {})},
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=timeout,
            check=False,
        )
        out = proc.stdout.decode("utf-8", errors="replace")
        err = proc.stderr.decode("utf-8", errors="replace")
        if proc.returncode != 0:
            raise AssertionError(f"{exe.name} exited {proc.returncode}: {out}\n{err}")
        return out + err if stderr else out

    @contextmanager
    def kept_alive(self) -> Iterator[subprocess.Popen[bytes]]:
        """A Wine process that stays up meanwhile (``cmd`` reading a pipe): Wine's services.exe,
        and with it every running service, ends with the prefix's last ordinary process. If it
        (re)starts services.exe, their output goes to ``services_log`` too."""
        with self.services_log.open("ab") as log:
            keeper = subprocess.Popen(
                ["wine", "cmd", "/c", "set /p x="],
                env={**self.env, "WINEDEBUG": "-all,+eventlog"},
                stdin=subprocess.PIPE,
                stdout=log,
                stderr=log,
            )
        try:
            yield keeper
        finally:
            assert keeper.stdin is not None
            keeper.stdin.close()  # end of input: ``set /p`` returns, cmd exits
            try:
                keeper.wait(timeout=WINE_TIMEOUT)
            except subprocess.TimeoutExpired:
                keeper.kill()
                keeper.wait(timeout=WINE_TIMEOUT)


def _require(tool: str, package: str) -> None:
    if shutil.which(tool) is None:
        pytest.fail(
            f"{tool} is not installed: the Windows tests need Debian's {package} "
            "(scripts/test installs it)",
            pytrace=False,
        )


@pytest.fixture(scope="session")
def wine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Wine]:
    _require("x86_64-w64-mingw32-gcc", "gcc-mingw-w64-x86-64")
    _require("wine", "wine and wine64")
    _require("wineserver", "wine and wine64")
    base = tmp_path_factory.mktemp("wine")
    bin_dir = base / "bin"
    prefix = base / "prefix"
    services_log = base / "services.log"
    prefix.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "DISPLAY"}
    env.update(
        WINEPREFIX=str(prefix),
        WINEARCH="win64",
        WINEDEBUG="-all",
        WINEDLLOVERRIDES="mscoree,mshtml=",
        LANG="C.UTF-8",
        LC_ALL="C.UTF-8",
    )
    quiet: dict[str, Any] = {"stdin": subprocess.DEVNULL, "stdout": subprocess.DEVNULL}
    quiet["stderr"] = subprocess.DEVNULL
    subprocess.run(["wineserver", "-p"], env=env, timeout=WINE_TIMEOUT, check=True, **quiet)
    try:
        # the prefix (most of the session's set-up) is made while mingw-w64 builds. NOT by
        # ``wine wineboot --init``: on a prefix that does not exist yet Wine's loader runs
        # ``wineboot --init`` itself first, and the second one started a SECOND services.exe,
        # each with its own service database, which answered ``sc`` calls in turn (1060 from
        # one, the service from the other). The services and the service processes they
        # start write to ``services.log`` (stderr, with the event log's debug channel on).
        boot_env = {**env, "WINEDEBUG": "-all,+eventlog"}
        with services_log.open("wb") as log:
            boot = subprocess.Popen(
                ["wine", "cmd", "/c", "exit"],
                env=boot_env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
            )
        try:
            built = subprocess.run(
                [str(ROOT / "scripts" / "build-windows"), str(bin_dir)],
                capture_output=True,
                timeout=180,
                check=False,
            )
            assert built.returncode == 0, built.stderr.decode(errors="replace")[-4000:]
            assert boot.wait(timeout=180) == 0, "the prefix could not be made"
        finally:
            if boot.poll() is None:
                boot.kill()
                boot.wait(timeout=WINE_TIMEOUT)
        yield Wine(prefix=prefix, bin_dir=bin_dir, env=env, services_log=services_log)
    finally:
        subprocess.run(["wineserver", "-k"], env=env, timeout=WINE_TIMEOUT, check=False, **quiet)
