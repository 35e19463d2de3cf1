"""The forwarder as the Windows service ``credsync-forwarder``, under Wine's service control
manager: installed with ``sc create`` and ``sc failure`` with the values read out of
install.ps1 (installer.py), started, a change goes from
the DLL's spool through the running service to the real app, stopped with a record not yet
acknowledged kept in the spool, deleted.

Who may start or stop the service is the SCM's business (its default DACL: Administrators and
SYSTEM); Wine runs everything as one user and does not enforce it, so it is not tested here.
"""

from __future__ import annotations

import asyncio
import re
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from .conftest import WINE_TIMEOUT, Wine, windows_path
from .installer import read_installer
from .test_filter_dll import scan
from .test_forwarder import World, fw  # noqa: F401  (the fixture)

pytestmark = [pytest.mark.xdist_group("wine"), pytest.mark.samba]

SERVICE = read_installer().service  # what install.ps1 makes: name, binPath, start, account
NAME = SERVICE.name


def sc(wine: Wine, *args: str) -> tuple[int, str]:
    """``sc.exe`` under Wine: its exit code and output (services.exe is up, kept alive by the
    test, so no Wine helper inherits the pipe)."""
    proc = subprocess.run(
        ["wine", "sc", *args],
        env=wine.env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=WINE_TIMEOUT,
        check=False,
    )
    return proc.returncode, (proc.stdout + proc.stderr).decode("utf-8", errors="replace")


def state(wine: Wine) -> tuple[str, int]:
    """The service's state (RUNNING, STOPPED, ...) and its Win32 exit code."""
    code, out = sc(wine, "query", NAME)
    assert code == 0, f"sc query exited {code}: {out}"
    found = re.search(r"STATE\s*:\s*\d+\s+(\w+)", out)
    exit_code = re.search(r"WIN32_EXIT_CODE\s*:\s*(\d+)", out)
    assert found, out
    assert exit_code, out
    return found[1], int(exit_code[1])


def wait_for(wine: Wine, wanted: str, within: float) -> float:
    """Seconds until the service is in state ``wanted``; fails after ``within`` seconds."""
    started = time.monotonic()
    while (current := state(wine))[0] != wanted:
        assert current[0] != "STOPPED" or wanted == "STOPPED", (
            f"the service stopped (exit code {current[1]}): "
            + wine.services_log.read_text(errors="replace")[-4000:]
        )
        assert time.monotonic() - started < within, f"not {wanted} within {within} s: {current}"
        time.sleep(0.1)
    return time.monotonic() - started


class Hanging:
    """A hung server: it takes each request and never answers it (the connection stays open,
    nothing comes back) until ``release``; then it ends the request without an answer."""

    def __init__(self) -> None:
        self.arrived = threading.Event()
        self._released = threading.Event()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            self.arrived.set()
            await asyncio.to_thread(self._released.wait)

    def release(self) -> None:
        self._released.set()


def services_exe(prefix: Path) -> list[int]:
    """The pids of this prefix's services.exe (Linux: read from /proc)."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            if not proc.name.isdigit() or b"services.exe" not in (proc / "cmdline").read_bytes():
                continue
            if f"WINEPREFIX={prefix}".encode() in (proc / "environ").read_bytes().split(b"\0"):
                found.append(int(proc.name))
        except OSError:  # gone meanwhile, or not ours to read
            continue
    return found


def test_the_service_delivers_a_change_and_stops_keeping_what_is_not_acknowledged(
    fw: World,  # noqa: F811
) -> None:
    wine = fw.wine
    password, held_password = "Sërvice-Delivered-11!", "Sërvice-Held-12!"
    _, cred, line = fw.linked_user(password)
    _, held_cred, held_line = fw.linked_user(held_password)
    fw.spool.mkdir(exist_ok=True)
    exe = wine.bin_dir / "credsync-forwarder.exe"
    outputs: list[str] = []
    log_start = wine.services_log.stat().st_size
    with wine.kept_alive():
        deadline = time.monotonic() + WINE_TIMEOUT  # the keeper's services.exe is up
        while len(services_exe(wine.prefix)) != 1:
            assert time.monotonic() < deadline, f"services.exe: {services_exe(wine.prefix)}"
            time.sleep(0.1)
        # install.ps1's configuration, read from the script (installer.py): own process,
        # LocalSystem, automatic, restarted on failure
        created = sc(wine, *SERVICE.sc_create(windows_path(exe), windows_path(fw.config)))
        assert created[0] == 0, created[1]
        try:
            failure = sc(wine, *SERVICE.sc_failure())
            assert failure[0] == 0, failure[1]
            assert state(wine)[0] == "STOPPED"  # the same database answers every call
            started = sc(wine, "start", NAME)
            assert started[0] == 0, started[1]
            running = wait_for(wine, "RUNNING", 60)

            fw.notify([line])
            spooled = time.monotonic()
            while fw.cw.sw.reveal(cred) != password:
                assert time.monotonic() - spooled < 60, "not delivered by the service in 60 s"
                assert state(wine)[0] == "RUNNING"
                time.sleep(0.05)
            delivered = time.monotonic() - spooled
            assert fw.versions(cred) == [(1, "created"), (2, "directory")]
            deadline = time.monotonic() + 30  # the file goes after the server's answer
            while list(fw.spool.glob("*.cap")):
                assert time.monotonic() < deadline, "the delivered record stayed in the spool"
                time.sleep(0.05)

            # the server hung (it takes the request, never answers): the next record waits in
            # a request that closing its handle does not end under Wine; the stop still ends
            # the service (its watchdog, 5 s), and the record stays
            fw.server.stop(drop_connections=True)  # the service's keep-alive connection too
            hanging, app = Hanging(), fw.server.app
            fw.server.app = hanging  # type: ignore[assignment]
            fw.server.start()
            try:
                fw.notify([held_line])
                (held,) = fw.spool.glob("*.cap")
                kept = held.read_bytes()
                assert hanging.arrived.wait(60), "the service did not send the record"
                stop = sc(wine, "stop", NAME)
                outputs += [created[1], failure[1], started[1], stop[1]]
                assert stop[0] == 0, stop[1]
                stopping = wait_for(wine, "STOPPED", 30)
                assert state(wine) == ("STOPPED", 0)
            finally:
                hanging.release()
                fw.server.stop(drop_connections=True)
                fw.server.app = app
            assert held.read_bytes() == kept  # not acknowledged: kept, unchanged
            assert fw.cw.sw.reveal(held_cred) != held_password
            print(
                f"RUNNING after sc start: {running:.2f} s, spooled -> new version: "
                f"{delivered:.2f} s, STOPPED after sc stop: {stopping:.2f} s"
            )
        finally:
            deleted = sc(wine, "delete", NAME)
            outputs.append(deleted[1])
        assert deleted[0] == 0, deleted[1]
        gone = sc(wine, "query", NAME)
        outputs.append(gone[1])
        assert gone[0] != 0, gone  # no such service (1060; Wine's sc prints no text for it)
        assert NAME not in gone[1], gone
    with wine.services_log.open("rb") as log:
        log.seek(log_start)
        events = log.read().decode("utf-8", errors="replace")
    outputs.append(events)
    # the service's event log (ReportEventW, shown by Wine's eventlog channel); its stdout
    # and stderr are not the services.exe's under Wine, so nothing else of it is seen here
    assert 'ReportEventW L"started: waiting for spooled changes"' in events, events[-4000:]
    # "stopped", or the stop's watchdog's "stopped while a request ... was still waiting"
    assert 'ReportEventW L"stopped' in events, events[-4000:]
    scan([p for p in fw.spool.rglob("*") if p.is_file()], outputs, [password, held_password])
