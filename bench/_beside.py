"""A load beside a measurement: the project's own test suite running on the same cores.

Not a benchmark itself. :class:`Beside` starts a command (by default a slice of the project's
own pytest suite, which loads both cores of a 2-CPU machine) in a process group of its own,
with a temporary directory of its own as ``TMPDIR``; waits until it is busy; keeps it running
(started again when it ends early) while the caller measures; then stops the whole group and
whatever PostgreSQL servers the tests' fixtures left in that directory (``pg_ctl`` starts a
server in a session of its own, out of the group's reach).

    with Beside(command) as load:
        ...  # measure
    print(load.summary())
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from types import TracebackType

import _common as c

# What loads both cores of a 2-CPU machine for minutes: the vault's and storage's tests on
# both backends (each worker starts its own throwaway PostgreSQL), two xdist workers.
DEFAULT_COMMAND = (
    f"{sys.executable} -m pytest -q -p no:cacheprovider -n 2 -x --no-header "
    "tests/vault tests/storage"
)
BUSY_CORES = 0.8  # the load counts as busy once its processes use this many cores
BUSY_WAIT_S = 60.0  # ... or after this long, whatever they use


def _ticks() -> int:
    return os.sysconf("SC_CLK_TCK")


def _group_cpu_s(pgid: int) -> float:
    """CPU seconds (user + system, with waited-for children) of the processes in group
    ``pgid`` now alive."""
    total = 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[2]) != pgid:  # fields[2] is pgrp (field 5 of stat)
            continue
        total += sum(int(v) for v in fields[11:15])  # utime stime cutime cstime
    return total / _ticks()


class Beside:
    """Runs ``command`` (a shell-like string, split with :func:`shlex.split`) from the
    repository root while the ``with`` block runs; see the module docstring."""

    def __init__(self, command: str = DEFAULT_COMMAND, *, env: dict[str, str] | None = None):
        self.command = shlex.split(command)
        self.tmp = Path(tempfile.mkdtemp(prefix="credsync-beside-"))
        self.tmp.chmod(0o1777)  # as /tmp: the tests' PostgreSQL runs as the postgres user
        self.env = dict(os.environ if env is None else env)
        self.env["TMPDIR"] = str(self.tmp)
        self.env.setdefault("PYTHONPATH", str(c.REPO / "src"))
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self.exits: list[int] = []
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._keeper: threading.Thread | None = None
        self._cpu_from: tuple[int, int] | None = None  # the machine's (busy, all) ticks
        self._cpu_to: tuple[int, int] | None = None
        self._load_from = 0.0
        self.load_average = 0.0

    # -- the load ------------------------------------------------------------------------------
    def _start(self) -> None:
        self.process = subprocess.Popen(
            self.command,
            cwd=c.REPO,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        self.starts += 1

    def _keep_running(self) -> None:
        while not self._stopping.is_set():
            process = self.process
            assert process is not None
            while not self._stopping.wait(1.0):
                if process.poll() is not None:
                    break
            if self._stopping.is_set():
                return
            with self._lock:
                if self._stopping.is_set():
                    return
                self.exits.append(process.returncode)
                self._reap_servers()
                self._start()

    def cpu_s(self) -> float:
        """CPU seconds the load's processes now alive have used."""
        process = self.process
        return 0.0 if process is None else _group_cpu_s(process.pid)

    def _wait_busy(self) -> float:
        """Wait until the load uses :data:`BUSY_CORES` over a 2-second window (or
        :data:`BUSY_WAIT_S`); returns the cores it used in the last window."""
        deadline = time.monotonic() + BUSY_WAIT_S
        cores = 0.0
        while time.monotonic() < deadline:
            before, at = self.cpu_s(), time.monotonic()
            time.sleep(2.0)
            cores = (self.cpu_s() - before) / (time.monotonic() - at)
            if cores >= BUSY_CORES:
                break
        return cores

    def __enter__(self) -> Beside:
        print(f"  beside: starting {shlex.join(self.command)}", flush=True)
        self._start()
        started = time.monotonic()
        cores = self._wait_busy()
        print(
            f"  beside: busy after {time.monotonic() - started:.0f} s "
            f"({cores:.1f} cores in the last 2 s)",
            flush=True,
        )
        self._keeper = threading.Thread(target=self._keep_running, daemon=True)
        self._keeper.start()
        self._cpu_from = _machine_ticks()
        self._load_from = os.getloadavg()[0]
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._cpu_to = _machine_ticks()
        self.load_average = os.getloadavg()[0]
        self.stop()

    def stop(self) -> None:
        """Stop the load's process group (SIGINT, so pytest tears its fixtures down; SIGKILL
        after 20 s) and any PostgreSQL server left in its temporary directory."""
        self._stopping.set()
        with self._lock:
            process = self.process
            if process is not None and process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGINT)
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(process.pid, signal.SIGKILL)
                    process.wait()
            if process is not None:
                # Children of a killed group may linger a moment: end what is left of it.
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
            self._reap_servers()
        if self._keeper is not None:
            self._keeper.join(timeout=5)
        shutil.rmtree(self.tmp, ignore_errors=True)

    def _reap_servers(self) -> None:
        """Stop the PostgreSQL servers whose data directories are in the load's TMPDIR."""
        try:  # TempPostgres's directories, as tempfile makes them in TMPDIR
            pid_files = list(self.tmp.glob("credsync-pg-*/data/postmaster.pid"))
        except OSError:  # a server stopping meanwhile removes its directory
            pid_files = []
        for pid_file in pid_files:
            data = pid_file.parent
            try:
                pid = int(pid_file.read_text().split()[0])
            except (OSError, ValueError, IndexError):
                continue
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGQUIT)  # immediate shutdown, children included
            for _ in range(50):
                if not Path(f"/proc/{pid}").exists():
                    break
                time.sleep(0.1)
            shutil.rmtree(data.parent, ignore_errors=True)

    # -- what it did ---------------------------------------------------------------------------
    def busy(self) -> float:
        """How busy the machine's CPUs were while the caller measured (0-1, every process's
        work: the load's, the measurement's and anyone else's)."""
        if self._cpu_from is None or self._cpu_to is None:
            return 0.0
        busy = self._cpu_to[0] - self._cpu_from[0]
        return busy / max(self._cpu_to[1] - self._cpu_from[1], 1)

    def summary(self) -> str:
        restarts = f"; started {self.starts} times (exits {self.exits})" if self.exits else ""
        return (
            f"beside {shlex.join(self.command)}: CPUs {self.busy():.0%} busy while measuring, "
            f"load average {self._load_from:.1f} -> {self.load_average:.1f}{restarts}"
        )


def _machine_ticks() -> tuple[int, int]:
    """(busy, all) CPU ticks of the whole machine since boot, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return sum(values) - idle, sum(values)
