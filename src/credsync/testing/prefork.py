"""``python -m credsync`` as a real process, without paying the interpreter's imports each time.

Most of a ``credsync`` command's second goes on imports (the vault package alone: SQLAlchemy,
argon2, cryptography, webauthn; ``serve`` adds FastAPI and the dashboard). A *prefork server* is
one Python process, started like the command (the same interpreter and the same environment
variables that Python reads at start-up), that imports what the commands import and then waits.
For each command it forks: the child is a process of its own (its own pid, memory and
environment) that takes the caller's pipes as standard input, output and error (passed over a
Unix socket, so they are pipes exactly as ``subprocess`` makes them, or /dev/null), optionally
a new session, the command's environment, working directory and arguments, and runs the
``credsync`` module as ``__main__`` as ``python -m credsync`` does (``runpy``, with
``sys.argv`` and ``sys.path[0]`` as ``-m`` sets them). It exits through the interpreter's own
shutdown (atexit handlers, logging's flush, buffered output); its status is the command's.
Nothing of credsync is replaced or patched: only the imports happen before the fork.

The server never uses its own standard streams, so the ``sys.std*`` objects a child inherits
are untouched ones, made at start-up with a fresh interpreter's encoding and error handlers.
Tests use it through :func:`spawn` (a :class:`Child` like ``subprocess.Popen``) and :func:`run`
(like ``subprocess.run`` with captured output).
"""

from __future__ import annotations

import array
import atexit
import contextlib
import json
import os
import select
import selectors
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

__all__ = ["COMMANDS", "SERVE", "Child", "Completed", "run", "spawn"]

#: what commands import before their work (``python -X importtime -m credsync ...``): the
#: vault, the PostgreSQL driver and SQLAlchemy's dialect for it
COMMANDS = (
    "credsync.cli.app",
    "credsync.cli.runtime",
    "credsync.vault",
    "credsync.storage",
    "psycopg",
    "sqlalchemy.dialects.postgresql.psycopg",
)
#: what ``credsync serve`` imports besides: the app and uvicorn
SERVE = (*COMMANDS, "credsync.server.run")
_STARTUP_VARS = ("PYTHON", "LC_", "LANG")  # what the interpreter reads once, at start-up

_SERVER_CODE = r"""
import array, gc, json, os, runpy, socket, sys, time

def serve(sock):
    for module in json.loads(sock.recv(1 << 16)):
        __import__(module)
    # what is here now stays out of the children's garbage collections: they don't write to
    # (and so copy) every page of it
    gc.freeze()
    sock.send(b"ready")
    while True:
        data, fds, _, _ = socket.recv_fds(sock, 1 << 20, 3)
        if not data:
            return
        request = json.loads(data)
        if request["op"] == "spawn":
            started, ready = os.pipe()
            pid = os.fork()
            if pid == 0:
                sock.close()
                os.close(started)
                child(request, fds, ready)  # never returns
            os.close(ready)
            for fd in fds:
                os.close(fd)
            # As subprocess.Popen returns once its child is set up: the child closes its end
            # of the pipe when it has its own session and its standard streams (or exits).
            os.read(started, 1)
            os.close(started)
            sock.send(json.dumps({"pid": pid}).encode())
        else:  # wait, up to a timeout (None: for ever; 0: a poll)
            deadline = None if request["timeout"] is None else time.monotonic() + request["timeout"]
            while True:
                done, status = os.waitpid(request["pid"], os.WNOHANG)
                if done:
                    code = os.waitstatus_to_exitcode(status)
                    break
                if deadline is not None and time.monotonic() >= deadline:
                    code = None
                    break
                time.sleep(0.002)
            sock.send(json.dumps({"code": code}).encode())

def child(request, fds, ready):
    if request["session"]:
        os.setsid()
    given = iter(fds)
    for target, passed in enumerate(request["stdio"]):
        fd = next(given) if passed else os.open(os.devnull, os.O_RDWR)
        if fd != target:
            os.dup2(fd, target)
            os.close(fd)
    os.close(ready)  # set up: the server may answer with this pid
    os.environ.clear()
    os.environ.update(request["env"])
    os.chdir(request["cwd"])
    sys.path[0] = request["cwd"]  # what ``-m`` puts first
    sys.argv = ["-m", *request["args"]]
    runpy.run_module("credsync", run_name="__main__", alter_sys=True)
    sys.exit(0)

serve(socket.socket(fileno=int(sys.argv[1])))
"""


class _Server:
    """One prefork server; requests from several threads take turns."""

    def __init__(self, environment: Mapping[str, str], preload: Sequence[str]) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self._proc = subprocess.Popen(  # noqa: S603 - this interpreter, our own code
            [sys.executable, "-c", _SERVER_CODE, str(theirs.fileno())],
            env=dict(environment),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            pass_fds=(theirs.fileno(),),
        )
        theirs.close()
        self._sock = ours
        self._lock = threading.Lock()
        self._sock.send(json.dumps(list(preload)).encode())
        if self._sock.recv(64) != b"ready":
            raise RuntimeError("the prefork server did not start")

    def ask(self, request: dict[str, object], fds: Sequence[int] = ()) -> dict[str, int | None]:
        data = json.dumps(request).encode()
        with self._lock:
            if fds:
                self._sock.sendmsg(
                    [data], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))]
                )
            else:
                self._sock.send(data)
            reply = self._sock.recv(1 << 16)
        if not reply:
            raise RuntimeError("the prefork server stopped")
        answer: dict[str, int | None] = json.loads(reply)
        return answer

    def close(self) -> None:
        self._sock.close()  # the server's end sees EOF and returns
        try:
            self._proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()


_servers: dict[tuple[tuple[str, ...], tuple[tuple[str, str], ...]], _Server] = {}
_servers_lock = threading.Lock()


def _server(environment: Mapping[str, str], preload: Sequence[str]) -> _Server:
    """The server with ``preload`` imported for processes started with ``environment`` (only
    what the interpreter reads at start-up tells them apart), made on first use and stopped
    when this process ends."""
    startup = tuple(sorted((k, v) for k, v in environment.items() if k.startswith(_STARTUP_VARS)))
    key = (tuple(preload), startup)
    with _servers_lock:
        if key not in _servers:
            if not _servers:
                atexit.register(_close_all)
            base = {k: v for k, v in environment.items() if not k.startswith("CREDSYNC_")}
            _servers[key] = _Server(base, preload)
        return _servers[key]


def _close_all() -> None:
    for each in _servers.values():
        each.close()
    _servers.clear()


class Child:
    """A forked ``credsync`` process, with the part of ``subprocess.Popen``'s interface that
    tests use (its parent is the prefork server, which reaps it and tells its status)."""

    def __init__(self, server: _Server, pid: int, captured: tuple[int, int] | None = None) -> None:
        self._server = server
        self.pid = pid
        self.returncode: int | None = None
        self._captured = captured  # our ends of its stdout and stderr pipes (``capture``)

    def communicate(self, timeout: float | None = None) -> tuple[bytes, bytes]:
        """Read its captured standard output and error to their end, then wait for it (as
        ``Popen.communicate`` does, without input); raises :class:`subprocess.TimeoutExpired`
        when that takes longer than ``timeout`` (the process is left running)."""
        if self._captured is None:
            raise ValueError("communicate() needs a child spawned with capture=True")
        out_r, err_r = self._captured
        self._captured = None
        deadline = time.monotonic() + (timeout if timeout is not None else 365 * 86400)
        out, err = _communicate(None, b"", out_r, err_r, deadline)
        self.wait(max(0.0, deadline - time.monotonic()))
        return out, err

    def __repr__(self) -> str:
        return f"Child(pid={self.pid}, returncode={self.returncode})"

    def poll(self) -> int | None:
        return self._wait(0)

    def wait(self, timeout: float | None = None) -> int:
        code = self._wait(timeout)
        if code is None:
            raise subprocess.TimeoutExpired(["credsync"], timeout or 0)
        return code

    def _wait(self, timeout: float | None) -> int | None:
        if self.returncode is None:
            self.returncode = self._server.ask({"op": "wait", "pid": self.pid, "timeout": timeout})[
                "code"
            ]
        return self.returncode

    def send_signal(self, sig: int) -> None:
        if self.returncode is None:  # once reaped, the pid may be another process's
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, sig)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


def spawn(
    args: Sequence[str],
    env: Mapping[str, str],
    *,
    stdin: int | None = None,
    stdout: int | None = None,
    stderr: int | None = None,
    new_session: bool = False,
    preload: Sequence[str] = COMMANDS,
    capture: bool = False,
) -> Child:
    """``python -m credsync ARGS`` with exactly the environment ``env``; each standard stream
    is the given file descriptor (it stays open here: close it after the call) or /dev/null.
    ``capture``: standard output and error are pipes, read by :meth:`Child.communicate`.
    ``preload``: what the server imported before the fork (:data:`SERVE` for ``serve``)."""
    if capture:
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        try:
            child = spawn(
                args, env, stdin=stdin, stdout=out_w, stderr=err_w,
                new_session=new_session, preload=preload,
            )  # fmt: skip
        except BaseException:
            os.close(out_r)
            os.close(err_r)
            raise
        finally:
            os.close(out_w)
            os.close(err_w)
        child._captured = (out_r, err_r)
        return child
    server = _server(env, preload)
    stdio = [stdin, stdout, stderr]
    fds = [fd for fd in stdio if fd is not None]
    request = {
        "op": "spawn",
        "args": list(args),
        "env": dict(env),
        "cwd": os.getcwd(),
        "stdio": [fd is not None for fd in stdio],
        "session": new_session,
    }
    pid = server.ask(request, fds)["pid"]
    if pid is None:
        raise RuntimeError("the prefork server did not fork")
    return Child(server, pid)


@dataclass(frozen=True, repr=False)
class Completed:
    returncode: int
    stdout: bytes
    stderr: bytes


def run(
    args: Sequence[str],
    env: Mapping[str, str],
    *,
    data: bytes | None,
    timeout: float,
    new_session: bool = False,
) -> Completed:
    """``python -m credsync ARGS`` as ``subprocess.run(..., capture_output=True)`` runs it:
    standard input a pipe holding ``data`` (None: /dev/null), output and error pipes read to
    their end. On timeout the process is killed and :class:`subprocess.TimeoutExpired` raised."""
    in_r, in_w = os.pipe() if data is not None else (None, None)
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    try:
        child = spawn(args, env, stdin=in_r, stdout=out_w, stderr=err_w, new_session=new_session)
    finally:
        for fd in (in_r, out_w, err_w):
            if fd is not None:
                os.close(fd)
    try:
        out, err = _communicate(in_w, data or b"", out_r, err_r, time.monotonic() + timeout)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()
        raise
    code = child.wait(max(1.0, timeout))
    return Completed(code, out, err)


def _communicate(
    in_w: int | None, data: bytes, out_r: int, err_r: int, deadline: float
) -> tuple[bytes, bytes]:
    """Write ``data`` to ``in_w`` and read ``out_r`` and ``err_r`` to their end, all at once
    (a child blocked on a full pipe never waits for us); every descriptor is closed after."""
    chunks: dict[int, list[bytes]] = {out_r: [], err_r: []}
    view = memoryview(data)
    with selectors.DefaultSelector() as sel:
        sel.register(out_r, selectors.EVENT_READ)
        sel.register(err_r, selectors.EVENT_READ)
        if in_w is not None:
            if view:
                sel.register(in_w, selectors.EVENT_WRITE)
            else:
                os.close(in_w)
                in_w = None
        try:
            while sel.get_map():
                left = deadline - time.monotonic()
                if left <= 0:
                    raise subprocess.TimeoutExpired(["credsync"], 0)
                for key, _ in sel.select(left):
                    fd = int(key.fd)
                    if fd == in_w:
                        try:
                            view = view[os.write(fd, view[: select.PIPE_BUF]) :]
                        except BrokenPipeError:
                            view = view[:0]
                        if not view:
                            sel.unregister(fd)
                            os.close(fd)
                            in_w = None
                    elif block := os.read(fd, 1 << 16):
                        chunks[fd].append(block)
                    else:
                        sel.unregister(fd)
        finally:
            for left_open in (in_w, out_r, err_r):
                if left_open is not None:
                    with contextlib.suppress(OSError):
                        os.close(left_open)
    return b"".join(chunks[out_r]), b"".join(chunks[err_r])
