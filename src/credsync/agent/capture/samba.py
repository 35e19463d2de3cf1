"""The forwarder on a Samba DC: drives ``samba-tool user syncpasswords`` and the sender.

``syncpasswords`` runs as a foreground child (its DirSync cookie and cache in ``STATE/cache.ldb``)
and calls ``STATE/hook`` once per changed object; the hook only spools the LDIF (see
:mod:`credsync.agent.capture.spool`). This process sends the spool from a thread
(:mod:`credsync.agent.capture.sender`) and restarts the child with backoff when it exits (Samba
ends its loop when a script fails or the DC goes away; its cache stays valid and resumes).
SIGTERM/SIGINT stop both: the child gets SIGTERM (it takes ~1.7 s) and the sender finishes the
batch in flight; anything not yet acknowledged stays in the spool for the next start.
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import socket
import subprocess
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

from credsync.agent.capture.sender import Sender
from credsync.agent.capture.spool import Spool
from credsync.errors import ConfigError

if TYPE_CHECKING:
    from credsync.agent.capture.client import CaptureClient

__all__ = [
    "ATTRIBUTES",
    "ForwarderOptions",
    "initialise",
    "run_forwarder",
    "samba_tool",
    "sync_once",
]

log = logging.getLogger("credsync.capture.forwarder")

ATTRIBUTES = (
    "objectGUID,objectSid,sAMAccountName,userPrincipalName,userAccountControl,pwdLastSet,"
    "msDS-KeyVersionNumber,virtualSambaGPG"
)
_LOG_ROTATE_BYTES = 8 * 1024 * 1024
_RESTART_MIN = 1.0
_RESTART_MAX = 60.0


@dataclass(frozen=True)
class ForwarderOptions:
    smb_conf: Path
    state_dir: Path
    once: bool = False
    fsync: bool = False
    dc: str | None = None
    poll: float = 0.02


def samba_tool() -> str:
    """The ``samba-tool`` to run (``$CREDSYNC_SAMBA_TOOL`` or the one on PATH)."""
    return os.environ.get("CREDSYNC_SAMBA_TOOL", "samba-tool")


def _child_output(spool: Spool) -> int:
    """``STATE/forwarder.log`` opened for appending (rotated once past 8 MiB)."""
    try:
        if spool.log.stat().st_size > _LOG_ROTATE_BYTES:
            spool.log.replace(spool.log.with_suffix(".log.1"))
    except FileNotFoundError:
        pass
    return os.open(spool.log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)


def _die_with_parent() -> None:  # pragma: no cover - runs in the child
    """Linux: syncpasswords gets SIGTERM when the forwarder dies (even by SIGKILL), so no
    orphan keeps its cache locked ("command is already running")."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _run_tool(spool: Spool, args: list[str]) -> subprocess.Popen[bytes]:
    fd = _child_output(spool)
    try:
        return subprocess.Popen(  # noqa: S603 - samba-tool with our own arguments
            [samba_tool(), "user", "syncpasswords", *args],
            stdin=subprocess.DEVNULL,
            stdout=fd,
            stderr=fd,
            start_new_session=True,  # a Ctrl-C in the terminal reaches us, not it
            preexec_fn=_die_with_parent,
        )
    except OSError as err:
        raise ConfigError(f"cannot run {samba_tool()}: {err}") from err
    finally:
        os.close(fd)


def initialise(spool: Spool, smb_conf: Path) -> None:
    """Initialise syncpasswords' cache once (attributes and hook are fixed there)."""
    if spool.cache.exists():
        return
    child = _run_tool(
        spool,
        [
            "--cache-ldb-initialize",
            f"--cache-ldb={spool.cache}",
            f"--attributes={ATTRIBUTES}",
            f"--script={spool.hook}",
            "-s",
            str(smb_conf),
        ],
    )
    if child.wait() != 0:
        spool.cache.unlink(missing_ok=True)
        raise ConfigError(
            f"samba-tool user syncpasswords --cache-ldb-initialize failed: see {spool.log}"
        )


def sync_once(spool: Spool, smb_conf: Path) -> int:
    """One ``syncpasswords --no-wait`` pass (every change since the cookie into the spool);
    its exit status."""
    return _run_tool(spool, ["--no-wait", f"--cache-ldb={spool.cache}", "-s", str(smb_conf)]).wait()


def _stop_child(child: subprocess.Popen[bytes]) -> None:
    if child.poll() is None:
        child.terminate()
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def _run_until(spool: Spool, args: list[str], stop: threading.Event) -> int | None:
    """Run syncpasswords with ``args`` until it exits (its status) or ``stop`` (None)."""
    child = _run_tool(spool, args)
    log.info("capture: syncpasswords %sstarted (pid %d)", "--no-wait " * ("--no-wait" in args),
             child.pid)  # fmt: skip
    while child.poll() is None and not stop.wait(0.05):
        pass
    if stop.is_set():
        _stop_child(child)
        return None
    return child.returncode


def _loop(spool: Spool, options: ForwarderOptions, stop: threading.Event) -> None:
    """Keep syncpasswords running until ``stop``; restart it with backoff when it exits.

    Each start is a ``--no-wait`` pass, then the waiting loop: Samba's loop mode sleeps a
    second before it first connects (``Wait before connect - sleep(1)``, in samba-tool's
    ``syncpasswords``), so the pass delivers whatever waited meanwhile (a restart's backlog,
    a burst) at once; the loop then goes on from the cookie the pass left."""
    delay = _RESTART_MIN
    args = [f"--cache-ldb={spool.cache}", "-s", str(options.smb_conf)]
    while not stop.is_set():
        status = _run_until(spool, ["--no-wait", *args], stop)
        if status == 0:
            status = _run_until(spool, args, stop)
        if status is None:
            return
        log.warning(
            "capture: syncpasswords exited (%s); restarting in %.0f s (see %s)",
            status,
            delay,
            spool.log,
        )
        stop.wait(delay)
        delay = min(delay * 2, _RESTART_MAX)


def run_forwarder(
    connect: CaptureClient | Callable[[], CaptureClient], options: ForwarderOptions
) -> int:
    """Run until SIGTERM/SIGINT (or, with ``once``, one pass and a delivery); the exit status:
    0, or 1 when ``once`` left records undelivered. ``connect``: the client, or what makes
    it; made once syncpasswords runs (the HTTP stack's imports take a few hundred ms that a
    burst waiting in the DirSync backlog should not)."""
    if not options.smb_conf.is_file():
        raise ConfigError(f"no smb.conf at {options.smb_conf}")
    spool = Spool(options.state_dir)
    spool.prepare(fsync=options.fsync)
    initialise(spool, options.smb_conf)
    stop = threading.Event()
    dc = options.dc or socket.gethostname().split(".")[0]
    if options.once:
        one = Sender(spool, connect() if callable(connect) else connect, dc=dc)
        status = sync_once(spool, options.smb_conf)
        drained = one.drain(stop, until_empty=True)
        log.info("capture: one pass: syncpasswords %d, %d events delivered", status, one.delivered)
        return 0 if drained and status == 0 else 1

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
    # syncpasswords first: the hook spools on its own while the sender gets ready
    loop = threading.Thread(
        target=_loop, args=(spool, options, stop), name="capture-syncpasswords", daemon=True
    )
    loop.start()
    client: CaptureClient | None = None
    sender: Sender | None = None
    try:
        client = connect() if callable(connect) else connect
        sender = Sender(spool, client, dc=dc)
        sender.drain(stop, poll=options.poll)
    finally:
        stop.set()
        loop.join(timeout=30)
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        if client is not None:
            client.close()
    delivered = sender.delivered if sender is not None else 0
    log.info(
        "capture: stopped; %d events delivered, %d waiting in the spool",
        delivered,
        spool.depth(),
    )
    return 0
