"""The Windows pieces under Wine: built once and run in ONE Wine prefix per test session.

``wine`` (session) starts a fresh 64-bit prefix's wineserver persistently with stdio detached
(a wine process's children inherit its stdio, and a captured run would wait for them: the
reference's pitfall 1), makes the prefix (``wineboot --init``, most of the set-up) while
``scripts/build-windows`` builds ``windows/`` (Debian's mingw-w64) beside it, so every later
run is warm (~0.1 s). It stops the wineserver at the end (``wineserver -k``). Every wine call
has a timeout.

Missing mingw-w64 or Wine FAILS the tests, never skips them: ``scripts/test`` installs both
(gcc-mingw-w64-x86-64, wine, wine64), so a machine without them is a broken CI machine.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PureWindowsPath

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
    quiet = {"stdin": subprocess.DEVNULL, "stdout": subprocess.DEVNULL}
    quiet["stderr"] = subprocess.DEVNULL
    subprocess.run(["wineserver", "-p"], env=env, timeout=WINE_TIMEOUT, check=True, **quiet)
    try:
        # the prefix (wineboot: most of the session's set-up) is made while mingw-w64 builds
        boot = subprocess.Popen(["wine", "wineboot", "--init"], env=env, **quiet)
        try:
            built = subprocess.run(
                [str(ROOT / "scripts" / "build-windows"), str(bin_dir)],
                capture_output=True,
                timeout=180,
                check=False,
            )
            assert built.returncode == 0, built.stderr.decode(errors="replace")[-4000:]
            assert boot.wait(timeout=180) == 0, "wineboot --init failed"
        finally:
            if boot.poll() is None:
                boot.kill()
                boot.wait(timeout=WINE_TIMEOUT)
        yield Wine(prefix=prefix, bin_dir=bin_dir, env=env)
    finally:
        subprocess.run(["wineserver", "-k"], env=env, timeout=WINE_TIMEOUT, check=False, **quiet)
