"""``python -m credsync`` as a real process, without paying the interpreter's imports each time.

Most of a ``credsync`` command's second is spent importing (the vault package alone: SQLAlchemy,
argon2, cryptography, webauthn...). A *prefork server* is one Python process, started like the
command (same interpreter, same environment variables read at start-up), that imports what every
vault command imports and then waits. For each command it forks: the child is a new process of
its own (own pid, memory, file descriptors, environment), which points its standard input, output
and error at the caller's files, takes the command's environment and arguments, and runs the
``credsync`` module as ``__main__`` exactly as ``python -m credsync`` does (``runpy``, with
``sys.argv`` and ``sys.path[0]`` as ``-m`` sets them). Its exit goes through the interpreter's own
shutdown (atexit handlers, logging's flush, buffered output), and its exit status is the
command's. Nothing of credsync is replaced or patched; only the imports happen before the fork.

The server itself never touches standard input/output (it talks over two other pipes), so the
``sys.std*`` objects the child inherits are untouched ones made at start-up with the same
encoding and error handlers as a fresh interpreter's.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Mapping
from pathlib import Path

__all__ = ["PreforkServer", "server"]

#: what every vault command imports (``python -X importtime -m credsync cred list``), with the
#: PostgreSQL driver and SQLAlchemy's dialect for it (a vault on PostgreSQL imports them)
PRELOAD = (
    "credsync.cli.app",
    "credsync.cli.runtime",
    "credsync.vault",
    "credsync.storage",
    "psycopg",
    "sqlalchemy.dialects.postgresql.psycopg",
)

_SERVER_CODE = r"""
import json, os, runpy, sys

def serve(requests, replies):
    for module in json.loads(requests.readline()):
        __import__(module)
    replies.write("ready\n")
    replies.flush()
    for line in requests:
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:
            requests.close()
            replies.close()
            child(request)  # never returns: the interpreter exits with the command's status
        replies.write(f"pid {pid}\n")
        replies.flush()
        _, status = os.waitpid(pid, 0)
        replies.write(f"exit {os.waitstatus_to_exitcode(status)}\n")
        replies.flush()

def child(request):
    os.setpgid(0, 0)
    for fd, (path, mode) in enumerate(request["stdio"]):
        opened = os.open(path, mode)
        os.dup2(opened, fd)
        os.close(opened)
    os.environ.clear()
    os.environ.update(request["env"])
    os.chdir(request["cwd"])
    sys.path[0] = request["cwd"]  # what ``-m`` puts first
    sys.argv = ["-m", *request["args"]]
    runpy.run_module("credsync", run_name="__main__", alter_sys=True)
    sys.exit(0)

serve(
    os.fdopen(int(sys.argv[1]), "r", encoding="utf-8"),
    os.fdopen(int(sys.argv[2]), "w", encoding="utf-8"),
)
"""


class PreforkServer:
    """One server process; :meth:`run` is safe to call from one thread at a time."""

    def __init__(self, environment: Mapping[str, str]) -> None:
        to_server_r, to_server_w = os.pipe()
        from_server_r, from_server_w = os.pipe()
        self._proc = subprocess.Popen(
            [sys.executable, "-c", _SERVER_CODE, str(to_server_r), str(from_server_w)],
            env={k: v for k, v in environment.items() if not k.startswith("CREDSYNC_")},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=None,  # a crash of the server itself shows in the test's output
            pass_fds=(to_server_r, from_server_w),
        )
        os.close(to_server_r)
        os.close(from_server_w)
        self._requests = os.fdopen(to_server_w, "w", encoding="utf-8")
        self._replies = os.fdopen(from_server_r, "r", encoding="utf-8")
        self._lock = threading.Lock()
        self._send(list(PRELOAD))
        if self._replies.readline() != "ready\n":
            raise RuntimeError("the prefork server did not start")

    def _send(self, message: object) -> None:
        self._requests.write(json.dumps(message) + "\n")
        self._requests.flush()

    def run(
        self,
        args: tuple[str, ...],
        env: Mapping[str, str],
        stdin: Path,
        stdout: Path,
        stderr: Path,
        timeout: float,
    ) -> int:
        """Run ``credsync ARGS`` in a forked child; return its exit status (negative: killed by
        that signal). Raises :class:`subprocess.TimeoutExpired` (the child killed) on timeout."""
        write = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
        request = {
            "args": list(args),
            "env": dict(env),
            "cwd": os.getcwd(),
            "stdio": [[str(stdin), os.O_RDONLY], [str(stdout), write], [str(stderr), write]],
        }
        with self._lock:
            self._send(request)
            reply = self._replies.readline()
            if not reply.startswith("pid "):
                raise RuntimeError("the prefork server stopped")
            pid = int(reply.split()[1])
            killed = threading.Event()
            timer = threading.Timer(timeout, _kill, (pid, killed))
            timer.start()
            try:
                reply = self._replies.readline()
            finally:
                timer.cancel()
            if not reply.startswith("exit "):
                raise RuntimeError("the prefork server stopped")
        if killed.is_set():
            raise subprocess.TimeoutExpired(["credsync", *args[:2]], timeout)
        return int(reply.split()[1])

    def close(self) -> None:
        self._requests.close()
        try:
            self._proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        self._replies.close()


_servers: dict[tuple[tuple[str, str], ...], PreforkServer] = {}


def server(environment: Mapping[str, str]) -> PreforkServer:
    """The server for processes started with ``environment`` (only the variables the
    interpreter reads at start-up matter: ``PYTHON*``, ``LC_*``/``LANG``), made on first use
    and stopped when the test session ends."""
    startup = tuple(
        sorted((k, v) for k, v in environment.items() if k.startswith(("PYTHON", "LC_", "LANG")))
    )
    if startup not in _servers:
        if not _servers:
            atexit.register(_close_all)
        _servers[startup] = PreforkServer(environment)
    return _servers[startup]


def _kill(pid: int, killed: threading.Event) -> None:
    killed.set()
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)


def _close_all() -> None:
    for each in _servers.values():
        each.close()
    _servers.clear()
